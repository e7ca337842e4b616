/*
 * The C baseline for bench/signal.ts: the round-trip time of a real-time signal with a
 * value between two processes (fork): the parent sigqueue()s SIGRTMIN with the sequence
 * number to the child, the child sigqueue()s it back to the parent, N times after a
 * warm-up. Every reply's value is checked.
 *
 * Modes (how both processes receive):
 *   wait     the signal blocked, received with sigwaitinfo(): the usual C way.
 *   handler  an SA_SIGINFO handler that writes the siginfo_t to a pipe, read with a
 *            blocking read(): the mechanism sysipc's receivers use, in C.
 *
 * Usage: sigqueue wait|handler [messages=5000] [warmup=500] [child_cpu=-1]
 * (child_cpu >= 0 pins the child to that CPU; pin the parent with taskset.)
 * Prints one JSON line, as bench/pingpong.c does.
 *
 * Build: gcc -O2 -Wall -Wextra -o bench/out/sigqueue bench/sigqueue.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int record[2]; /* the handler's pipe: read end, write end */

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void on_signal(int sig, siginfo_t *info, void *context) {
  (void)sig;
  (void)context;
  int saved = errno;
  ssize_t n = write(record[1], info, sizeof *info);
  (void)n;
  errno = saved;
}

/* Receives the next SIGRTMIN; returns its value. */
static int receive(int handler, const sigset_t *set) {
  siginfo_t info;
  if (handler) {
    for (;;) {
      ssize_t n = read(record[0], &info, sizeof info);
      if (n == (ssize_t)sizeof info) break;
      if (n < 0 && errno == EINTR) continue;
      die("read");
    }
  } else {
    while (sigwaitinfo(set, &info) < 0) {
      if (errno != EINTR) die("sigwaitinfo");
    }
  }
  return info.si_value.sival_int;
}

static void send(pid_t pid, int value) {
  union sigval v = {.sival_int = value};
  while (sigqueue(pid, SIGRTMIN, v) != 0) {
    if (errno != EAGAIN) die("sigqueue");
  }
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int handler = strcmp(mode, "handler") == 0;
  if (!handler && strcmp(mode, "wait") != 0) {
    fprintf(stderr, "usage: %s wait|handler [messages] [warmup] [child_cpu]\n", argv[0]);
    return 2;
  }
  long messages = argc > 2 ? strtol(argv[2], NULL, 10) : 5000;
  long warmup = argc > 3 ? strtol(argv[3], NULL, 10) : 500;
  long child_cpu = argc > 4 ? strtol(argv[4], NULL, 10) : -1;
  if (messages <= 0 || warmup < 0) {
    fprintf(stderr, "messages must be > 0, warmup >= 0\n");
    return 2;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  if (handler) {
    if (pipe2(record, O_CLOEXEC) != 0) die("pipe2");
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    if (sigaction(SIGRTMIN, &action, NULL) != 0) die("sigaction");
  } else {
    /* Blocked before fork, so the child's mask has it from the start. */
    sigprocmask(SIG_BLOCK, &set, NULL);
  }

  long total = warmup + messages;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    if (child_cpu >= 0) {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET((int)child_cpu, &cpus);
      if (sched_setaffinity(0, sizeof cpus, &cpus) != 0) die("sched_setaffinity");
    }
    if (handler) { /* a pipe of its own, or the parent would read the child's records */
      close(record[0]);
      close(record[1]);
      if (pipe2(record, O_CLOEXEC) != 0) die("pipe2");
    }
    send(parent, -1); /* ready */
    for (long i = 0; i < total; i++) send(parent, receive(handler, &set));
    _exit(0);
  }
  if (receive(handler, &set) != -1) {
    fprintf(stderr, "sigqueue: no ready signal from the child\n");
    return 1;
  }

  double t0 = 0;
  for (long i = 0; i < total; i++) {
    if (i == warmup) t0 = now_us();
    send(pid, (int)i);
    int echoed = receive(handler, &set);
    if (echoed != (int)i) {
      fprintf(stderr, "sigqueue: reply %d to signal %ld\n", echoed, i);
      return 1;
    }
  }
  double elapsed = now_us() - t0;

  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "sigqueue: the child failed\n");
    return 1;
  }
  printf("{\"bench\":\"signal\",\"case\":\"c-%s\",\"runtime\":\"c\",\"mode\":\"%s\","
         "\"messages\":%ld,\"warmup\":%ld,\"spin_us\":0,\"mean_us\":%.3f}\n",
         mode, mode, messages, warmup, elapsed / (double)messages);
  return 0;
}

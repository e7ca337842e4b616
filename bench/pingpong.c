/*
 * The C baseline for bench/pipe_pingpong.ts: the round-trip time of a 64-byte message
 * between two processes (fork) through two pipes, measured over N round trips after a
 * warm-up.
 *
 * Modes (the policy both processes use to read):
 *   block  plain blocking read(2)/write(2).
 *   spin   first retry preadv2(..., RWF_NOWAIT) for up to S microseconds, then fall back
 *          to a blocking read(2): the same policy as sysipc's async reads (setWaitSpin,
 *          default 50 µs), for a like-for-like comparison.
 *   unix   blocking read/write on a Unix-domain stream socketpair instead of two pipes:
 *          the baseline of the runtimes' built-in Unix sockets (bench/builtin_unix.ts).
 *
 * Each message carries its sequence number, and the parent checks every reply.
 *
 * Usage: pingpong block|spin|unix [messages=10000] [warmup=1000] [spin_us=50] [child_cpu=-1]
 * (child_cpu >= 0 pins the child to that CPU; pin the parent with taskset.)
 * Prints one JSON line:
 *   {"bench":"pipe","case":"c-block","runtime":"c","mode":"block","messages":10000,
 *    "warmup":1000,"spin_us":0,"mean_us":31.42}
 *
 * Build: gcc -O2 -Wall -Wextra -o bench/out/pingpong bench/pingpong.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Reads up to len bytes: RWF_NOWAIT attempts for up to spin_us, then a blocking read. */
static ssize_t read_spin(int fd, void *buf, size_t len, double spin_us) {
  struct iovec iov = {buf, len};
  double until = 0;
  for (;;) {
    ssize_t n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) die("preadv2(RWF_NOWAIT)");
    double t = now_us();
    if (until == 0) until = t + spin_us;
    if (t >= until) break;
  }
  for (;;) {
    ssize_t n = read(fd, buf, len);
    if (n >= 0 || errno != EINTR) return n;
  }
}

/* Reads exactly MSG bytes; returns 0 at end of stream. */
static int read_msg(int fd, unsigned char *buf, int spin, double spin_us) {
  size_t got = 0;
  while (got < MSG) {
    ssize_t n = spin ? read_spin(fd, buf + got, MSG - got, spin_us)
                     : read(fd, buf + got, MSG - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("read");
    if (n == 0) return 0;
    got += (size_t)n;
  }
  return 1;
}

static void write_msg(int fd, const unsigned char *buf) {
  size_t done = 0;
  while (done < MSG) {
    ssize_t n = write(fd, buf + done, MSG - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("write");
    done += (size_t)n;
  }
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int spin = strcmp(mode, "spin") == 0;
  int unix_socket = strcmp(mode, "unix") == 0;
  if (!spin && !unix_socket && strcmp(mode, "block") != 0) {
    fprintf(stderr, "usage: %s block|spin|unix [messages] [warmup] [spin_us] [child_cpu]\n",
            argv[0]);
    return 2;
  }
  long messages = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
  long warmup = argc > 3 ? strtol(argv[3], NULL, 10) : 1000;
  double spin_us = spin ? (argc > 4 ? strtod(argv[4], NULL) : 50) : 0;
  long child_cpu = argc > 5 ? strtol(argv[5], NULL, 10) : -1;
  if (messages <= 0 || warmup < 0 || spin_us < 0) {
    fprintf(stderr, "messages must be > 0, warmup and spin_us >= 0\n");
    return 2;
  }

  /* parent writes to out[1] and reads in[0]; the child reads out[0] and writes in[1]. */
  int out[2], in[2];
  if (unix_socket) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair");
    out[1] = in[0] = sv[0];
    out[0] = in[1] = sv[1];
  } else if (pipe(out) != 0 || pipe(in) != 0) {
    die("pipe");
  }
  unsigned char buf[MSG];
  memset(buf, 0, sizeof buf);

  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    if (child_cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET((int)child_cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
    }
    close(out[1]);
    if (!unix_socket) close(in[0]);
    while (read_msg(out[0], buf, spin, spin_us)) write_msg(in[1], buf);
    _exit(0);
  }
  close(out[0]);
  if (!unix_socket) close(in[1]);

  double t0 = 0;
  long total = warmup + messages;
  for (long i = 0; i < total; i++) {
    if (i == warmup) t0 = now_us();
    uint32_t seq = (uint32_t)i;
    memcpy(buf, &seq, sizeof seq);
    write_msg(out[1], buf);
    if (!read_msg(in[0], buf, spin, spin_us)) {
      fprintf(stderr, "pingpong: the child closed its end early\n");
      return 1;
    }
    uint32_t echoed;
    memcpy(&echoed, buf, sizeof echoed);
    if (echoed != seq) {
      fprintf(stderr, "pingpong: reply %u to message %u\n", echoed, seq);
      return 1;
    }
  }
  double elapsed = now_us() - t0;

  close(out[1]);
  if (!unix_socket) close(in[0]);
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "pingpong: the child failed\n");
    return 1;
  }
  printf("{\"bench\":\"%s\",\"case\":\"c-%s\",\"runtime\":\"c\",\"mode\":\"%s\","
         "\"messages\":%ld,\"warmup\":%ld,\"spin_us\":%g,\"mean_us\":%.3f}\n",
         unix_socket ? "unix" : "pipe", mode, mode, messages, warmup, spin_us, elapsed / (double)messages);
  return 0;
}

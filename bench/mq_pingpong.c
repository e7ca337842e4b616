/*
 * The C baseline for bench/mq.ts: the round-trip time of a message between two processes
 * (fork) through a message queue, measured over N round trips after a warm-up, with
 * blocking calls on both sides.
 *
 * Kinds:
 *   posix  two POSIX queues (mq_open), one each way: mq_send, then mq_receive the reply.
 *   sysv   one System V queue (IPC_PRIVATE), as in the classic demo: type 10 one way,
 *          type 11 back (msgsnd, msgrcv by type).
 *
 * Each message carries its sequence number in its first 4 bytes and the parent checks
 * every reply; an empty message ends the child.
 *
 * Usage: mq_pingpong posix|sysv <size> [messages=2000] [warmup=200] [child_cpu=-1]
 * (child_cpu >= 0 pins the child to that CPU; pin the parent with taskset.)
 * Prints one JSON line:
 *   {"bench":"mq","case":"c-posix-64","runtime":"c","mode":"block","messages":2000,
 *    "warmup":200,"spin_us":0,"mean_us":41.2}
 *
 * Build: gcc -O2 -Wall -Wextra -o bench/out/mq_pingpong bench/mq_pingpong.c (add -lrt before
 * glibc 2.34)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

struct msg {
  long type;
  unsigned char text[1 << 16];
};

static int sysv;
static mqd_t ping, pong;
static int queue;

/* Sends `len` bytes of `m` one way (ping: parent to child). */
static void send_msg(int to_child, struct msg *m, size_t len) {
  for (;;) {
    int r;
    if (sysv) {
      m->type = to_child ? 10 : 11;
      r = msgsnd(queue, m, len, 0);
    } else {
      r = mq_send(to_child ? ping : pong, (const char *)m->text, len, 0);
    }
    if (r == 0) return;
    if (errno != EINTR) die(sysv ? "msgsnd" : "mq_send");
  }
}

/* Receives one message sent the given way; returns its length. */
static size_t receive_msg(int to_child, struct msg *m, size_t size) {
  for (;;) {
    ssize_t n = sysv ? msgrcv(queue, m, size, to_child ? 10 : 11, 0)
                     : mq_receive(to_child ? ping : pong, (char *)m->text, size, NULL);
    if (n >= 0) return (size_t)n;
    if (errno != EINTR) die(sysv ? "msgrcv" : "mq_receive");
  }
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[1], "posix") != 0 && strcmp(argv[1], "sysv") != 0)) {
    fprintf(stderr, "usage: %s posix|sysv <size> [messages] [warmup] [child_cpu]\n", argv[0]);
    return 2;
  }
  sysv = strcmp(argv[1], "sysv") == 0;
  long size = strtol(argv[2], NULL, 10);
  long messages = argc > 3 ? strtol(argv[3], NULL, 10) : 2000;
  long warmup = argc > 4 ? strtol(argv[4], NULL, 10) : 200;
  long child_cpu = argc > 5 ? strtol(argv[5], NULL, 10) : -1;
  if (size < 4 || size > 8192 || messages <= 0 || warmup < 0) {
    fprintf(stderr, "size must be 4 to 8192, messages > 0, warmup >= 0\n");
    return 2;
  }

  char ping_name[64], pong_name[64];
  if (sysv) {
    queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (queue < 0) die("msgget");
  } else {
    struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = size};
    snprintf(ping_name, sizeof ping_name, "/sysipc-bench-%d-ping", (int)getpid());
    snprintf(pong_name, sizeof pong_name, "/sysipc-bench-%d-pong", (int)getpid());
    ping = mq_open(ping_name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    pong = mq_open(pong_name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (ping == (mqd_t)-1 || pong == (mqd_t)-1) die("mq_open");
    mq_unlink(ping_name); /* both processes hold them open: nothing is left behind */
    mq_unlink(pong_name);
  }
  static struct msg m;
  memset(&m, 0, sizeof m);

  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    if (child_cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET((int)child_cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
    }
    size_t n;
    while ((n = receive_msg(1, &m, (size_t)size)) > 0) send_msg(0, &m, n);
    _exit(0);
  }

  double t0 = 0;
  long total = warmup + messages;
  for (long i = 0; i < total; i++) {
    if (i == warmup) t0 = now_us();
    uint32_t seq = (uint32_t)i;
    memcpy(m.text, &seq, sizeof seq);
    send_msg(1, &m, (size_t)size);
    size_t n = receive_msg(0, &m, (size_t)size);
    uint32_t echoed;
    memcpy(&echoed, m.text, sizeof echoed);
    if (n != (size_t)size || echoed != seq) {
      fprintf(stderr, "mq_pingpong: reply %u (%zu bytes) to message %u\n", echoed, n, seq);
      return 1;
    }
  }
  double elapsed = now_us() - t0;
  send_msg(1, &m, 0);
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "mq_pingpong: the child failed\n");
    return 1;
  }
  if (sysv) msgctl(queue, IPC_RMID, NULL);
  printf("{\"bench\":\"mq\",\"case\":\"c-%s-%ld\",\"runtime\":\"c\",\"mode\":\"block\","
         "\"messages\":%ld,\"warmup\":%ld,\"spin_us\":0,\"mean_us\":%.3f}\n",
         argv[1], size, messages, warmup, elapsed / (double)messages);
  return 0;
}

/*
 * The C baseline for bench/uds.ts: the round-trip time of a message between two processes
 * (fork) over a Unix socket pair of the given type, with blocking send(2)/recv(2), measured
 * over N round trips after a warm-up. On a stream socket each side reads until it has the
 * whole message; on seqpacket and datagram sockets one recv(2) takes one message. The
 * child echoes exactly warmup + N messages (a datagram socket never reads end of stream).
 * Each message carries its sequence number, and the parent checks every reply.
 *
 * Usage: uds_pingpong stream|seqpacket|dgram SIZE [messages=10000] [warmup=1000] [child_cpu=-1]
 * (child_cpu >= 0 pins the child to that CPU; pin the parent with taskset.)
 * Prints one JSON line:
 *   {"bench":"uds","case":"c-stream-64","runtime":"c","mode":"stream","messages":10000,
 *    "warmup":1000,"spin_us":0,"mean_us":31.42}
 *
 * Build: gcc -O2 -Wall -Wextra -o bench/out/uds_pingpong bench/uds_pingpong.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* Receives one message of `size` bytes: the whole of it on a stream, one recv otherwise. */
static void recv_msg(int fd, unsigned char *buf, size_t size, int stream) {
  size_t got = 0;
  do {
    ssize_t n = recv(fd, buf + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("recv");
    if (n == 0 && stream) {
      fprintf(stderr, "uds_pingpong: end of stream\n");
      exit(1);
    }
    got += (size_t)n;
  } while (stream && got < size);
  if (got != size) {
    fprintf(stderr, "uds_pingpong: a message of %zu bytes, expected %zu\n", got, size);
    exit(1);
  }
}

static void send_msg(int fd, const unsigned char *buf, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = send(fd, buf + done, size - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("send");
    done += (size_t)n;
  }
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int type = strcmp(mode, "stream") == 0      ? SOCK_STREAM
             : strcmp(mode, "seqpacket") == 0 ? SOCK_SEQPACKET
             : strcmp(mode, "dgram") == 0     ? SOCK_DGRAM
                                              : -1;
  long size = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
  if (type < 0 || size < 4 || size > 65536) {
    fprintf(stderr,
            "usage: %s stream|seqpacket|dgram SIZE(4..65536) [messages] [warmup] [child_cpu]\n",
            argv[0]);
    return 2;
  }
  long messages = argc > 3 ? strtol(argv[3], NULL, 10) : 10000;
  long warmup = argc > 4 ? strtol(argv[4], NULL, 10) : 1000;
  long child_cpu = argc > 5 ? strtol(argv[5], NULL, 10) : -1;
  if (messages <= 0 || warmup < 0) {
    fprintf(stderr, "messages must be > 0, warmup >= 0\n");
    return 2;
  }
  int stream = type == SOCK_STREAM;
  long total = warmup + messages;
  int sv[2];
  if (socketpair(AF_UNIX, type, 0, sv) != 0) die("socketpair");
  unsigned char *buf = calloc(1, (size_t)size);
  if (buf == NULL) die("calloc");

  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    if (child_cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET((int)child_cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
    }
    close(sv[0]);
    for (long i = 0; i < total; i++) {
      recv_msg(sv[1], buf, (size_t)size, stream);
      send_msg(sv[1], buf, (size_t)size);
    }
    _exit(0);
  }
  close(sv[1]);

  double t0 = 0;
  for (long i = 0; i < total; i++) {
    if (i == warmup) t0 = now_us();
    uint32_t seq = (uint32_t)i;
    memcpy(buf, &seq, sizeof seq);
    send_msg(sv[0], buf, (size_t)size);
    recv_msg(sv[0], buf, (size_t)size, stream);
    uint32_t echoed;
    memcpy(&echoed, buf, sizeof echoed);
    if (echoed != seq) {
      fprintf(stderr, "uds_pingpong: reply %u to message %u\n", echoed, seq);
      return 1;
    }
  }
  double elapsed = now_us() - t0;

  close(sv[0]);
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "uds_pingpong: the child failed\n");
    return 1;
  }
  printf("{\"bench\":\"uds\",\"case\":\"c-%s-%ld\",\"runtime\":\"c\",\"mode\":\"%s\","
         "\"messages\":%ld,\"warmup\":%ld,\"spin_us\":0,\"mean_us\":%.3f}\n",
         mode, size, mode, messages, warmup, elapsed / (double)messages);
  free(buf);
  return 0;
}

/*
 * The C baseline for bench/sem.ts: the round-trip time of a post/wait ping-pong between
 * two processes (fork), over N round trips after a warm-up. The parent posts "ping" and
 * waits for "pong"; the child waits for "ping" and posts "pong". Blocking waits.
 *
 * Kinds:
 *   posix    two named semaphores (sem_open, unlinked at once; the child inherits them):
 *            sem_post / sem_wait
 *   sysv     one System V set of two semaphores: semop(+1) / semop(-1)
 *   eventfd  two eventfds: write(1) / read
 *
 * Usage: sem_pingpong posix|sysv|eventfd [messages=10000] [warmup=1000] [child_cpu=-1]
 * (child_cpu >= 0 pins the child to that CPU; pin the parent with taskset.)
 * Prints one JSON line like bench/pingpong.c.
 *
 * Build: gcc -O2 -Wall -Wextra -o bench/out/sem_pingpong bench/sem_pingpong.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/sem.h>
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

enum kind { POSIX, SYSV, EVENTFD };
static enum kind kind;
static sem_t *sems[2];
static int semid;
static int efds[2];

static void post(int which) {
  if (kind == POSIX) {
    if (sem_post(sems[which]) != 0) die("sem_post");
  } else if (kind == SYSV) {
    struct sembuf op = {(unsigned short)which, 1, 0};
    if (semop(semid, &op, 1) != 0) die("semop");
  } else {
    uint64_t one = 1;
    if (write(efds[which], &one, 8) != 8) die("write");
  }
}

static void wait_for(int which) {
  for (;;) {
    int r;
    if (kind == POSIX) {
      r = sem_wait(sems[which]);
    } else if (kind == SYSV) {
      struct sembuf op = {(unsigned short)which, -1, 0};
      r = semop(semid, &op, 1);
    } else {
      uint64_t value;
      r = read(efds[which], &value, 8) == 8 ? 0 : -1;
    }
    if (r == 0) return;
    if (errno != EINTR) die("wait");
  }
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "";
  if (strcmp(name, "posix") == 0) kind = POSIX;
  else if (strcmp(name, "sysv") == 0) kind = SYSV;
  else if (strcmp(name, "eventfd") == 0) kind = EVENTFD;
  else {
    fprintf(stderr, "usage: %s posix|sysv|eventfd [messages] [warmup] [child_cpu]\n", argv[0]);
    return 2;
  }
  long messages = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
  long warmup = argc > 3 ? strtol(argv[3], NULL, 10) : 1000;
  long child_cpu = argc > 4 ? strtol(argv[4], NULL, 10) : -1;
  if (messages <= 0 || warmup < 0) {
    fprintf(stderr, "messages must be > 0, warmup >= 0\n");
    return 2;
  }

  if (kind == POSIX) {
    for (int i = 0; i < 2; i++) {
      char sem_name[64];
      snprintf(sem_name, sizeof sem_name, "/sem-pingpong-%d-%d", (int)getpid(), i);
      sems[i] = sem_open(sem_name, O_CREAT | O_EXCL, 0600, 0);
      if (sems[i] == SEM_FAILED) die("sem_open");
      sem_unlink(sem_name);
    }
  } else if (kind == SYSV) {
    semid = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    if (semid < 0) die("semget");
  } else {
    for (int i = 0; i < 2; i++) {
      efds[i] = eventfd(0, EFD_CLOEXEC);
      if (efds[i] < 0) die("eventfd");
    }
  }

  long total = warmup + messages;
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    if (child_cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET((int)child_cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
    }
    for (long i = 0; i < total; i++) {
      wait_for(0);
      post(1);
    }
    _exit(0);
  }

  double t0 = 0;
  for (long i = 0; i < total; i++) {
    if (i == warmup) t0 = now_us();
    post(0);
    wait_for(1);
  }
  double elapsed = now_us() - t0;

  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "sem_pingpong: the child failed\n");
    return 1;
  }
  if (kind == SYSV) semctl(semid, 0, IPC_RMID);
  printf("{\"bench\":\"sem\",\"case\":\"c-%s\",\"runtime\":\"c\",\"mode\":\"sync\","
         "\"messages\":%ld,\"warmup\":%ld,\"spin_us\":0,\"mean_us\":%.3f}\n",
         name, messages, warmup, elapsed / (double)messages);
  return 0;
}

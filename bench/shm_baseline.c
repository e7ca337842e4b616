/*
 * The C baselines for bench/shm.ts, each between two processes (fork) sharing an anonymous
 * MAP_SHARED page, 64-byte messages:
 *
 *   spin    ping-pong round trip: each side copies the message into shared memory and
 *           publishes it by storing a sequence number; the other side spins on that number,
 *           calling sched_yield() every 32 checks (the policy of ShmChannel's sync spin, so
 *           that both processes make progress when they share one CPU).
 *   futex   ping-pong round trip: the same, but a side that finds nothing parks at once
 *           with FUTEX_WAIT (shared) and the other always FUTEX_WAKEs: one kernel wake-up
 *           per message.
 *   memcpy  one process copies a 64 KiB message into a ring of 16 blocks of 64 KiB, one
 *           block after the other, as a sender copies messages into a channel's 16 slots:
 *           the bandwidth of that copy, in MB/s.
 *   stream  two processes: one copies 64 KiB messages into a ring of 16 slots in shared
 *           memory and publishes each by storing its sequence number; the other spins for
 *           it (sched_yield every 32 checks), reads one byte of every 64-byte cache line of
 *           it, and frees the slot: what ShmChannel's stream case does, in C, in MB/s.
 *
 * Each message carries its sequence number and every reply is checked. Besides the mean,
 * each run reports the median of its batches' means (batches of 1000 round trips, or 100
 * streamed messages): preemption by unrelated work on a shared machine hits a few batches
 * and leaves that median alone.
 *
 * Usage: shm_baseline spin|futex|memcpy|stream [messages=100000] [warmup=10000]
 *   [child_cpu=-1]
 * Prints one JSON line:
 *   {"bench":"shm","case":"c-spin","runtime":"c","mode":"spin","messages":N,"warmup":W,
 *    "spin_us":0,"mean_us":0.52,"batch_median_us":0.48}   (memcpy and stream add "mb_per_s")
 *
 * Build: gcc -O2 -Wall -Wextra -o bench/out/shm_baseline bench/shm_baseline.c
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define BLOCK 65536
#define BLOCKS 16
#define STREAM_BATCH 100 /* 64 KiB messages per timed batch */

struct shared {
  _Alignas(64) int ping_seq;
  _Alignas(64) int pong_seq;
  _Alignas(64) unsigned char ping[MSG];
  _Alignas(64) unsigned char pong[MSG];
};

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int futex_mode;

/* Per-batch timing: the median of the batches' means ignores the preemptions that other
 * work on a shared machine inflicts on a few batches. */
#define BATCH 1000
static double *batch_us;
static long batches;

static void batch_start(long n) {
  batch_us = malloc(sizeof(double) * (size_t)(n / BATCH + 1));
  if (!batch_us) {
    perror("malloc");
    exit(1);
  }
  batches = 0;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double batch_median(void) {
  if (batches == 0) return 0;
  qsort(batch_us, (size_t)batches, sizeof(double), by_value);
  return batches % 2 ? batch_us[batches / 2]
                     : (batch_us[batches / 2 - 1] + batch_us[batches / 2]) / 2;
}

/* Waits until *word is not `seen`; returns the new value. */
static int wait_change(int *word, int seen) {
  for (unsigned k = 1;; k++) {
    int v = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if (v != seen) return v;
    if (futex_mode) {
      syscall(SYS_futex, word, FUTEX_WAIT, seen, NULL, NULL, 0);
    } else if ((k & 31) == 0) {
      sched_yield();
    }
  }
}

static void publish(int *word, int value) {
  __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
  if (futex_mode) syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void pin(long cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET((int)cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
}

struct ring {
  _Alignas(64) int sent;     /* messages published */
  _Alignas(64) int received; /* messages freed */
  _Alignas(64) unsigned char slot[BLOCKS][BLOCK];
};

static int stream_bench(long messages, long warmup, long child_cpu) {
  struct ring *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                        -1, 0);
  if (r == MAP_FAILED) die("mmap");
  long total = warmup + messages;
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) { /* the sender */
    pin(child_cpu);
    unsigned char *message = malloc(BLOCK);
    if (!message) die("malloc");
    memset(message, 0x5a, BLOCK);
    for (long i = 0; i < total; i++) {
      while (i - __atomic_load_n(&r->received, __ATOMIC_SEQ_CST) >= BLOCKS) {
        wait_change(&r->received, __atomic_load_n(&r->received, __ATOMIC_SEQ_CST));
      }
      memcpy(message, &i, sizeof i);
      memcpy(r->slot[i % BLOCKS], message, BLOCK);
      publish(&r->sent, (int)(i + 1));
    }
    _exit(0);
  }
  double t0 = 0, tb = 0;
  unsigned sum = 0;
  batch_start(messages * (BATCH / STREAM_BATCH));
  for (long i = 0; i < total; i++) {
    if (i == warmup) t0 = tb = now_us();
    if (i > warmup && (i - warmup) % STREAM_BATCH == 0) {
      double t = now_us();
      batch_us[batches++] = (t - tb) / STREAM_BATCH;
      tb = t;
    }
    while (__atomic_load_n(&r->sent, __ATOMIC_SEQ_CST) <= i) wait_change(&r->sent, (int)i);
    const unsigned char *m = r->slot[i % BLOCKS];
    long first;
    memcpy(&first, m, sizeof first);
    if (first != i) {
      fprintf(stderr, "shm_baseline: message %ld is not what was sent\n", i);
      return 1;
    }
    for (int j = 0; j < BLOCK; j += 64) sum += m[j];
    publish(&r->received, (int)(i + 1));
  }
  double elapsed = now_us() - t0;
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "shm_baseline: the sender failed\n");
    return 1;
  }
  printf("{\"bench\":\"shm\",\"case\":\"c-stream\",\"runtime\":\"c\",\"mode\":\"stream\","
         "\"messages\":%ld,\"warmup\":%ld,\"spin_us\":0,\"mean_us\":%.3f,\"mb_per_s\":%.1f,"
         "\"batch_median_us\":%.3f,\"checksum\":%u}\n",
         messages, warmup, elapsed / (double)messages, (double)messages * BLOCK / elapsed,
         batch_median(), sum);
  return 0;
}

static int memcpy_bench(long blocks, long warmup) {
  unsigned char *src = malloc(BLOCK), *dst = malloc((size_t)BLOCK * BLOCKS);
  if (!src || !dst) die("malloc");
  memset(src, 1, BLOCK);
  memset(dst, 2, (size_t)BLOCK * BLOCKS);
  double t0 = 0, tb = 0;
  batch_start(blocks * (BATCH / STREAM_BATCH));
  for (long i = 0; i < warmup + blocks; i++) {
    if (i == warmup) t0 = tb = now_us();
    if (i > warmup && (i - warmup) % STREAM_BATCH == 0) {
      double t = now_us();
      batch_us[batches++] = (t - tb) / STREAM_BATCH;
      tb = t;
    }
    src[0] = (unsigned char)i;
    memcpy(dst + (size_t)(i % BLOCKS) * BLOCK, src, BLOCK);
    __asm__ volatile("" ::: "memory");
  }
  double elapsed = now_us() - t0;
  printf("{\"bench\":\"shm\",\"case\":\"c-memcpy\",\"runtime\":\"c\",\"mode\":\"memcpy\","
         "\"messages\":%ld,\"warmup\":%ld,\"spin_us\":0,\"mean_us\":%.3f,\"mb_per_s\":%.1f,"
         "\"batch_median_us\":%.3f}\n",
         blocks, warmup, elapsed / (double)blocks, (double)blocks * BLOCK / elapsed,
         batch_median());
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  long messages = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
  long warmup = argc > 3 ? strtol(argv[3], NULL, 10) : 10000;
  long child_cpu = argc > 4 ? strtol(argv[4], NULL, 10) : -1;
  if (messages <= 0 || warmup < 0) {
    fprintf(stderr, "messages must be > 0 and warmup >= 0\n");
    return 2;
  }
  if (strcmp(mode, "memcpy") == 0) return memcpy_bench(messages, warmup);
  if (strcmp(mode, "stream") == 0) return stream_bench(messages, warmup, child_cpu);
  futex_mode = strcmp(mode, "futex") == 0;
  if (!futex_mode && strcmp(mode, "spin") != 0) {
    fprintf(stderr, "usage: %s spin|futex|memcpy|stream [messages] [warmup] [child_cpu]\n",
            argv[0]);
    return 2;
  }
  struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
  if (s == MAP_FAILED) die("mmap");
  memset(s, 0, sizeof *s);
  long total = warmup + messages;
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    pin(child_cpu);
    for (long i = 0; i < total; i++) {
      wait_change(&s->ping_seq, (int)i);
      memcpy(s->pong, s->ping, MSG);
      publish(&s->pong_seq, (int)(i + 1));
    }
    _exit(0);
  }
  unsigned char buf[MSG];
  memset(buf, 0, sizeof buf);
  double t0 = 0, tb = 0;
  batch_start(messages);
  for (long i = 0; i < total; i++) {
    if (i == warmup) t0 = tb = now_us();
    if (i > warmup && (i - warmup) % BATCH == 0) {
      double t = now_us();
      batch_us[batches++] = (t - tb) / BATCH;
      tb = t;
    }
    uint32_t seq = (uint32_t)i;
    memcpy(buf, &seq, sizeof seq);
    memcpy(s->ping, buf, MSG);
    publish(&s->ping_seq, (int)(i + 1));
    wait_change(&s->pong_seq, (int)i);
    memcpy(buf, s->pong, MSG);
    uint32_t echoed;
    memcpy(&echoed, buf, sizeof echoed);
    if (echoed != seq) {
      fprintf(stderr, "shm_baseline: reply %u to message %u\n", echoed, seq);
      return 1;
    }
  }
  double elapsed = now_us() - t0;
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "shm_baseline: the child failed\n");
    return 1;
  }
  printf("{\"bench\":\"shm\",\"case\":\"c-%s\",\"runtime\":\"c\",\"mode\":\"%s\","
         "\"messages\":%ld,\"warmup\":%ld,\"spin_us\":0,\"mean_us\":%.3f,"
         "\"batch_median_us\":%.3f}\n",
         mode, mode, messages, warmup, elapsed / (double)messages, batch_median());
  return 0;
}

/*
 * The C baselines of the benchmark suite (bench/run.ts compiles this file with gcc at run
 * time, into bench/out, and never keeps a binary in the repository). It runs the same
 * groups of cases as bench/side.ts, with the same message format and the same output, so
 * that each sysipc case is compared with C doing the same exchange:
 *
 *   baseline <group> <peer_cpu> <cases>
 *
 * <cases> is `mech:mode:kind:size:messages:warmup:batch,...` (see bench/groups/_common.ts).
 * The program makes the group's objects, forks the child side (pinned to <peer_cpu> with
 * sched_setaffinity when >= 0; pin this process with taskset), prints {"pids":[...]}, then
 * one JSON line per case: {"case":"mech:mode:kind:size","messages":N,"bytes":B,
 * "mean_ns":M,"p50_ns":P,"p99_ns":Q}. Every message carries its sequence number in its
 * first 4 bytes and its low 8 bits in its last byte; the receiver checks both and its
 * length, and `bytes` counts what it checked.
 *
 * Groups and modes (all calls blocking unless said otherwise):
 *   pipe     pipe: block (read/write), spin (preadv2 RWF_NOWAIT retried for 50 us, then a
 *            blocking read: the policy of sysipc's async reads, for information)
 *   fifo     fifo (two FIFOs opened by path): block
 *   uds      uds-stream, uds-seqpacket, uds-dgram (one socketpair each): block
 *   shm      shm: spin (copy in, publish a number, spin on the other's number with
 *            sched_yield every 32 checks: ShmChannel's sync policy), futex (the same, but
 *            park at once with FUTEX_WAIT and always FUTEX_WAKE: one kernel wake-up per
 *            message), memcpy (stream, one process: copy each message into a ring of 16
 *            slots; the bandwidth of that copy), spin stream (two processes, a ring of 16
 *            slots, the receiver reads one byte per 64-byte cache line and frees the slot);
 *            shm-sysv: spin, over a System V segment
 *   mq       mq-posix (two queues), mq-sysv (one queue, types 10 and 11): block
 *   sem      sem-posix (sem_post/sem_wait), sem-sysv (semop), eventfd (write/read): block
 *   signal   signal: wait (SIGRTMIN blocked, sigwaitinfo), handler (an SA_SIGINFO handler
 *            writing the siginfo to a pipe, read blocking: sysipc's mechanism); the wait
 *            cases must come before the handler cases
 *   port     uds-seqpacket (as uds) at the size of the port group's small object encoded:
 *            what its round trip costs the kernel, without any of the runtime's work
 *
 * Build: gcc -O2 -Wall -Wextra -o bench/out/baseline bench/baseline.c (add -lrt before
 * glibc 2.34)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CASES 256
#define MQ_MAX 8192
#define SPIN_US 50
#define SLOTS 16

typedef struct {
  char mech[32], mode[32];
  int stream;
  long size, messages, warmup, batch;
} bench_case;

static bench_case cases[MAX_CASES];
static int ncases;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void fail(const char *what) {
  fprintf(stderr, "baseline: %s\n", what);
  exit(1);
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *must(void *p) {
  if (!p) die("malloc");
  return p;
}

/* ---- timing: one clock reading per `batch` measured messages ---------------------- */

static double *times;
static long ntimes;
static double t_start, t_last;
static const bench_case *timed;

static void timer_start(const bench_case *c) {
  timed = c;
  free(times);
  times = must(malloc(sizeof(double) * (size_t)(c->messages / c->batch + 1)));
  ntimes = 0;
}

static void tick(long i) {
  long m = i - timed->warmup;
  if (m < 0 || m % timed->batch != 0) return;
  double now = now_ns();
  if (m == 0) t_start = now;
  else times[ntimes++] = (now - t_last) / (double)timed->batch;
  t_last = now;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void report(const bench_case *c, long bytes) {
  qsort(times, (size_t)ntimes, sizeof(double), by_value);
  double p50 = 0, p99 = 0;
  if (ntimes > 0) {
    long i50 = (long)(0.5 * (double)ntimes), i99 = (long)(0.99 * (double)ntimes);
    p50 = times[i50 < ntimes ? i50 : ntimes - 1];
    p99 = times[i99 < ntimes ? i99 : ntimes - 1];
  }
  printf("{\"case\":\"%s:%s:%s:%ld\",\"messages\":%ld,\"bytes\":%ld,\"mean_ns\":%.0f,"
         "\"p50_ns\":%.0f,\"p99_ns\":%.0f}\n",
         c->mech, c->mode, c->stream ? "stream" : "rtt", c->size, c->messages, bytes,
         (t_last - t_start) / (double)c->messages, p50, p99);
  fflush(stdout);
}

/* ---- the message format ------------------------------------------------------------- */

static void mark(unsigned char *buf, long size, long seq) {
  uint32_t s = (uint32_t)seq;
  if (size >= 4) memcpy(buf, &s, 4);
  if (size > 4) buf[size - 1] = (unsigned char)seq;
}

static void verify(const unsigned char *buf, long length, long size, long seq) {
  uint32_t s;
  if (length != size) fail("a message of the wrong length");
  if (size >= 4) {
    memcpy(&s, buf, 4);
    if (s != (uint32_t)seq) fail("a message out of order");
  }
  if (size > 4 && buf[size - 1] != (unsigned char)seq) fail("a message's last byte is wrong");
}

/* ---- transports: each way of a group sends and receives whole messages --------------- */

typedef struct way way;
struct way {
  void (*send)(way *w, const unsigned char *buf, long size);
  long (*recv)(way *w, unsigned char *buf, long size); /* returns the length received */
  int fd_out, fd_in;   /* byte streams and message sockets */
  int spin;            /* pipe spin mode: RWF_NOWAIT attempts before blocking */
  mqd_t mq_out, mq_in; /* POSIX queues */
  int queue;           /* System V queue */
  long type_out, type_in;
};

static void write_all(way *w, const unsigned char *buf, long size) {
  for (long done = 0; done < size;) {
    ssize_t n = write(w->fd_out, buf + done, (size_t)(size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("write");
    done += n;
  }
}

static ssize_t read_some(way *w, unsigned char *buf, long len) {
  if (w->spin) {
    struct iovec iov = {buf, (size_t)len};
    double until = 0;
    for (;;) {
      ssize_t n = preadv2(w->fd_in, &iov, 1, -1, RWF_NOWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN) die("preadv2(RWF_NOWAIT)");
      double t = now_ns();
      if (until == 0) until = t + SPIN_US * 1e3;
      if (t >= until) break;
    }
  }
  return read(w->fd_in, buf, (size_t)len);
}

static long read_exact(way *w, unsigned char *buf, long size) {
  for (long got = 0; got < size;) {
    ssize_t n = read_some(w, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("read");
    if (n == 0) fail("end of stream in the middle of a case");
    got += n;
  }
  return size;
}

static void send_packet(way *w, const unsigned char *buf, long size) {
  while (send(w->fd_out, buf, (size_t)size, 0) < 0) {
    if (errno != EINTR) die("send");
  }
}

static long recv_packet(way *w, unsigned char *buf, long size) {
  for (;;) {
    ssize_t n = recv(w->fd_in, buf, (size_t)size, 0);
    if (n >= 0) return n;
    if (errno != EINTR) die("recv");
  }
}

static void mq_put(way *w, const unsigned char *buf, long size) {
  while (mq_send(w->mq_out, (const char *)buf, (size_t)size, 0) != 0) {
    if (errno != EINTR) die("mq_send");
  }
}

static long mq_get(way *w, unsigned char *buf, long size) {
  (void)size;
  for (;;) {
    ssize_t n = mq_receive(w->mq_in, (char *)buf, MQ_MAX, NULL);
    if (n >= 0) return n;
    if (errno != EINTR) die("mq_receive");
  }
}

struct sysv_msg {
  long type;
  unsigned char text[MQ_MAX];
};
static struct sysv_msg sysv_buf;

static void msg_put(way *w, const unsigned char *buf, long size) {
  sysv_buf.type = w->type_out;
  memcpy(sysv_buf.text, buf, (size_t)size);
  while (msgsnd(w->queue, &sysv_buf, (size_t)size, 0) != 0) {
    if (errno != EINTR) die("msgsnd");
  }
}

static long msg_get(way *w, unsigned char *buf, long size) {
  (void)size;
  for (;;) {
    ssize_t n = msgrcv(w->queue, &sysv_buf, MQ_MAX, w->type_in, 0);
    if (n >= 0) {
      memcpy(buf, sysv_buf.text, (size_t)n);
      return n;
    }
    if (errno != EINTR) die("msgrcv");
  }
}

/* Round trips and streams over a way (parent side and child side). */
static void parent_way(const bench_case *c, way *w, unsigned char *msg, unsigned char *reply) {
  long total = c->warmup + c->messages, bytes = 0;
  timer_start(c);
  if (!c->stream) {
    for (long i = 0; i < total; i++) {
      tick(i);
      mark(msg, c->size, i);
      w->send(w, msg, c->size);
      verify(reply, w->recv(w, reply, c->size), c->size, i);
      if (i >= c->warmup) bytes += 2 * c->size;
    }
  } else {
    unsigned char go = 1;
    w->send(w, &go, 1);
    for (long i = 0; i < total; i++) {
      tick(i);
      verify(reply, w->recv(w, reply, c->size), c->size, i);
      if (i >= c->warmup) bytes += c->size;
    }
  }
  tick(total);
  report(c, bytes);
}

static void child_way(const bench_case *c, way *w, unsigned char *buf) {
  long total = c->warmup + c->messages;
  if (!c->stream) {
    for (long i = 0; i < total; i++) w->send(w, buf, w->recv(w, buf, c->size));
    return;
  }
  w->recv(w, buf, 1);
  for (long i = 0; i < total; i++) {
    mark(buf, c->size, i);
    w->send(w, buf, c->size);
  }
}

static long max_size(const char *mech, int stream_kind) {
  long m = 64;
  for (int i = 0; i < ncases; i++) {
    if (strcmp(cases[i].mech, mech) == 0 && (stream_kind < 0 || cases[i].stream == stream_kind) &&
        cases[i].size > m)
      m = cases[i].size;
  }
  return m;
}

static void pin_pid(pid_t pid, long cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET((int)cpu, &set);
  if (sched_setaffinity(pid, sizeof set, &set) != 0) die("sched_setaffinity");
}

static void pin(long cpu) { pin_pid(0, cpu); }

/* The parent pins the child too, before it reports the pids: the driver's first /proc
 * sample must not see the affinity the child inherited at fork. */
static void report_pids(pid_t child, long peer_cpu) {
  pin_pid(child, peer_cpu);
  printf("{\"pids\":[%d,%d]}\n", (int)getpid(), (int)child);
}

/* ---- byte streams and sockets: pipe, fifo, uds --------------------------------------- */

static way stream_way(int out, int in) {
  way w = {0};
  w.send = write_all;
  w.recv = read_exact;
  w.fd_out = out;
  w.fd_in = in;
  return w;
}

static way packet_way(int fd) {
  way w = {0};
  w.send = send_packet;
  w.recv = recv_packet;
  w.fd_out = w.fd_in = fd;
  return w;
}

/* The way a case of a byte or socket group uses, from this side's ends. */
static way *pick(const bench_case *c, way *ways) {
  if (strcmp(c->mech, "uds-seqpacket") == 0 || strcmp(c->mech, "mq-sysv") == 0) return &ways[1];
  if (strcmp(c->mech, "uds-dgram") == 0) return &ways[2];
  ways[0].spin = strcmp(c->mode, "spin") == 0;
  return &ways[0];
}

static pid_t run_ways(way *parent, way *child, long peer_cpu, void (*child_setup)(way *)) {
  long biggest = 64;
  for (int i = 0; i < ncases; i++)
    if (cases[i].size > biggest) biggest = cases[i].size;
  unsigned char *a = must(malloc((size_t)biggest + 1)), *b = must(malloc((size_t)biggest + 1));
  memset(a, 0, (size_t)biggest + 1);
  memset(b, 0, (size_t)biggest + 1);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    pin(peer_cpu);
    if (child_setup) child_setup(child);
    for (int i = 0; i < ncases; i++) child_way(&cases[i], pick(&cases[i], child), a);
    _exit(0);
  }
  report_pids(pid, peer_cpu);
  fflush(stdout);
  for (int i = 0; i < ncases; i++) parent_way(&cases[i], pick(&cases[i], parent), a, b);
  return pid;
}

static int finish(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("the child side failed");
  return 0;
}

static int group_pipe(long peer_cpu) {
  int ping[2], pong[2];
  if (pipe(ping) != 0 || pipe(pong) != 0) die("pipe");
  way parent[3] = {stream_way(ping[1], pong[0])}, child[3] = {stream_way(pong[1], ping[0])};
  pid_t pid = run_ways(parent, child, peer_cpu, NULL);
  close(ping[1]);
  close(pong[0]);
  return finish(pid);
}

static char fifo_dir[64];

static void fifo_child(way *w) {
  char path[96];
  snprintf(path, sizeof path, "%s/ping", fifo_dir);
  w->fd_in = open(path, O_RDONLY);
  snprintf(path, sizeof path, "%s/pong", fifo_dir);
  w->fd_out = open(path, O_WRONLY);
  if (w->fd_in < 0 || w->fd_out < 0) die("open fifo");
}

static int group_fifo(long peer_cpu) {
  char ping[96], pong[96];
  snprintf(fifo_dir, sizeof fifo_dir, "/tmp/sysipc-bench-fifo-XXXXXX");
  if (!mkdtemp(fifo_dir)) die("mkdtemp");
  snprintf(ping, sizeof ping, "%s/ping", fifo_dir);
  snprintf(pong, sizeof pong, "%s/pong", fifo_dir);
  if (mkfifo(ping, 0600) != 0 || mkfifo(pong, 0600) != 0) die("mkfifo");
  /* The child opens in its setup; the opens below wait for it. */
  way parent[3] = {stream_way(-1, -1)}, child[3] = {stream_way(-1, -1)};
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    pin(peer_cpu);
    fifo_child(&child[0]);
    unsigned char *a = must(malloc((size_t)max_size("fifo", -1) + 1));
    for (int i = 0; i < ncases; i++) child_way(&cases[i], &child[0], a);
    _exit(0);
  }
  parent[0].fd_out = open(ping, O_WRONLY);
  parent[0].fd_in = open(pong, O_RDONLY);
  if (parent[0].fd_out < 0 || parent[0].fd_in < 0) die("open fifo");
  unlink(ping);
  unlink(pong);
  rmdir(fifo_dir);
  report_pids(pid, peer_cpu);
  fflush(stdout);
  long biggest = max_size("fifo", -1);
  unsigned char *a = must(malloc((size_t)biggest + 1)), *b = must(malloc((size_t)biggest + 1));
  for (int i = 0; i < ncases; i++) parent_way(&cases[i], &parent[0], a, b);
  close(parent[0].fd_out);
  close(parent[0].fd_in);
  return finish(pid);
}

static int group_uds(long peer_cpu) {
  int types[3] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM}, sv[3][2];
  for (int i = 0; i < 3; i++)
    if (socketpair(AF_UNIX, types[i], 0, sv[i]) != 0) die("socketpair");
  way parent[3] = {stream_way(sv[0][0], sv[0][0]), packet_way(sv[1][0]), packet_way(sv[2][0])};
  way child[3] = {stream_way(sv[0][1], sv[0][1]), packet_way(sv[1][1]), packet_way(sv[2][1])};
  return finish(run_ways(parent, child, peer_cpu, NULL));
}

/* ---- message queues ------------------------------------------------------------------ */

static int group_mq(long peer_cpu) {
  char ping_name[64], pong_name[64];
  struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = max_size("mq-posix", -1)};
  snprintf(ping_name, sizeof ping_name, "/sysipc-bench-%d-ping", (int)getpid());
  snprintf(pong_name, sizeof pong_name, "/sysipc-bench-%d-pong", (int)getpid());
  mqd_t ping = mq_open(ping_name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  mqd_t pong = mq_open(pong_name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  if (ping == (mqd_t)-1 || pong == (mqd_t)-1) die("mq_open");
  mq_unlink(ping_name); /* both processes hold them open: nothing is left behind */
  mq_unlink(pong_name);
  int queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (queue < 0) die("msgget");
  way parent[3] = {0}, child[3] = {0};
  parent[0] = (way){.send = mq_put, .recv = mq_get, .mq_out = ping, .mq_in = pong};
  child[0] = (way){.send = mq_put, .recv = mq_get, .mq_out = pong, .mq_in = ping};
  parent[1] = (way){.send = msg_put, .recv = msg_get, .queue = queue, .type_out = 10, .type_in = 11};
  child[1] = (way){.send = msg_put, .recv = msg_get, .queue = queue, .type_out = 11, .type_in = 10};
  int r = finish(run_ways(parent, child, peer_cpu, NULL));
  msgctl(queue, IPC_RMID, NULL);
  return r;
}

/* ---- semaphores: post "ping", wait "pong" -------------------------------------------- */

static sem_t *sems[2];
static int semid, efds[2];

static void post(const char *mech, int which) {
  if (strcmp(mech, "sem-posix") == 0) {
    if (sem_post(sems[which]) != 0) die("sem_post");
  } else if (strcmp(mech, "sem-sysv") == 0) {
    struct sembuf op = {(unsigned short)which, 1, 0};
    if (semop(semid, &op, 1) != 0) die("semop");
  } else {
    uint64_t one = 1;
    if (write(efds[which], &one, 8) != 8) die("write");
  }
}

static void await_post(const char *mech, int which) {
  for (;;) {
    int r;
    if (strcmp(mech, "sem-posix") == 0) {
      r = sem_wait(sems[which]);
    } else if (strcmp(mech, "sem-sysv") == 0) {
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

static int group_sem(long peer_cpu) {
  char name[64];
  for (int i = 0; i < 2; i++) {
    snprintf(name, sizeof name, "/sysipc-bench-%d-%d", (int)getpid(), i);
    sems[i] = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    if (sems[i] == SEM_FAILED) die("sem_open");
    sem_unlink(name);
  }
  semid = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  if (semid < 0) die("semget");
  efds[0] = eventfd(0, EFD_CLOEXEC);
  efds[1] = eventfd(0, EFD_CLOEXEC);
  if (efds[0] < 0 || efds[1] < 0) die("eventfd");
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    pin(peer_cpu);
    for (int k = 0; k < ncases; k++) {
      for (long i = 0; i < cases[k].warmup + cases[k].messages; i++) {
        await_post(cases[k].mech, 0);
        post(cases[k].mech, 1);
      }
    }
    _exit(0);
  }
  report_pids(pid, peer_cpu);
  fflush(stdout);
  for (int k = 0; k < ncases; k++) {
    const bench_case *c = &cases[k];
    long total = c->warmup + c->messages;
    timer_start(c);
    for (long i = 0; i < total; i++) {
      tick(i);
      post(c->mech, 0);
      await_post(c->mech, 1);
    }
    tick(total);
    report(c, 0);
  }
  int r = finish(pid);
  semctl(semid, 0, IPC_RMID);
  return r;
}

/* ---- signals --------------------------------------------------------------------------- */

static int record[2]; /* the handler's pipe: read end, write end */
static sigset_t rt_set;

static void on_signal(int sig, siginfo_t *info, void *context) {
  (void)sig;
  (void)context;
  int saved = errno;
  ssize_t n = write(record[1], info, sizeof *info);
  (void)n;
  errno = saved;
}

static int receive_value(int handler) {
  siginfo_t info;
  if (handler) {
    for (;;) {
      ssize_t n = read(record[0], &info, sizeof info);
      if (n == (ssize_t)sizeof info) break;
      if (n < 0 && errno == EINTR) continue;
      die("read");
    }
  } else {
    while (sigwaitinfo(&rt_set, &info) < 0) {
      if (errno != EINTR) die("sigwaitinfo");
    }
  }
  return info.si_value.sival_int;
}

static void send_value(pid_t pid, int value) {
  union sigval v = {.sival_int = value};
  while (sigqueue(pid, SIGRTMIN, v) != 0) {
    if (errno != EAGAIN) die("sigqueue");
  }
}

/* Switches this process to a case's way of receiving (wait, then handler: never back). */
static int use_handler(const bench_case *c, int handler) {
  int want = strcmp(c->mode, "handler") == 0;
  if (want == handler) return handler;
  if (!want) fail("signal: the wait cases must come before the handler cases");
  sigprocmask(SIG_UNBLOCK, &rt_set, NULL); /* pending signals go to the handler now */
  return 1;
}

static int group_signal(long peer_cpu) {
  sigemptyset(&rt_set);
  sigaddset(&rt_set, SIGRTMIN);
  if (pipe2(record, O_CLOEXEC) != 0) die("pipe2");
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  if (sigaction(SIGRTMIN, &action, NULL) != 0) die("sigaction");
  sigprocmask(SIG_BLOCK, &rt_set, NULL); /* before fork: the child starts with it blocked */
  int handler = use_handler(&cases[0], 0);
  pid_t parent = getpid();
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    pin(peer_cpu);
    close(record[0]); /* a pipe of its own, or the parent would read the child's records */
    close(record[1]);
    if (pipe2(record, O_CLOEXEC) != 0) die("pipe2");
    send_value(parent, -1); /* ready */
    for (int k = 0; k < ncases; k++) {
      handler = use_handler(&cases[k], handler);
      for (long i = 0; i < cases[k].warmup + cases[k].messages; i++)
        send_value(parent, receive_value(handler));
    }
    _exit(0);
  }
  if (receive_value(handler) != -1) fail("signal: no ready signal from the child");
  report_pids(pid, peer_cpu);
  fflush(stdout);
  for (int k = 0; k < ncases; k++) {
    const bench_case *c = &cases[k];
    long total = c->warmup + c->messages, bytes = 0;
    handler = use_handler(c, handler);
    timer_start(c);
    for (long i = 0; i < total; i++) {
      tick(i);
      send_value(pid, (int)i);
      if (receive_value(handler) != (int)i) fail("signal: a reply out of order");
      if (i >= c->warmup) bytes += 8;
    }
    tick(total);
    report(c, bytes);
  }
  return finish(pid);
}

/* ---- shared memory -------------------------------------------------------------------- */

struct pingpong {
  _Alignas(64) int ping_seq;
  _Alignas(64) int pong_seq;
};

struct ring {
  _Alignas(64) int sent;     /* messages published, over every stream case */
  _Alignas(64) int received; /* messages freed */
};

static int futex_mode;

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

static void *shared(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

/* Round trips: each side copies the message into its area and publishes its number. */
static struct pingpong *pp, *pp_sysv;
static unsigned char *pp_ping, *pp_pong, *sysv_ping, *sysv_pong;
static int pp_seq, sysv_seq; /* the last number published, over the cases */
static struct ring *ring;
static unsigned char *slots;
static long slot_size;

static void shm_child(const bench_case *c, unsigned char *buf) {
  long total = c->warmup + c->messages;
  int sysv = strcmp(c->mech, "shm-sysv") == 0;
  struct pingpong *p = sysv ? pp_sysv : pp;
  unsigned char *ping = sysv ? sysv_ping : pp_ping, *pong = sysv ? sysv_pong : pp_pong;
  int *seq = sysv ? &sysv_seq : &pp_seq;
  futex_mode = strcmp(c->mode, "futex") == 0;
  if (strcmp(c->mode, "memcpy") == 0) return; /* one process */
  if (!c->stream) {
    for (long i = 0; i < total; i++) {
      while (__atomic_load_n(&p->ping_seq, __ATOMIC_SEQ_CST) == *seq) wait_change(&p->ping_seq, *seq);
      memcpy(buf, ping, (size_t)c->size);
      memcpy(pong, buf, (size_t)c->size);
      publish(&p->pong_seq, ++*seq);
    }
    return;
  }
  int base = ring->sent;
  for (long i = 0; i < total; i++) {
    int n = base + (int)i;
    for (int v; n - (v = __atomic_load_n(&ring->received, __ATOMIC_SEQ_CST)) >= SLOTS;)
      wait_change(&ring->received, v);
    mark(buf, c->size, i);
    memcpy(slots + (size_t)(n % SLOTS) * (size_t)slot_size, buf, (size_t)c->size);
    publish(&ring->sent, n + 1);
  }
}

static void shm_parent(const bench_case *c, unsigned char *msg, unsigned char *reply) {
  long total = c->warmup + c->messages, bytes = 0;
  int sysv = strcmp(c->mech, "shm-sysv") == 0;
  struct pingpong *p = sysv ? pp_sysv : pp;
  unsigned char *ping = sysv ? sysv_ping : pp_ping, *pong = sysv ? sysv_pong : pp_pong;
  int *seq = sysv ? &sysv_seq : &pp_seq;
  futex_mode = strcmp(c->mode, "futex") == 0;
  timer_start(c);
  if (strcmp(c->mode, "memcpy") == 0) {
    unsigned char *ring16 = must(malloc((size_t)c->size * SLOTS));
    memset(ring16, 2, (size_t)c->size * SLOTS);
    memset(msg, 1, (size_t)c->size);
    for (long i = 0; i < total; i++) {
      tick(i);
      mark(msg, c->size, i);
      memcpy(ring16 + (size_t)(i % SLOTS) * (size_t)c->size, msg, (size_t)c->size);
      __asm__ volatile("" ::: "memory");
      verify(ring16 + (size_t)(i % SLOTS) * (size_t)c->size, c->size, c->size, i);
      if (i >= c->warmup) bytes += c->size;
    }
    free(ring16);
  } else if (!c->stream) {
    for (long i = 0; i < total; i++) {
      tick(i);
      mark(msg, c->size, i);
      memcpy(ping, msg, (size_t)c->size);
      publish(&p->ping_seq, ++*seq);
      /* Wait from the value just compared: reading it again could see the reply and then
       * wait for a change that never comes. */
      for (int v; (v = __atomic_load_n(&p->pong_seq, __ATOMIC_SEQ_CST)) != *seq;)
        wait_change(&p->pong_seq, v);
      memcpy(reply, pong, (size_t)c->size);
      verify(reply, c->size, c->size, i);
      if (i >= c->warmup) bytes += 2 * c->size;
    }
  } else {
    int base = ring->received;
    unsigned sum = 0;
    for (long i = 0; i < total; i++) {
      int n = base + (int)i;
      tick(i);
      while (__atomic_load_n(&ring->sent, __ATOMIC_SEQ_CST) <= n) wait_change(&ring->sent, n);
      const unsigned char *m = slots + (size_t)(n % SLOTS) * (size_t)slot_size;
      verify(m, c->size, c->size, i);
      for (long j = 0; j < c->size; j += 64) sum += m[j];
      publish(&ring->received, n + 1);
      if (i >= c->warmup) bytes += c->size;
    }
    __asm__ volatile("" : : "r"(sum) : "memory");
  }
  tick(total);
  report(c, bytes);
}

static int group_shm(long peer_cpu) {
  long rtt = max_size("shm", 0);
  pp = shared(sizeof *pp + 2 * (size_t)rtt);
  pp_ping = (unsigned char *)(pp + 1);
  pp_pong = pp_ping + rtt;
  slot_size = max_size("shm", 1);
  ring = shared(sizeof *ring + SLOTS * (size_t)slot_size);
  slots = (unsigned char *)(ring + 1);
  int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  if (id < 0) die("shmget");
  pp_sysv = shmat(id, NULL, 0);
  if (pp_sysv == (void *)-1) die("shmat");
  shmctl(id, IPC_RMID, NULL); /* gone once both processes detach */
  memset(pp_sysv, 0, 4096);
  sysv_ping = (unsigned char *)(pp_sysv + 1);
  sysv_pong = sysv_ping + 64;
  long biggest = rtt > slot_size ? rtt : slot_size;
  unsigned char *a = must(malloc((size_t)biggest)), *b = must(malloc((size_t)biggest));
  memset(a, 0, (size_t)biggest);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    pin(peer_cpu);
    for (int i = 0; i < ncases; i++) shm_child(&cases[i], a);
    _exit(0);
  }
  report_pids(pid, peer_cpu);
  fflush(stdout);
  for (int i = 0; i < ncases; i++) shm_parent(&cases[i], a, b);
  return finish(pid);
}

/* ---- main ----------------------------------------------------------------------------- */

static void parse(char *spec) {
  for (char *one = strtok(spec, ","); one; one = strtok(NULL, ",")) {
    if (ncases == MAX_CASES) fail("too many cases");
    bench_case *c = &cases[ncases++];
    char kind[16];
    if (sscanf(one, "%31[^:]:%31[^:]:%15[^:]:%ld:%ld:%ld:%ld", c->mech, c->mode, kind, &c->size,
               &c->messages, &c->warmup, &c->batch) != 7 ||
        c->messages < 1 || c->warmup < 0 || c->batch < 1 || c->size < 0)
      fail("a malformed case");
    c->stream = strcmp(kind, "stream") == 0;
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s pipe|fifo|uds|shm|mq|sem|signal|port <peer_cpu> <cases>\n", argv[0]);
    return 2;
  }
  long peer_cpu = strtol(argv[2], NULL, 10);
  parse(argv[3]);
  const char *g = argv[1];
  if (strcmp(g, "pipe") == 0) return group_pipe(peer_cpu);
  if (strcmp(g, "fifo") == 0) return group_fifo(peer_cpu);
  if (strcmp(g, "uds") == 0) return group_uds(peer_cpu);
  if (strcmp(g, "shm") == 0) return group_shm(peer_cpu);
  if (strcmp(g, "mq") == 0) return group_mq(peer_cpu);
  if (strcmp(g, "sem") == 0) return group_sem(peer_cpu);
  if (strcmp(g, "signal") == 0) return group_signal(peer_cpu);
  if (strcmp(g, "port") == 0) return group_uds(peer_cpu); /* its cases: seqpacket round trips */
  fprintf(stderr, "baseline: unknown group %s\n", g);
  return 2;
}

/**
 * The one libc symbol table, in Deno's `dlopen` shape and keyed by real C names.
 *
 * Conventions, so that both runtimes agree without per-call wrappers:
 * - JS memory is passed as `"buffer"` (a typed array; the callee sees its address).
 * - Addresses of native memory travel as integers (`"usize"`): both runtimes return
 *   64-bit results as `bigint` and accept `number | bigint` for 64-bit parameters.
 * - `ssize_t` results of transfer calls are read as `"i32"`: Linux caps one transfer at
 *   0x7ffff000 bytes, so the value always fits, and no `bigint` is allocated per call.
 * - Variadic C functions (`open`, `fcntl`, `syscall`) are declared with their full
 *   argument list, which is sound on Linux x86_64 and aarch64.
 *
 * The hot-path rule (measured on Deno 2.9.6; PLATFORM.md and bench/ffi_bench.ts): Deno
 * calls a symbol on its fast path only when every parameter is `i32`, `u32`, `buffer` or
 * `pointer` and the call site is monomorphic (one JS call site calls one symbol); any
 * 64-bit integer parameter (`i64`, `u64`, `isize`, `usize`) costs ≈ 250–400 ns more per
 * call, with a malloc/free inside Deno. Bun has no such cliff. So every symbol called per
 * message or per wait declares:
 * - sizes and counts as `u32` where each value passed is below 2^31 (every transfer is
 *   capped at `MAX_TRANSFER` = 0x7ffff000): a 32-bit argument reaches C zero-extended on
 *   x86_64 and aarch64 (a 32-bit register write clears the upper half), and below 2^31 a
 *   sign extension would give the same bits, so the callee's 64-bit `size_t` holds the
 *   exact value. tests/ffi_abi_test.ts checks this on both runtimes, cold and JIT-hot,
 *   through a C function that reads the full 64-bit registers;
 * - a constant 64-bit value (`preadv2`'s offset -1) as `"pointer"`, passed as a value made
 *   once by `runtime.pointer()` (a pointer object on Deno, a 64-bit integer on Bun);
 * - a raw `syscall` through one of the aliases below, whose arguments are 32-bit or
 *   `buffer` (an alias names its C symbol in `name`; the key says what it is for).
 * Calls made once per object (`mmap`, `ftruncate`, setup syscalls) keep their exact C types.
 *
 * @module
 */

/** A native type name, as Deno spells it. */
export type NativeType =
  | "void"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "isize"
  | "usize"
  | "buffer"
  | "pointer";

/** A parameter type: any native type but `"void"`. */
export type NativeParam = Exclude<NativeType, "void">;

/** One C function: parameter and result types, and whether it may be absent. */
export interface SymbolDef {
  /** The parameter types, in order. */
  readonly parameters: readonly NativeParam[];
  /** The result type. */
  readonly result: NativeType;
  /** Whether the library may lack it (the function is then `null`). */
  readonly optional?: boolean;
  /** The C symbol, when the key is an alias (another declaration of the same function). */
  readonly name?: string;
}

/**
 * The JS value of a `"pointer"` parameter: made by `runtime.pointer()`, opaque (a Deno
 * pointer object, a Bun 64-bit integer).
 */
export type NativePointer = { readonly __nativePointer: unique symbol };

/** The symbol table. */
export const symbols = {
  // int *__errno_location(void)
  __errno_location: { parameters: [], result: "usize" },
  // char *strerror(int errnum)
  strerror: { parameters: ["i32"], result: "usize" },
  // void *dlsym(void *handle, const char *symbol)
  dlsym: { parameters: ["usize", "buffer"], result: "usize", optional: true },
  // char *getenv(const char *name): the C environment, readable without Deno's --allow-env
  getenv: { parameters: ["buffer"], result: "usize" },
  // pid_t getpid(void)
  getpid: { parameters: [], result: "i32" },
  // int sched_yield(void)
  sched_yield: { parameters: [], result: "i32" },
  // long syscall(long number, ...); every syscall used returns a value that fits an int
  syscall: {
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i32",
  },
  // The same, for the wait engine's per-wait system call io_uring_enter(unsigned fd,
  // u32 to_submit, u32 min_complete, u32 flags, const void *argp, size_t argsz): every
  // argument is 32-bit (the kernel truncates each to its declared type) or a pointer,
  // which keeps Deno on its fast path.
  syscall_u32: {
    name: "syscall",
    parameters: ["i32", "u32", "u32", "u32", "u32", "buffer", "u32"],
    result: "i32",
  },
  // The same, for futex(u32 *uaddr, int op, u32 val, const struct timespec *timeout,
  // u32 *uaddr2, u32 val3): the word as a one-element view over the shared memory.
  syscall_futex: {
    name: "syscall",
    parameters: ["i32", "buffer", "i32", "u32", "buffer", "buffer", "u32"],
    result: "i32",
  },

  // int open(const char *path, int flags, mode_t mode)
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int access(const char *path, int mode)
  access: { parameters: ["buffer", "i32"], result: "i32" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count): count as u32 (hot path; < 2^31 always)
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // ssize_t write(int fd, const void *buf, size_t count): count as u32, as for read
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags):
  // the offset is always -1 (the current position), passed as runtime.pointer(-1n)
  preadv2: { parameters: ["i32", "buffer", "i32", "pointer", "i32"], result: "i32" },
  // ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags)
  pwritev2: { parameters: ["i32", "buffer", "i32", "pointer", "i32"], result: "i32" },
  // int pipe2(int pipefd[2], int flags)
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // int fcntl(int fd, int cmd, long arg)
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout): the kernel takes nfds as an
  // unsigned int, so u32 is exact
  poll: { parameters: ["buffer", "u32", "i32"], result: "i32" },
  // int mkfifo(const char *path, mode_t mode)
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  // int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
  mmap: { parameters: ["usize", "usize", "i32", "i32", "i32", "i64"], result: "usize" },
  // int munmap(void *addr, size_t length)
  munmap: { parameters: ["usize", "usize"], result: "i32" },

  // int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
  sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // key_t ftok(const char *path, int proj_id)
  ftok: { parameters: ["buffer", "i32"], result: "i32" },
  // int kill(pid_t pid, int sig)
  kill: { parameters: ["i32", "i32"], result: "i32" },
  // int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options)
  waitid: { parameters: ["i32", "u32", "buffer", "i32"], result: "i32" },
  // int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
  //                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
  posix_spawn: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "usize"],
    result: "i32",
  },
  // int posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa)
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  // int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  // int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  // int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd,
  //                                      const char *path, int oflag, mode_t mode)
  posix_spawn_file_actions_addopen: {
    parameters: ["buffer", "i32", "buffer", "i32", "u32"],
    result: "i32",
  },
  // int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *fa, const char *path)
  posix_spawn_file_actions_addchdir_np: {
    parameters: ["buffer", "buffer"],
    result: "i32",
    optional: true,
  },
  // int posix_spawnattr_init(posix_spawnattr_t *attr)
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  // int posix_spawnattr_destroy(posix_spawnattr_t *attr)
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  // int posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags)
  posix_spawnattr_setflags: { parameters: ["buffer", "i32"], result: "i32" },
  // int posix_spawnattr_setsigmask(posix_spawnattr_t *attr, const sigset_t *mask)
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  // int posix_spawnattr_setsigdefault(posix_spawnattr_t *attr, const sigset_t *set)
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  // shm
  // int shm_open(const char *name, int oflag, mode_t mode)
  shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int shm_unlink(const char *name)
  shm_unlink: { parameters: ["buffer"], result: "i32" },
  // int ftruncate(int fd, off_t length)
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  // int memfd_create(const char *name, unsigned int flags)
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  // int msync(void *addr, size_t length, int flags)
  msync: { parameters: ["usize", "usize", "i32"], result: "i32" },
  // int shmget(key_t key, size_t size, int shmflg)
  shmget: { parameters: ["i32", "usize", "i32"], result: "i32" },
  // void *shmat(int shmid, const void *shmaddr, int shmflg)
  shmat: { parameters: ["i32", "usize", "i32"], result: "usize" },
  // int shmdt(const void *shmaddr)
  shmdt: { parameters: ["usize"], result: "i32" },
  // int shmctl(int shmid, int cmd, struct shmid_ds *buf)
  shmctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },

  // uds
  // int socket(int domain, int type, int protocol)
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int socketpair(int domain, int type, int protocol, int sv[2])
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // int bind(int fd, const struct sockaddr *addr, socklen_t len)
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int listen(int fd, int backlog)
  listen: { parameters: ["i32", "i32"], result: "i32" },
  // int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  // int connect(int fd, const struct sockaddr *addr, socklen_t len)
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int shutdown(int fd, int how)
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  // ssize_t send(int fd, const void *buf, size_t len, int flags): len as u32, as for read
  send: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // ssize_t recv(int fd, void *buf, size_t len, int flags): len as u32, as for read
  recv: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int fchmod(int fd, mode_t mode)
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  // int chmod(const char *path, mode_t mode)
  chmod: { parameters: ["buffer", "u32"], result: "i32" },
  // int unlink(const char *path)
  unlink: { parameters: ["buffer"], result: "i32" },

  // signal
  // int sigqueue(pid_t pid, int sig, const union sigval value): the union is one register
  // wide; sysipc sends an int (sival_int) with the upper half zero, which a u32 argument
  // gives (see the hot-path rule above) on Deno's fast path
  sigqueue: { parameters: ["i32", "i32", "u32"], result: "i32" },
  // int killpg(pid_t pgrp, int sig)
  killpg: { parameters: ["i32", "i32"], result: "i32" },
  // pid_t getpgid(pid_t pid)
  getpgid: { parameters: ["i32"], result: "i32" },
  // int setpgid(pid_t pid, pid_t pgid)
  setpgid: { parameters: ["i32", "i32"], result: "i32" },
  // uid_t getuid(void)
  getuid: { parameters: [], result: "u32" },
  // int mprotect(void *addr, size_t len, int prot)
  mprotect: { parameters: ["usize", "usize", "i32"], result: "i32" },
  // int __libc_current_sigrtmin(void), what glibc's and musl's SIGRTMIN macro calls: the
  // first real-time signal the C library leaves to programs
  __libc_current_sigrtmin: { parameters: [], result: "i32", optional: true },
  // int __libc_current_sigrtmax(void), what SIGRTMAX calls
  __libc_current_sigrtmax: { parameters: [], result: "i32", optional: true },
  // int execvp(const char *file, char *const argv[])
  execvp: { parameters: ["buffer", "buffer"], result: "i32" },
  // mq: POSIX message queues (mqd_t is a descriptor on Linux; mq_close is close) and System
  // V message queues; clocks, limits and timers for their waits and errors
  // The size_t lengths of mq_send and mq_receive are declared u32, which keeps Deno on its
  // fast FFI path (a 64-bit parameter costs ≈ 0.3 µs per call there). Sound on x86_64 and
  // aarch64, where both runtimes zero-extend a u32 argument; and even stray upper bits
  // could only make the length larger, which these calls refuse (EMSGSIZE) or never use
  // (a receive copies at most the queue's message size, which the buffer always holds).
  // mqd_t mq_open(const char *name, int oflag, mode_t mode, struct mq_attr *attr)
  mq_open: { parameters: ["buffer", "i32", "u32", "buffer"], result: "i32" },
  // int mq_unlink(const char *name)
  mq_unlink: { parameters: ["buffer"], result: "i32" },
  // int mq_getattr(mqd_t mqdes, struct mq_attr *attr)
  mq_getattr: { parameters: ["i32", "buffer"], result: "i32" },
  // int mq_setattr(mqd_t mqdes, const struct mq_attr *newattr, struct mq_attr *oldattr)
  mq_setattr: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int mq_send(mqd_t mqdes, const char *msg, size_t len, unsigned int prio)
  mq_send: { parameters: ["i32", "buffer", "u32", "u32"], result: "i32" },
  // int mq_timedsend(mqd_t mqdes, const char *msg, size_t len, unsigned int prio,
  //                  const struct timespec *abs_timeout)
  mq_timedsend: { parameters: ["i32", "buffer", "u32", "u32", "buffer"], result: "i32" },
  // ssize_t mq_receive(mqd_t mqdes, char *msg, size_t len, unsigned int *prio)
  mq_receive: { parameters: ["i32", "buffer", "u32", "buffer"], result: "i32" },
  // ssize_t mq_timedreceive(mqd_t mqdes, char *msg, size_t len, unsigned int *prio,
  //                         const struct timespec *abs_timeout)
  mq_timedreceive: {
    parameters: ["i32", "buffer", "u32", "buffer", "buffer"],
    result: "i32",
  },
  // int msgget(key_t key, int flags)
  msgget: { parameters: ["i32", "i32"], result: "i32" },
  // int msgsnd(int id, const void *msgp, size_t size, int flags); size as u32, as for
  // mq_send: stray upper bits would exceed msgmax (an int), which msgsnd refuses (EINVAL).
  // msgrcv keeps a 64-bit size: with MSG_NOERROR it would copy up to a larger size.
  msgsnd: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // ssize_t msgrcv(int id, void *msgp, size_t size, long type, int flags)
  msgrcv: { parameters: ["i32", "buffer", "usize", "i64", "i32"], result: "i32" },
  // The same, for sysipc's receives: the size and the type as "pointer" values made once
  // per value by `longArgument()` (ffi/libc.ts), which keeps Deno on its fast path
  // (measured: 505 -> 275 ns a call).
  msgrcv_hot: {
    name: "msgrcv",
    parameters: ["i32", "buffer", "pointer", "pointer", "i32"],
    result: "i32",
  },
  // int msgctl(int id, int cmd, struct msqid_ds *buf)
  msgctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  // int clock_gettime(clockid_t clock, struct timespec *tp)
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  // int getrlimit(int resource, struct rlimit *rlim)
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  // int timer_create(clockid_t clock, struct sigevent *sev, timer_t *timerid)
  timer_create: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int timer_settime(timer_t timerid, int flags, const struct itimerspec *new,
  //                   struct itimerspec *old)
  timer_settime: { parameters: ["usize", "i32", "buffer", "buffer"], result: "i32" },
  // int timer_delete(timer_t timerid)
  timer_delete: { parameters: ["usize"], result: "i32" },
  // sem
  // sem_t *sem_open(const char *name, int oflag, mode_t mode, unsigned int value)
  // A sem_t is passed as a view over its mapped memory ("buffer"), which keeps Deno's fast
  // call path; glibc maps it from /dev/shm and it never moves.
  sem_open: { parameters: ["buffer", "i32", "u32", "u32"], result: "usize" },
  // int sem_close(sem_t *sem)
  sem_close: { parameters: ["buffer"], result: "i32" },
  // int sem_unlink(const char *name)
  sem_unlink: { parameters: ["buffer"], result: "i32" },
  // int sem_post(sem_t *sem)
  sem_post: { parameters: ["buffer"], result: "i32" },
  // int sem_wait(sem_t *sem)
  sem_wait: { parameters: ["buffer"], result: "i32" },
  // int sem_trywait(sem_t *sem)
  sem_trywait: { parameters: ["buffer"], result: "i32" },
  // int sem_timedwait(sem_t *sem, const struct timespec *abstime): CLOCK_REALTIME
  sem_timedwait: { parameters: ["buffer", "buffer"], result: "i32" },
  // int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime): glibc 2.30
  sem_clockwait: { parameters: ["buffer", "i32", "buffer"], result: "i32", optional: true },

  // Robust process-shared mutexes (RobustMutex): each returns 0 or an errno value.
  // int pthread_mutexattr_init(pthread_mutexattr_t *attr)
  pthread_mutexattr_init: { parameters: ["buffer"], result: "i32" },
  // int pthread_mutexattr_setpshared(pthread_mutexattr_t *attr, int pshared)
  pthread_mutexattr_setpshared: { parameters: ["buffer", "i32"], result: "i32" },
  // int pthread_mutexattr_setrobust(pthread_mutexattr_t *attr, int robustness)
  pthread_mutexattr_setrobust: { parameters: ["buffer", "i32"], result: "i32" },
  // int pthread_mutexattr_settype(pthread_mutexattr_t *attr, int type)
  pthread_mutexattr_settype: { parameters: ["buffer", "i32"], result: "i32" },
  // int pthread_mutexattr_destroy(pthread_mutexattr_t *attr)
  pthread_mutexattr_destroy: { parameters: ["buffer"], result: "i32" },
  // int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr)
  pthread_mutex_init: { parameters: ["buffer", "buffer"], result: "i32" },
  // int pthread_mutex_lock(pthread_mutex_t *mutex)
  pthread_mutex_lock: { parameters: ["buffer"], result: "i32" },
  // int pthread_mutex_trylock(pthread_mutex_t *mutex)
  pthread_mutex_trylock: { parameters: ["buffer"], result: "i32" },
  // int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime): glibc 2.30
  pthread_mutex_clocklock: {
    parameters: ["buffer", "i32", "buffer"],
    result: "i32",
    optional: true,
  },
  // int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime): CLOCK_REALTIME
  pthread_mutex_timedlock: { parameters: ["buffer", "buffer"], result: "i32" },
  // int pthread_mutex_consistent(pthread_mutex_t *mutex)
  pthread_mutex_consistent: { parameters: ["buffer"], result: "i32" },
  // int pthread_mutex_unlock(pthread_mutex_t *mutex)
  pthread_mutex_unlock: { parameters: ["buffer"], result: "i32" },
  // int sem_getvalue(sem_t *sem, int *value)
  sem_getvalue: { parameters: ["buffer", "buffer"], result: "i32" },
  // int sem_init(sem_t *sem, int pshared, unsigned int value): the layout probe only
  sem_init: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // const char *gnu_get_libc_version(void): glibc only
  gnu_get_libc_version: { parameters: [], result: "usize", optional: true },
  // int semop(int semid, struct sembuf *sops, size_t nsops); the kernel reads nsops as an
  // unsigned int, so "u32" is exact and keeps Deno's fast path
  semop: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int semtimedop(int semid, struct sembuf *sops, size_t nsops, const struct timespec *t)
  semtimedop: { parameters: ["i32", "buffer", "u32", "buffer"], result: "i32" },
  // int eventfd_read(int fd, eventfd_t *value): read(2) of the 8-byte counter
  eventfd_read: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Record<string, SymbolDef>;

/** The shape of the symbol table. */
export type Symbols = typeof symbols;

/** The JS value a parameter of native type `T` takes. */
export type JsParam<T extends NativeParam> = T extends "buffer" ? ArrayBufferView | null
  : T extends "pointer" ? NativePointer | null
  : T extends "i64" | "u64" | "isize" | "usize" ? number | bigint
  : number;
/** The JS value a result of native type `T` comes back as. */
export type JsResult<T extends NativeType> = T extends "void" ? void
  : T extends "pointer" ? NativePointer | null
  : T extends "i64" | "u64" | "isize" | "usize" ? bigint
  : number;
/** The JS parameter list of a native parameter list. */
export type JsParams<P extends readonly NativeParam[]> = { [K in keyof P]: JsParam<P[K]> };

/** The typed functions a runtime shim hands back for a symbol table. */
export type Functions<S extends Record<string, SymbolDef>> = {
  [K in keyof S]: S[K] extends { optional: true }
    ? ((...args: JsParams<S[K]["parameters"]>) => JsResult<S[K]["result"]>) | null
    : (...args: JsParams<S[K]["parameters"]>) => JsResult<S[K]["result"]>;
};

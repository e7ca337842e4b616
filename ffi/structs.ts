/**
 * C struct layouts, each described once: the size and the byte offset of every field
 * sysipc touches. `tests/ffi_layout_test.ts` compiles a C program that prints `sizeof` and
 * `offsetof` for each of them and compares.
 *
 * @module
 */

/** A C struct: its name in C, the headers that declare it, its size and field offsets. */
export interface Layout<F extends string = string> {
  /** The C type, such as `"struct timespec"`. */
  readonly type: string;
  /** Headers to include to see it. */
  readonly headers: readonly string[];
  /** `sizeof`. */
  readonly size: number;
  /** `offsetof` of each field, by its C member name. */
  readonly offsets: Readonly<Record<F, number>>;
}

function layout<F extends string>(
  type: string,
  headers: string[],
  size: number,
  offsets: Record<F, number>,
): Layout<F> {
  return { type, headers, size, offsets };
}

/** `struct timespec` (time.h). */
export const timespec = layout("struct timespec", ["time.h"], 16, { tv_sec: 0, tv_nsec: 8 });

/** `struct iovec` (sys/uio.h). */
export const iovec = layout("struct iovec", ["sys/uio.h"], 16, { iov_base: 0, iov_len: 8 });

/** `struct pollfd` (poll.h). */
export const pollfd = layout("struct pollfd", ["poll.h"], 8, { fd: 0, events: 4, revents: 6 });

/** `struct statx` (sys/stat.h), the part sysipc reads. */
export const statx = layout("struct statx", ["sys/stat.h"], 256, {
  stx_mask: 0,
  stx_uid: 20,
  stx_gid: 24,
  stx_mode: 28,
  stx_ino: 32,
  stx_size: 40,
});

/** `siginfo_t` (signal.h), as `waitid` fills it. */
export const siginfo = layout("siginfo_t", ["signal.h"], 128, {
  si_signo: 0,
  si_errno: 4,
  si_code: 8,
  si_pid: 16,
  si_uid: 20,
  si_status: 24,
  si_value: 24,
});

/** glibc's `sigset_t` (signal.h): 1024 bits. */
export const sigset = layout("sigset_t", ["signal.h"], 128, {});

/**
 * `struct ipc_perm` (sys/ipc.h): the owner and mode of a System V object, at offset 0 of
 * `shmid_ds`, `semid_ds` and `msqid_ds`.
 */
export const ipcPerm = layout("struct ipc_perm", ["sys/ipc.h"], 48, {
  __key: 0,
  uid: 4,
  gid: 8,
  cuid: 12,
  cgid: 16,
  mode: 20,
});

/** glibc's `struct sigaction` (signal.h). */
export const sigaction = layout("struct sigaction", ["signal.h"], 152, {
  sa_handler: 0,
  sa_mask: 8,
  sa_flags: 136,
});

/** glibc's `posix_spawn_file_actions_t` (spawn.h), opaque. */
export const spawnFileActions = layout("posix_spawn_file_actions_t", ["spawn.h"], 80, {});

/** glibc's `posix_spawnattr_t` (spawn.h), opaque. */
export const spawnAttr = layout("posix_spawnattr_t", ["spawn.h"], 336, {});

/** `struct io_uring_params` (linux/io_uring.h). */
export const uringParams = layout("struct io_uring_params", ["linux/io_uring.h"], 120, {
  sq_entries: 0,
  cq_entries: 4,
  flags: 8,
  features: 20,
  sq_off: 40,
  cq_off: 80,
});

/** `struct io_sqring_offsets` (linux/io_uring.h). */
export const sqringOffsets = layout("struct io_sqring_offsets", ["linux/io_uring.h"], 40, {
  head: 0,
  tail: 4,
  ring_mask: 8,
  ring_entries: 12,
  flags: 16,
  dropped: 20,
  array: 24,
});

/** `struct io_cqring_offsets` (linux/io_uring.h). */
export const cqringOffsets = layout("struct io_cqring_offsets", ["linux/io_uring.h"], 40, {
  head: 0,
  tail: 4,
  ring_mask: 8,
  ring_entries: 12,
  overflow: 16,
  cqes: 20,
});

/** `struct io_uring_sqe` (linux/io_uring.h). */
export const uringSqe = layout("struct io_uring_sqe", ["linux/io_uring.h"], 64, {
  opcode: 0,
  flags: 1,
  fd: 4,
  off: 8,
  addr2: 8,
  addr: 16,
  len: 24,
  poll32_events: 28,
  open_flags: 28,
  user_data: 32,
  addr3: 48,
});

/** `struct io_uring_probe` (linux/io_uring.h): what the ring supports. */
export const uringProbe = layout("struct io_uring_probe", ["linux/io_uring.h"], 16, {
  last_op: 0,
  ops_len: 1,
  ops: 16,
});

/** `struct io_uring_probe_op` (linux/io_uring.h). */
export const uringProbeOp = layout("struct io_uring_probe_op", ["linux/io_uring.h"], 8, {
  op: 0,
  flags: 2,
});

/** `struct io_uring_cqe` (linux/io_uring.h). */
export const uringCqe = layout("struct io_uring_cqe", ["linux/io_uring.h"], 16, {
  user_data: 0,
  res: 8,
  flags: 12,
});

/**
 * `struct shmid_ds` (sys/shm.h): a System V shared memory segment, as `shmctl(IPC_STAT)`
 * fills it; `struct ipc_perm` is at offset 0.
 */
export const shmidDs = layout("struct shmid_ds", ["sys/shm.h"], 112, {
  shm_perm: 0,
  shm_segsz: 48,
  shm_atime: 56,
  shm_dtime: 64,
  shm_ctime: 72,
  shm_cpid: 80,
  shm_lpid: 84,
  shm_nattch: 88,
});

// uds

/** `struct sockaddr_un` (sys/un.h): `sun_path` holds 108 bytes. */
export const sockaddrUn = layout("struct sockaddr_un", ["sys/un.h"], 110, {
  sun_family: 0,
  sun_path: 2,
});

/** `struct msghdr` (sys/socket.h). */
export const msghdr = layout("struct msghdr", ["sys/socket.h"], 56, {
  msg_name: 0,
  msg_namelen: 8,
  msg_iov: 16,
  msg_iovlen: 24,
  msg_control: 32,
  msg_controllen: 40,
  msg_flags: 48,
});

/** `struct cmsghdr` (sys/socket.h); the data follows at `CMSG_ALIGN(sizeof)`, 16. */
export const cmsghdr = layout("struct cmsghdr", ["sys/socket.h"], 16, {
  cmsg_len: 0,
  cmsg_level: 8,
  cmsg_type: 12,
});

/** `struct ucred` (sys/socket.h, with `_GNU_SOURCE`). */
export const ucred = layout("struct ucred", ["sys/socket.h"], 12, { pid: 0, uid: 4, gid: 8 });

/** `struct timeval` (sys/time.h), as `SO_SNDTIMEO` takes it. */
export const timeval = layout("struct timeval", ["sys/time.h"], 16, { tv_sec: 0, tv_usec: 8 });
// mq

/** `struct mq_attr` (mqueue.h): a POSIX message queue's attributes. */
export const mqAttr = layout("struct mq_attr", ["mqueue.h"], 64, {
  mq_flags: 0,
  mq_maxmsg: 8,
  mq_msgsize: 16,
  mq_curmsgs: 24,
});

/** glibc's `struct msqid_ds` (sys/msg.h): a System V message queue's state. */
export const msqidDs = layout("struct msqid_ds", ["sys/msg.h"], 120, {
  msg_perm: 0,
  msg_stime: 48,
  msg_rtime: 56,
  msg_ctime: 64,
  __msg_cbytes: 72,
  msg_qnum: 80,
  msg_qbytes: 88,
  msg_lspid: 96,
  msg_lrpid: 100,
});

/** `struct msginfo` (sys/msg.h): the System V message limits `msgctl(IPC_INFO)` reports. */
export const msginfo = layout("struct msginfo", ["sys/msg.h"], 32, {
  msgmax: 8,
  msgmnb: 12,
  msgmni: 16,
});

/** `struct rlimit` (sys/resource.h). */
export const rlimit = layout("struct rlimit", ["sys/resource.h"], 16, {
  rlim_cur: 0,
  rlim_max: 8,
});

/**
 * `struct sigevent` (signal.h), as `timer_create` takes it. The union `_sigev_un` starts
 * with `_tid`, the thread `SIGEV_THREAD_ID` signals (`sigev_notify_thread_id` in newer
 * headers).
 */
export const sigevent = layout("struct sigevent", ["signal.h"], 64, {
  sigev_value: 0,
  sigev_signo: 8,
  sigev_notify: 12,
  _sigev_un: 16,
});

/** `struct itimerspec` (time.h). */
export const itimerspec = layout("struct itimerspec", ["time.h"], 32, {
  it_interval: 0,
  it_value: 16,
});
/** `struct sembuf` (sys/sem.h): one operation of a System V `semop`. */
export const sembuf = layout("struct sembuf", ["sys/sem.h"], 6, {
  sem_num: 0,
  sem_op: 2,
  sem_flg: 4,
});

/** `struct semid_ds` (sys/sem.h), 64-bit: what `semctl(IPC_STAT)` fills. */
export const semidDs = layout("struct semid_ds", ["sys/sem.h"], 104, {
  sem_perm: 0,
  sem_otime: 48,
  sem_ctime: 64,
  sem_nsems: 80,
});

/**
 * glibc's `sem_t` (semaphore.h), opaque here: on 64-bit glibc ≥ 2.21 a 64-bit word (the
 * value in the low half, the number of waiters in the high half), then `private`.
 */
export const semT = layout("sem_t", ["semaphore.h"], 32, {});

/** `pthread_mutex_t` (pthread.h), opaque: the C library's own layout (RobustMutex). */
export const pthreadMutex = layout("pthread_mutex_t", ["pthread.h"], 40, {});

/** `pthread_mutexattr_t` (pthread.h), opaque. */
export const pthreadMutexattr = layout("pthread_mutexattr_t", ["pthread.h"], 4, {});

/** Every layout, for the layout test. */
export const layouts: readonly Layout[] = [
  pthreadMutex,
  pthreadMutexattr,
  timespec,
  iovec,
  pollfd,
  statx,
  siginfo,
  sigset,
  ipcPerm,
  sigaction,
  spawnFileActions,
  spawnAttr,
  uringParams,
  sqringOffsets,
  cqringOffsets,
  uringSqe,
  uringCqe,
  uringProbe,
  uringProbeOp,
  shmidDs,
  // uds
  sockaddrUn,
  msghdr,
  cmsghdr,
  ucred,
  timeval,
  // mq
  mqAttr,
  msqidDs,
  msginfo,
  rlimit,
  sigevent,
  itimerspec,
  sembuf,
  semidDs,
  semT,
];

/**
 * Constants of the C library and the kernel, per OS and CPU. Linux values come from the
 * kernel's uapi headers and are checked against a C program by `tests/ffi_layout_test.ts`.
 *
 * @module
 */
import { arch, platform } from "node:process";

/** Linux values; the same on every CPU sysipc supports except where an override says. */
export const linux = {
  O_RDONLY: 0,
  O_ACCMODE: 3,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
  O_DIRECT: 0o40000, // x86_64; see the aarch64 override
  AT_FDCWD: -100,
  AT_EMPTY_PATH: 0x1000,
  F_DUPFD_CLOEXEC: 1030,
  F_GETFD: 1,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  FD_CLOEXEC: 1,
  F_SETPIPE_SZ: 1031,
  F_GETPIPE_SZ: 1032,
  RWF_NOWAIT: 0x8,
  POLLIN: 0x1,
  POLLPRI: 0x2,
  POLLOUT: 0x4,
  POLLERR: 0x8,
  POLLHUP: 0x10,
  POLLNVAL: 0x20,
  S_IFMT: 0o170000,
  S_IFIFO: 0o10000,
  S_IFREG: 0o100000,
  S_IFDIR: 0o40000,
  S_IFCHR: 0o20000,
  S_IFBLK: 0o60000,
  S_IFSOCK: 0o140000,
  S_IFLNK: 0o120000,
  STATX_TYPE: 0x1,
  STATX_MODE: 0x2,
  STATX_INO: 0x100,
  AT_STATX_SYNC_AS_STAT: 0,
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 1,
  MAP_POPULATE: 0x8000,
  P_PID: 1,
  P_PIDFD: 3,
  WNOHANG: 1,
  WEXITED: 4,
  WNOWAIT: 0x1000000,
  X_OK: 1,
  CLD_EXITED: 1,
  CLD_KILLED: 2,
  CLD_DUMPED: 3,
  POSIX_SPAWN_SETSIGDEF: 0x04,
  POSIX_SPAWN_SETSIGMASK: 0x08,
  SYS_eventfd2: 290,
  SYS_io_uring_setup: 425,
  SYS_io_uring_enter: 426,
  SYS_io_uring_register: 427,
  SYS_pidfd_send_signal: 424,
  SYS_pidfd_open: 434,
  SA_RESTART: 0x10000000,
  SIG_UNBLOCK: 1,
  SYS_gettid: 186,
  SYS_tgkill: 234,
  SIGRTMIN: 34,
  SIGRTMAX: 64,
  PIPE_BUF: 4096,
  // System V IPC (sys/ipc.h).
  IPC_PRIVATE: 0,
  IPC_CREAT: 0o1000,
  IPC_EXCL: 0o2000,
  IPC_NOWAIT: 0o4000,
  IPC_RMID: 0,
  IPC_SET: 1,
  IPC_STAT: 2,
  // io_uring (linux/io_uring.h), for the wait engine.
  IORING_OP_POLL_ADD: 6,
  IORING_OP_ASYNC_CANCEL: 14,
  IORING_OP_OPENAT: 18,
  IORING_OP_WRITE: 23,
  IOSQE_FIXED_FILE: 1 << 0,
  IOSQE_IO_HARDLINK: 1 << 3,
  IOSQE_ASYNC: 1 << 4,
  IOSQE_CQE_SKIP_SUCCESS: 1 << 6,
  IORING_FEAT_SINGLE_MMAP: 1 << 0,
  IORING_FEAT_CQE_SKIP: 1 << 11,
  IORING_SETUP_CQSIZE: 1 << 3,
  IORING_SETUP_CLAMP: 1 << 4,
  IORING_ENTER_GETEVENTS: 1 << 0,
  IORING_SQ_CQ_OVERFLOW: 1 << 1,
  IORING_OFF_SQ_RING: 0,
  IORING_OFF_CQ_RING: 0x8000000,
  IORING_OFF_SQES: 0x10000000,
  IORING_REGISTER_FILES: 2,
  IORING_UNREGISTER_FILES: 3,
  IORING_REGISTER_PROBE: 8,
  IO_URING_OP_SUPPORTED: 1,
  IORING_OP_FUTEX_WAIT: 51, // Linux 6.7
  FUTEX2_SIZE_U32: 0x02, // Linux 6.7
  // futex (linux/futex.h), for waits on words in shared memory.
  SYS_futex: 202,
  FUTEX_WAIT: 0,
  FUTEX_WAKE: 1,
  FUTEX_BITSET_MATCH_ANY: 0xffffffff,
  // shm: System V attach flags (sys/shm.h), memfd and its seals (sys/mman.h, fcntl.h), msync.
  SHM_RDONLY: 0o10000,
  STATX_SIZE: 0x200,
  MAP_PRIVATE: 2,
  MS_ASYNC: 1,
  MS_SYNC: 4,
  MFD_CLOEXEC: 1,
  MFD_ALLOW_SEALING: 2,
  F_ADD_SEALS: 1033,
  F_GET_SEALS: 1034,
  F_SEAL_SEAL: 1,
  F_SEAL_SHRINK: 2,
  F_SEAL_GROW: 4,
  F_SEAL_WRITE: 8,
  F_SEAL_FUTURE_WRITE: 16,
};

const linuxAarch64: Partial<typeof linux> = { O_DIRECT: 0o200000 };

/** The constants of the platform sysipc runs on. */
export type Constants = typeof linux;

function pick(): Constants {
  if (platform !== "linux") {
    throw new Error(`sysipc supports Linux only for now (this is ${platform})`);
  }
  return arch === "arm64" ? { ...linux, ...linuxAarch64 } : linux;
}

/** The constants for this OS and CPU. */
export const C: Constants = pick();

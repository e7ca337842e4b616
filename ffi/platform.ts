/**
 * What the platform sysipc runs on offers, for code that must adapt rather than fail.
 *
 * @module
 */
import { arch } from "node:process";
import { C } from "./constants.ts";
import { libc, libcPath } from "./libc.ts";
import { runtime } from "./runtime.ts";
import { semT } from "./structs.ts";
import { type EngineKind, waitEngine } from "./wait/mod.ts";

/** Facts about this platform, and which behaviours depend on it. */
export interface Platform {
  /** Always `"linux"` for now (elsewhere importing sysipc throws). */
  readonly os: "linux";
  /** The CPU: `"x64"` or `"arm64"`. */
  readonly arch: string;
  /** The runtime: `"deno"` or `"bun"`. */
  readonly runtime: "deno" | "bun";
  /** The C library that was opened, such as `"libc.so.6"`. */
  readonly libc: string;
  /** Which backend serves async waits (decided at first use). */
  readonly waitEngine: EngineKind;
  /**
   * Whether an async FIFO reader open waits for a writer, as in C. With the `"poll"`
   * backend it opens at once (Linux cannot tell whether a writer is there); reads then
   * wait for data, and end of stream comes once a writer came and left.
   */
  readonly fifoReaderWaitsForWriter: boolean;
  /**
   * The largest shared memory mapping sysipc can hand out as one `ArrayBuffer`: 2^53 − 1
   * bytes on Deno, 2^32 (4 GiB) on Bun.
   */
  readonly maxMapping: number;
  /**
   * Whether `SignalReceiver` can receive signals here: it installs a small signal handler
   * written in x86_64 machine code, so this is `false` on other CPUs (it then throws
   * `ENOTSUP`). Sending works everywhere.
   */
  readonly signalReceiver: boolean;
  /**
   * Whether the kernel has pidfds (`pidfd_open`, Linux 5.3): `PidFd` and `spawn` need them.
   */
  readonly pidfd: boolean;
  /**
   * How an async wait on a POSIX named semaphore parks. `"futex"`: it follows the C
   * library's own `sem_t` protocol (a futex word with a waiter count, glibc ≥ 2.21 on
   * 64-bit CPUs, confirmed by a probe at first use), so a `sem_post` from any process wakes
   * it at once. `"poll"` (other C libraries, 32-bit CPUs): it retries `sem_trywait` on the
   * poll set's timer, which backs off to 16 ms, so a post is noticed up to 16 ms late.
   */
  readonly semaphoreWait: "futex" | "poll";
}

let pidfds: boolean | undefined;

function hasPidfd(): boolean {
  if (pidfds === undefined) {
    const fd = libc.syscall(C.SYS_pidfd_open, libc.getpid(), 0, 0, 0, 0, 0);
    if (fd >= 0) libc.close(fd);
    pidfds = fd >= 0;
  }
  return pidfds;
}

/**
 * Facts about this platform.
 *
 * @example
 * ```ts
 * import { platform } from "@sysipc/sysipc";
 * if (platform.waitEngine === "poll") console.warn("io_uring is unavailable: async waits poll");
 * ```
 */
export const platform: Platform = {
  os: "linux",
  arch,
  runtime: runtime.name,
  libc: libcPath,
  get waitEngine() {
    return waitEngine();
  },
  get fifoReaderWaitsForWriter() {
    return waitEngine() === "io_uring";
  },
  maxMapping: runtime.maxMemory,
  signalReceiver: arch === "x64",
  get pidfd() {
    return hasPidfd();
  },
  get semaphoreWait() {
    return glibcSemaphores() ? "futex" : "poll";
  },
};

let semaphoreProbe: boolean | undefined;

/**
 * Whether POSIX semaphores here are glibc's 64-bit `sem_t`: `{ u64 value | nwaiters << 32;
 * int private; … }`, where `sem_post` wakes the futex on the value word only when
 * `nwaiters` is above 0 (glibc ≥ 2.21 on 64-bit CPUs). Checked once: the C library's name
 * and version, the CPU, and a probe that drives a `sem_t` in private memory and reads
 * the word after each step.
 *
 * @returns `true` when the protocol can be followed.
 */
export function glibcSemaphores(): boolean {
  if (semaphoreProbe !== undefined) return semaphoreProbe;
  semaphoreProbe = false;
  const version = libc.gnu_get_libc_version?.();
  if (version === undefined || version === 0n || (arch !== "x64" && arch !== "arm64")) {
    return false;
  }
  const [major = 0, minor = 0] = runtime.cstring(version).split(".").map(Number);
  if (major < 2 || (major === 2 && minor < 21)) return false;
  const probe = new Uint8Array(new ArrayBuffer(semT.size));
  const word = new BigUint64Array(probe.buffer, 0, 1);
  const shared = new Int32Array(probe.buffer, 8, 1);
  if (libc.sem_init(probe, 1, 7) !== 0 || word[0] !== 7n || shared[0] !== 128) return false;
  word[0] = (1n << 32n) | 7n; // one waiter: sem_post must keep it, and add to the value
  if (libc.sem_post(probe) !== 0 || word[0] !== ((1n << 32n) | 8n)) return false;
  if (libc.sem_trywait(probe) !== 0 || word[0] !== ((1n << 32n) | 7n)) return false;
  return semaphoreProbe = true;
}

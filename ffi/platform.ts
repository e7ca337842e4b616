/**
 * What the platform sysipc runs on offers, for code that must adapt rather than fail.
 *
 * @module
 */
import { arch } from "node:process";
import { C } from "./constants.ts";
import { libc, libcPath } from "./libc.ts";
import { runtime } from "./runtime.ts";
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
};

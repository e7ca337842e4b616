/**
 * sysipc: Unix inter-process communication for Deno and Bun, calling libc directly
 * through each runtime's FFI.
 *
 * Available so far: anonymous pipes and `spawn` (`./pipe`), named pipes (`./fifo`),
 * shared memory and a shared-memory message channel (`./shm`), signal names and signals
 * (`./signal`), Unix domain sockets (`./uds`), POSIX and System V message queues (`./mq`),
 * semaphores and eventfd (`./sem`), a message port between processes (`./port`), and the
 * raw layer (`./ffi`).
 *
 * @example A pipe to a child process
 * ```ts
 * import { pipe, spawn } from "@sysipc/sysipc";
 * const [reader, writer] = pipe();
 * const child = spawn("cat", [], { stdin: reader });
 * reader.close();
 * await writer.write("hello\n");
 * writer.close();
 * await child.status;
 * ```
 *
 * @module
 */
export * from "./pipe/mod.ts";
export {
  type FifoOpenOptions,
  type FifoReaderOptions,
  mkfifo,
  type MkfifoOptions,
  openFifoReader,
  openFifoReaderSync,
  openFifoWriter,
  openFifoWriterSync,
} from "./fifo/mod.ts";
export * from "./shm/mod.ts";
export * from "./signal/mod.ts";
export * from "./uds/mod.ts";
export * from "./mq/mod.ts";
export {
  EventFd,
  type EventFdOptions,
  MutexGuard,
  Permit,
  RobustMutex,
  Semaphore,
  type SemaphoreOpenOptions,
  type SemaphoreOperation,
  SysVSemaphoreSet,
  type SysVSemaphoreSetOptions,
  type SysVSemaphoreSetStat,
} from "./sem/mod.ts";
export * from "./port/mod.ts";
export { IpcError } from "./ffi/errors.ts";
export { type EngineKind, waitEngine, type WaitOptions } from "./ffi/wait/mod.ts";
export { type Platform, platform } from "./ffi/platform.ts";

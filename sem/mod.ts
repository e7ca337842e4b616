/**
 * Semaphores between processes: POSIX named semaphores ({@linkcode Semaphore}, with
 * {@linkcode Permit}s that `using` releases), System V semaphore sets
 * ({@linkcode SysVSemaphoreSet}: several counters changed atomically, `SEM_UNDO`,
 * wait-for-zero) and {@linkcode EventFd} (a kernel counter behind a descriptor).
 *
 * Every wait comes as an async form that never blocks the event loop, a sync form that
 * blocks the calling thread, and a `try` form that never waits; each takes
 * `{ timeout, signal }`.
 *
 * @example A lock shared by processes, released when the block ends
 * ```ts
 * import { Semaphore } from "@sysipc/sysipc/sem";
 * const name = `/example-lock-${Date.now()}`;
 * using lock = Semaphore.open(name, { create: true, value: 1 });
 * {
 *   using _permit = await lock.acquire({ timeout: 5000 });
 *   // … one process at a time …
 * }
 * lock.unlink();
 * ```
 *
 * @module
 */
export { Permit, Semaphore, type SemaphoreOpenOptions } from "./semaphore.ts";
export {
  type SemaphoreOperation,
  SysVSemaphoreSet,
  type SysVSemaphoreSetOptions,
  type SysVSemaphoreSetStat,
} from "./sysv_semaphore_set.ts";
export { EventFd, type EventFdOptions } from "./eventfd.ts";
export { MutexGuard, RobustMutex } from "./robust_mutex.ts";
export { type CreateOptions, ftok, type IpcPerm, type SysVKey } from "../ffi/ipc.ts";

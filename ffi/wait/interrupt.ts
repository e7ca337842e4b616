/**
 * Sync calls with a timeout for blocking calls that take none (System V `msgsnd` and
 * `msgrcv`): a timer interrupts them. A POSIX timer on the monotonic clock sends the
 * calling thread `CANCEL_SIGNAL`, whose handler sysipc installs as a no-op (see
 * `./offload.ts`), when the time is up, and again every 2 ms until the call is over: a
 * signal that lands just before the call starts is followed by one that interrupts it.
 * System V calls are never restarted after a handler (signal(7)); they return `EINTR`, and
 * the monotonic deadline decides between making the call again (the `EINTR` came from an
 * io_uring completion or another signal) and timing out.
 *
 * The calling thread must not block `CANCEL_SIGNAL`: sysipc owns that signal, and
 * unblocks it in the thread before each such call (as its helper threads do).
 *
 * @module
 */
import { C } from "../constants.ts";
import { IpcError } from "../errors.ts";
import { EINTR, errno, libc } from "../libc.ts";
import { itimerspec, sigevent, sigset, timespec } from "../structs.ts";
import { installHandler } from "./offload.ts";
import { CANCEL_SIGNAL } from "./offload_layout.ts";
import { checkTimeout } from "./options.ts";

/** How often the timer fires again once the time is up, until the call returns. */
const REFIRE_MS = 2;

const event = new DataView(new ArrayBuffer(sigevent.size));
const timerId = new DataView(new ArrayBuffer(8));
const spec = new DataView(new ArrayBuffer(itimerspec.size));
const signalSet = new Uint8Array(new ArrayBuffer(sigset.size));
signalSet[(CANCEL_SIGNAL - 1) >> 3]! |= 1 << ((CANCEL_SIGNAL - 1) & 7);

/** Writes a duration in milliseconds as a `struct timespec` at `offset`. */
function setDuration(view: DataView, offset: number, ms: number): void {
  const ns = Math.max(1, Math.round((ms % 1000) * 1e6));
  view.setBigInt64(offset + timespec.offsets.tv_sec, BigInt(Math.floor(ms / 1000)), true);
  view.setBigInt64(offset + timespec.offsets.tv_nsec, BigInt(Math.min(ns, 999_999_999)), true);
}

/**
 * Runs a blocking C call that has no timeout of its own, and gives up when `timeout`
 * milliseconds (monotonic clock) have passed: a timer signal interrupts the call. `EINTR`
 * before the deadline runs the call again. Only for calls that the kernel never restarts
 * after a signal handler (signal(7): `msgrcv`, `msgsnd`, `semop`, `sem_wait`, `poll`, …):
 * sysipc's handler is `SA_RESTART`, so a blocking `read` of a pipe or socket is restarted
 * and never gives up.
 *
 * @example A System V receive that gives up after 50 ms
 * ```ts
 * import { libc, retryWithTimer } from "@sysipc/sysipc/ffi";
 * const id = libc.msgget(0, 0o1600); // IPC_PRIVATE, IPC_CREAT | 0600
 * const message = new Uint8Array(new ArrayBuffer(8 + 64)); // long type, then the text
 * try {
 *   retryWithTimer(() => libc.msgrcv(id, message, 64, 0n, 0), 50, "msgrcv");
 * } catch (e) {
 *   console.log((e as { code?: string }).code); // "ETIMEDOUT": the queue stayed empty
 * }
 * libc.msgctl(id, 0, null); // IPC_RMID
 * ```
 *
 * @param call Makes the blocking call; returns -1 with errno set on failure.
 * @param timeout Milliseconds, > 0 and finite.
 * @param syscall The call's name, for errors.
 * @param path The path or name the call is about, if any.
 * @returns What the call returned.
 * @throws {IpcError} `ETIMEDOUT` when the time is up; the call's errno for any failure
 *   other than `EINTR`; the timer's errno if no timer can be made (`EAGAIN`).
 */
export function retryWithTimer(
  call: () => number,
  timeout: number,
  syscall: string,
  path?: string,
): number {
  checkTimeout(timeout);
  if (!(timeout > 0 && timeout < Infinity)) {
    throw new RangeError(`timeout must be > 0 and finite, got ${timeout}`);
  }
  const deadline = performance.now() + timeout;
  installHandler();
  libc.pthread_sigmask(C.SIG_UNBLOCK, signalSet, null);
  event.setInt32(sigevent.offsets.sigev_signo, CANCEL_SIGNAL, true);
  event.setInt32(sigevent.offsets.sigev_notify, C.SIGEV_THREAD_ID, true);
  event.setInt32(sigevent.offsets._sigev_un, libc.syscall(C.SYS_gettid, 0, 0, 0, 0, 0, 0), true);
  if (libc.timer_create(C.CLOCK_MONOTONIC, event, timerId) !== 0) {
    throw new IpcError({ errno: errno(), syscall: "timer_create" });
  }
  const timer = timerId.getBigUint64(0, true);
  try {
    setDuration(spec, itimerspec.offsets.it_interval, REFIRE_MS);
    setDuration(spec, itimerspec.offsets.it_value, timeout);
    if (libc.timer_settime(timer, 0, spec, null) !== 0) {
      throw new IpcError({ errno: errno(), syscall: "timer_settime" });
    }
    while (true) {
      const result = call();
      if (result !== -1) return result;
      const e = errno();
      if (e !== EINTR) throw new IpcError({ errno: e, syscall, path });
      if (performance.now() >= deadline) {
        throw IpcError.of("ETIMEDOUT", syscall, path, "Timed out");
      }
    }
  } finally {
    // Also disarms it; a signal still pending runs the no-op handler.
    libc.timer_delete(timer);
  }
}

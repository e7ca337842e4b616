/**
 * What every wait accepts (`timeout`, `signal`), checked in one place, and deadlines: the
 * time left of an operation that waits several times, and the retry rule for blocking
 * calls that `EINTR` cuts short.
 *
 * @module
 */
import { IpcError } from "../errors.ts";
import { EINTR, errno } from "../libc.ts";

/** Options every operation that can block accepts. */
export interface WaitOptions {
  /**
   * Milliseconds to wait at most: `undefined` waits forever, `0` tries once, `> 0` waits
   * at most that long (monotonic clock).
   */
  timeout?: number;
  /** Cancels the wait; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Checks wait options before any system call; an already-aborted `signal` throws its
 * reason, so an aborted operation does nothing even when it could complete at once.
 *
 * @param options The options to check.
 * @throws {TypeError} When `signal` is not an `AbortSignal` or `timeout` is not a number.
 * @throws {RangeError} When `timeout` is negative or NaN.
 */
export function checkWaitOptions(options: WaitOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  const { timeout, signal } = options;
  if (timeout !== undefined) checkTimeout(timeout);
  if (signal !== undefined) {
    if (!(signal instanceof AbortSignal)) throw new TypeError("signal must be an AbortSignal");
    signal.throwIfAborted();
  }
}

/**
 * Checks a timeout in milliseconds.
 *
 * @param timeout The value.
 * @throws {TypeError} When it is not a number.
 * @throws {RangeError} When it is negative or NaN.
 */
export function checkTimeout(timeout: unknown): void {
  if (typeof timeout !== "number") {
    throw new TypeError(`timeout must be a number of milliseconds, got ${typeof timeout}`);
  }
  if (!(timeout >= 0)) throw new RangeError(`timeout must be >= 0 milliseconds, got ${timeout}`);
}

/**
 * The monotonic time by which an operation must be done.
 *
 * @param options The operation's options.
 * @returns `performance.now()` plus the timeout, or `Infinity` without one.
 */
export function deadlineOf(options: WaitOptions | undefined): number {
  const timeout = options?.timeout;
  return timeout === undefined ? Infinity : performance.now() + timeout;
}

/**
 * The options for the next wait of an operation that may wait several times (a large
 * write, a read that lost a race): the same signal, and whatever is left of the timeout.
 *
 * @param options The operation's options.
 * @param deadline From {@linkcode deadlineOf}, taken when the operation started.
 * @returns Options for the next wait.
 */
export function remaining(
  options: WaitOptions | undefined,
  deadline: number,
): WaitOptions | undefined {
  if (deadline === Infinity) return options;
  return { signal: options?.signal, timeout: Math.max(0, deadline - performance.now()) };
}

/**
 * Runs a blocking C call that takes a timeout, and runs it again when `EINTR` cuts it
 * short, with the time that is left, from one monotonic deadline. Every sync form with a
 * timeout goes through this: besides signals, io_uring completions for pending async
 * waits run as task work on the thread that submitted them and interrupt its blocking
 * calls (measured here: a 1 s `semtimedop` returned `EINTR` after 100–170 ms).
 *
 * @example
 * ```ts
 * import { libc, retryWithDeadline } from "@sysipc/sysipc/ffi";
 * // A blocking call of your own, retried with the time left when a signal interrupts it.
 * const r = retryWithDeadline(() => libc.getpid(), 1000, "getpid");
 * console.log(r > 0); // true
 * ```
 *
 * @param call Makes the call with the milliseconds left (`undefined`: no timeout; `0`:
 *   try once); returns -1 with errno set on failure.
 * @param timeout The caller's timeout in milliseconds, or `undefined`.
 * @param syscall The call's name, for errors.
 * @param path The path or name the call is about, if any.
 * @returns What the call returned.
 * @throws {IpcError} With the call's errno, for any failure other than `EINTR`.
 */
export function retryWithDeadline(
  call: (left: number | undefined) => number,
  timeout: number | undefined,
  syscall: string,
  path?: string,
): number {
  if (timeout !== undefined) checkTimeout(timeout);
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
  while (true) {
    const left = deadline === Infinity ? undefined : Math.max(0, deadline - performance.now());
    const result = call(left);
    if (result !== -1) return result;
    const e = errno();
    if (e !== EINTR) throw new IpcError({ errno: e, syscall, path });
  }
}

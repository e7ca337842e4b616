/**
 * One wait's life: timeout, abort signal, cancellation by the handle's `close()`, and the
 * rule that a given-up wait rejects only once its backend operation is over, so nothing
 * is left pending in the kernel.
 *
 * @module
 */
import { setTimeout as setTimer } from "node:timers";
import { IpcError } from "../errors.ts";
import type { SpinState } from "./spin.ts";
import type { WaitOptions } from "./options.ts";

/** The pending waits of one handle, which `close()` cancels with an `EBADF` error. */
export type Owner = Set<(error: Error) => void>;

/** Describes a wait, for its errors and its bookkeeping. */
export interface WaitContext {
  /** The operation, as it appears in errors (`"read"`). */
  syscall: string;
  /** The path or name involved, if any. */
  path?: string;
  /** The handle's set of pending waits. */
  owner?: Owner;
  /** The handle's adaptive spin budget; `null` parks at once (long waits). */
  spin?: SpinState | null;
  /** Whether the pending wait keeps the process alive. Default `true`. */
  ref?: boolean;
}

/** Cancels a backend operation, then calls `then` once the operation is over. */
export type Cancel = (then: () => void) => void;

const MAX_TIMER = 2 ** 31 - 1;

/**
 * Runs one wait: honours `timeout` and `signal`, registers with the owner, and settles
 * once. `start` begins the backend's operation, calls `settle` or `fail` when it ends
 * (possibly synchronously), and returns how to cancel it; if `start` throws, the wait
 * rejects with that error.
 *
 * @param options Timeout and abort signal.
 * @param context Names the operation; the owner cancels it on close.
 * @param start Begins the operation.
 * @returns The operation's result.
 */
export function track<T>(
  options: WaitOptions | undefined,
  context: WaitContext,
  start: (settle: (value: T) => void, fail: (error: unknown) => void) => Cancel,
): Promise<T> {
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let timer: ReturnType<typeof setTimer> | undefined;
    let cancel: Cancel = (then) => then();
    const finish = () => {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      context.owner?.delete(giveUp);
    };
    const giveUp = (error: unknown) => {
      if (done) return;
      finish();
      cancel(() => reject(error));
    };
    const onAbort = () => giveUp(signal!.reason);
    const settle = (value: T) => {
      if (done) return;
      finish();
      resolve(value);
    };
    const fail = (error: unknown) => {
      if (done) return;
      finish();
      reject(error);
    };
    try {
      cancel = start(settle, fail);
    } catch (e) {
      fail(e);
    }
    if (done) return;
    const timeout = options?.timeout;
    if (timeout !== undefined && timeout !== Infinity) {
      const deadline = performance.now() + timeout;
      const arm = (ms: number) => {
        timer = setTimer(() => {
          const left = deadline - performance.now();
          if (left > 0) return arm(left);
          giveUp(IpcError.of("ETIMEDOUT", context.syscall, context.path, "Timed out"));
        }, Math.min(Math.ceil(ms), MAX_TIMER));
        if (context.ref === false) timer.unref();
      };
      arm(timeout);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    context.owner?.add(giveUp);
  });
}

/**
 * Cancels every pending wait of a handle; call before closing its fd.
 *
 * @param owner The handle's pending waits.
 * @param error What the waits reject with.
 */
export function cancelAll(owner: Owner, error: Error): void {
  for (const giveUp of [...owner]) giveUp(error);
}

/**
 * The shape of every async operation on a descriptor: a non-blocking attempt, and when it
 * would block, a wait for readiness in the wait engine, then another attempt; the handle's
 * `close()` during the wait ends it with `EBADF`.
 *
 * @module
 */
import { IpcError } from "./errors.ts";
import {
  attemptNow,
  AttemptWait,
  sharedSpin,
  type WaitContext,
  waitFd,
  type WaitOptions,
} from "./wait/mod.ts";

/** What an async operation needs to know about its handle. */
export interface ReadyTarget {
  /** The descriptor to wait on. */
  readonly fd: number;
  /** Names the operation; the owner cancels its waits on close. */
  readonly context: WaitContext;
  /** The error to end with when the handle was closed during a wait, else `undefined`. */
  closed(): Error | undefined;
}

/** Each target's reusable wait, made by {@linkcode untilReady} on the target's first wait. */
const waiters = new WeakMap<ReadyTarget, AttemptWait>();

/**
 * A wait until `target.fd` is ready for `events`, that fails once the handle is closed.
 *
 * @param target The handle's descriptor, context and closed check.
 * @param events The poll events (`POLLIN`, `POLLOUT`).
 * @returns The wait, taking the options (what is left of the timeout) for this wait.
 */
export function readiness(
  target: ReadyTarget,
  events: number,
): (options: WaitOptions | undefined) => Promise<void> {
  return async (options) => {
    await waitFd(target.fd, events, options, target.context);
    const error = target.closed();
    if (error !== undefined) throw error;
  };
}

/**
 * Runs `attempt(arg)` until it gives a result, waiting for `events` between tries; the
 * timeout covers the whole operation. While the wait spins, the engine makes the attempts
 * itself, one system call per event-loop turn (see {@linkcode AttemptWait}). Pass a
 * function made once per handle and the call's own data as `arg`: then an operation that
 * waits allocates only its promise.
 *
 * @param target The handle's descriptor, context and closed check.
 * @param events The poll events to wait for.
 * @param options `timeout` (0: one attempt) and `signal`.
 * @param attempt A non-blocking try: the result, or `undefined` when it would block.
 * @param arg What `attempt` is called with.
 * @returns The first result. Never throws: every error rejects.
 * @throws {IpcError} (as rejections) `EAGAIN` when `timeout` is 0 and the attempt would
 *   block, `ETIMEDOUT`, `EBADF` when the handle is closed meanwhile, and what `attempt`
 *   throws.
 */
export function untilReady<T, A = undefined>(
  target: ReadyTarget,
  events: number,
  options: WaitOptions | undefined,
  attempt: (arg: A) => T | undefined,
  arg?: A,
): Promise<T> {
  const spin = target.context.spin === undefined ? sharedSpin : target.context.spin;
  let result: T | undefined;
  try {
    result = attemptNow(attempt, arg as A, spin, options);
  } catch (e) {
    return Promise.reject(e);
  }
  if (result !== undefined) return Promise.resolve(result);
  if (options?.timeout === 0) {
    return Promise.reject(IpcError.of("EAGAIN", target.context.syscall, target.context.path));
  }
  let waiter = waiters.get(target);
  if (waiter === undefined || waiter.busy) {
    const fresh = new AttemptWait(target.context, () => target.closed());
    if (waiter === undefined) waiters.set(target, fresh);
    waiter = fresh;
  }
  return waiter.run(target.fd, events, options, attempt, arg as A);
}

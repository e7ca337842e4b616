/**
 * The shape of every async operation on a descriptor: a non-blocking attempt, and when it
 * would block, a wait for readiness in the wait engine, then another attempt; the handle's
 * `close()` during the wait ends it with `EBADF`.
 *
 * @module
 */
import { IpcError } from "./errors.ts";
import {
  deadlineOf,
  remaining,
  type WaitContext,
  waitFd,
  waitFdAttempt,
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
 * Runs `attempt` until it gives a result, waiting for `events` between tries; the timeout
 * covers the whole operation. While the wait spins, the engine makes the attempts itself
 * (`waitFdAttempt`), one system call per event-loop turn.
 *
 * @param target The handle's descriptor, context and closed check.
 * @param events The poll events to wait for.
 * @param options `timeout` (0: one attempt) and `signal`.
 * @param attempt A non-blocking try: the result, or `undefined` when it would block.
 * @returns The first result.
 * @throws {IpcError} `EAGAIN` when `timeout` is 0 and the attempt would block, `ETIMEDOUT`,
 *   `EBADF` when the handle is closed meanwhile, and what `attempt` throws.
 */
export async function untilReady<T>(
  target: ReadyTarget,
  events: number,
  options: WaitOptions | undefined,
  attempt: () => T | undefined,
): Promise<T> {
  const deadline = deadlineOf(options);
  for (let waits = 0;; waits++) {
    const result = attempt();
    if (result !== undefined) return result;
    if (options?.timeout === 0) {
      throw IpcError.of("EAGAIN", target.context.syscall, target.context.path);
    }
    const left = waits === 0 ? options : remaining(options, deadline);
    const got = await waitFdAttempt(target.fd, events, attempt, left, target.context);
    const error = target.closed();
    if (error !== undefined) throw error;
    if (got !== undefined) return got;
  }
}

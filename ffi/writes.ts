/**
 * What every handle that writes bytes shares: a queue so that concurrent async writes on
 * one handle never mix their bytes, and the rule for a write that fails part way (the
 * error says how much went through).
 *
 * @module
 */
import { IpcError } from "./errors.ts";
import { type Cancel, track, type WaitContext } from "./wait/track.ts";
import { deadlineOf, remaining, type WaitOptions } from "./wait/options.ts";

/** Runs the async writes of one handle one after another. */
export class WriteQueue {
  /** Settles when every write so far is over; `null` when none is in flight. */
  #tail: Promise<void> | null = null;
  /** Writes in flight, queued ones included. */
  #active = 0;

  /** Whether an async write is in flight or queued (a sync write now would mix). */
  get busy(): boolean {
    return this.#active > 0;
  }

  /**
   * Runs `body` once every write queued before it is over. The wait in the queue honours
   * the write's own `timeout` and `signal`.
   *
   * @param options The write's options.
   * @param context Names the write in errors; the owner cancels it on close.
   * @param body The write.
   * @returns What `body` returns.
   */
  async run<T>(
    options: WaitOptions | undefined,
    context: WaitContext,
    body: () => Promise<T>,
  ): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    const over = new Promise<void>((resolve) => release = resolve);
    this.#tail = previous === null ? over : previous.then(() => over);
    this.#active++;
    try {
      if (previous !== null) {
        await track<void>(options, context, (settle): Cancel => {
          void previous.then(settle);
          return (then) => then();
        });
      }
      return await body();
    } finally {
      release();
      if (--this.#active === 0) this.#tail = null;
    }
  }
}

/**
 * Marks an error that ended a write after `done` of `total` bytes went through, so that
 * nothing is lost without the caller knowing: an `IpcError` gets `bytesWritten` and says
 * so in its message; anything else (an abort's reason) becomes an `ECANCELED` `IpcError`
 * with the reason as `cause`.
 *
 * @param error What ended the write.
 * @param done Bytes written before it.
 * @param total Bytes the write had.
 * @param syscall The operation, for a new error.
 * @returns The error to throw.
 */
export function partialWriteError(
  error: unknown,
  done: number,
  total: number,
  syscall: string,
): unknown {
  if (done === 0) return error;
  const of = `after ${done} of ${total} bytes were written`;
  if (error instanceof IpcError) {
    error.bytesWritten = done;
    error.message += ` (${of})`;
    return error;
  }
  const aborted = IpcError.of("ECANCELED", syscall, undefined, `Aborted ${of}`);
  aborted.bytesWritten = done;
  (aborted as { cause?: unknown }).cause = error;
  return aborted;
}

/**
 * Writes all of `bytes` with non-blocking attempts, waiting for room between them.
 *
 * @param bytes The data.
 * @param options `timeout` (for the whole write) and `signal`.
 * @param attempt Writes from byte `offset` without blocking: the count written, or -1
 *   when it would block.
 * @param wait Waits until the handle may take more (with what is left of the timeout).
 * @param syscall The operation, for errors.
 * @param start Bytes already written by the caller's own first attempt.
 * @returns The bytes written: all of them (an empty write makes no attempt), or with
 *   `timeout: 0` what fitted (at least 1).
 * @throws {IpcError} `EAGAIN` when `timeout` is 0 and nothing fitted; the attempt's and the
 *   wait's errors, marked by {@linkcode partialWriteError} after a partial write.
 */
export async function writeAll(
  bytes: Uint8Array,
  options: WaitOptions | undefined,
  attempt: (offset: number) => number,
  wait: (options: WaitOptions | undefined) => Promise<unknown>,
  syscall: string,
  start = 0,
): Promise<number> {
  const deadline = deadlineOf(options);
  let done = start;
  try {
    while (done < bytes.length) {
      const n = attempt(done);
      if (n >= 0) {
        done += n;
        continue;
      }
      if (options?.timeout === 0) {
        if (done > 0) return done;
        throw IpcError.of("EAGAIN", syscall);
      }
      await wait(remaining(options, deadline));
    }
  } catch (e) {
    throw partialWriteError(e, done, bytes.length, syscall);
  }
  return done;
}

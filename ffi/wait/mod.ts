/**
 * The wait engine: the one way sysipc waits without blocking the event loop.
 *
 * Every async operation first tries its system call without blocking (`RWF_NOWAIT`, a
 * private `O_NONBLOCK` description, `IPC_NOWAIT`, …). Only when that would block does it
 * wait here, and the wait is for *readiness*: nothing is read or consumed on the caller's
 * behalf, so sync and async calls can be mixed on one handle, a descriptor can be handed
 * to a child at any time, and a cancelled wait leaves the kernel object exactly as it was.
 *
 * A wait first spins on event-loop turns (`./spin.ts`), then parks in one of two backends:
 * io_uring (`./ring.ts`), or the shared poll set (`./poll.ts`) where io_uring is
 * unavailable or `SYSIPC_WAIT_ENGINE=poll` is set in the environment. Timeouts, aborts and
 * closes are handled once for both (`./track.ts`); sync calls with a timeout retry `EINTR`
 * against one deadline (`./options.ts`), and those with no timeout of their own (System V
 * `msgrcv`) are interrupted by a timer signal (`./interrupt.ts`).
 *
 * @module
 */
import { C } from "../constants.ts";
import { IpcError } from "../errors.ts";
import { libc } from "../libc.ts";
import { runtime } from "../runtime.ts";
import { uringSqe as SQE } from "../structs.ts";
import { startOp } from "./engine.ts";
import { pollFd, pollRetry, readyEvents } from "./poll.ts";
import { newSpinState, spinThenPark } from "./spin.ts";
import { type Cancel, track, type WaitContext } from "./track.ts";
import type { WaitOptions } from "./options.ts";

export {
  checkWaitOptions,
  deadlineOf,
  remaining,
  retryWithDeadline,
  type WaitOptions,
} from "./options.ts";
export { cancelAll, type Owner, type WaitContext } from "./track.ts";
export { newSpinState, setWaitSpin, type SpinState } from "./spin.ts";
export { readyEvents } from "./poll.ts";
export { type EngineKind, waitEngine } from "./engine.ts";
export { offload, type OffloadRequest, warmOffload } from "./offload.ts";
export { retryWithTimer } from "./interrupt.ts";
export {
  type FutexResult,
  futexWaitParks,
  type FutexWord,
  futexWord,
  waitFutex,
  waitFutexSync,
  wakeFutex,
} from "./futex.ts";

const sharedSpin = newSpinState();

/**
 * Waits until `fd` is ready for `events` (`POLLIN`, `POLLOUT`, …), without consuming
 * anything. Resolves with the ready events, which may include `POLLHUP`/`POLLERR`.
 *
 * @param fd The descriptor.
 * @param events The poll events to wait for.
 * @param options Timeout and abort signal.
 * @param context Names the operation in errors; the owner cancels on close.
 * @returns The poll events that became ready.
 */
export function waitFd(
  fd: number,
  events: number,
  options: WaitOptions | undefined,
  context: WaitContext,
): Promise<number> {
  const spin = context.spin === undefined ? sharedSpin : context.spin;
  return track<number>(
    options,
    context,
    (settle, fail) =>
      spinThenPark(
        () => readyEvents(fd, events) || undefined,
        spin,
        (parked) => parkOnFd(fd, events, context, parked, fail),
        settle,
        fail,
      ),
  );
}

/**
 * Parks a wait until `fd` is ready: an io_uring `POLL_ADD` on the ring, or the shared poll
 * set where no ring can serve it.
 *
 * @param fd The descriptor.
 * @param events The poll events to wait for.
 * @param context Names the operation in errors; `ref` says whether it keeps the process alive.
 * @param parked Receives the ready events.
 * @param fail Receives an error.
 * @returns How to cancel the wait.
 */
function parkOnFd(
  fd: number,
  events: number,
  context: WaitContext,
  parked: (revents: number) => void,
  fail: (error: unknown) => void,
): Cancel {
  const ref = context.ref !== false;
  return startOp({
    prep(s, o) {
      s.setUint8(o + SQE.offsets.opcode, C.IORING_OP_POLL_ADD);
      s.setInt32(o + SQE.offsets.fd, fd, true);
      s.setUint32(o + SQE.offsets.poll32_events, events, true);
      return 0;
    },
    settle(res) {
      if (res >= 0) parked(res);
      else fail(new IpcError({ errno: -res, syscall: context.syscall, path: context.path }));
    },
    fail,
    ref,
  }, () => pollFd(fd, events, ref, parked));
}

/** What a parked {@linkcode waitFdAttempt} gives back: "ready now, attempt again". */
const READY: unique symbol = Symbol("ready");

/**
 * Waits like {@linkcode waitFd}, but while it spins it makes the operation's own
 * non-blocking `attempt` each event-loop turn instead of polling the descriptor: the
 * result comes back on the turn the peer's data (or room) arrives, with one system call
 * per turn instead of a `poll` and then the attempt (measured on one shared CPU: the spin
 * turn is most of an async round trip). After it parks, it resolves with `undefined` once
 * the descriptor is ready, and the caller attempts again. `attempt` runs only while the
 * wait is pending, so a result is never taken for a wait that was given up.
 *
 * @param fd The descriptor.
 * @param events The poll events to wait for when parked.
 * @param attempt A non-blocking try: a result, or `undefined` when it would block; what it
 *   throws fails the wait.
 * @param options Timeout and abort signal.
 * @param context Names the operation in errors; the owner cancels on close.
 * @returns The attempt's result, or `undefined` after a parked wait.
 */
export function waitFdAttempt<T>(
  fd: number,
  events: number,
  attempt: () => T | undefined,
  options: WaitOptions | undefined,
  context: WaitContext,
): Promise<T | undefined> {
  const spin = context.spin === undefined ? sharedSpin : context.spin;
  return track<T | undefined>(
    options,
    context,
    (settle, fail) =>
      spinThenPark<T | typeof READY>(
        attempt,
        spin,
        (parked) => parkOnFd(fd, events, context, () => parked(READY), fail),
        (value) => settle(value === READY ? undefined : value),
        fail,
      ),
  );
}

/**
 * Retries `attempt` until it returns something other than `undefined`, on the shared poll
 * set's timer (backing off from 0 to 16 ms). The path for waits with nothing to poll.
 *
 * @param attempt A non-blocking try: a result, or `undefined` for "not yet".
 * @param options Timeout and abort signal.
 * @param context Names the operation in errors; the owner cancels on close.
 * @returns The first result.
 */
export function pollUntil<T>(
  attempt: () => T | undefined,
  options: WaitOptions | undefined,
  context: WaitContext,
): Promise<T> {
  return track<T>(
    options,
    context,
    (settle, fail) => pollRetry(attempt, context.ref !== false, settle, fail),
  );
}

/**
 * Opens a path with `openat(2)` performed by the kernel asynchronously, so that an open
 * that blocks (a FIFO waiting for its peer) does not block the event loop. Without
 * io_uring, `fallback` is retried on the polling backend instead.
 *
 * @param path The encoded path, over an `ArrayBuffer` of its own (kept alive until the
 *   kernel is done with it).
 * @param flags The open flags.
 * @param mode The creation mode.
 * @param fallback A non-blocking attempt for the polling backend.
 * @param options Timeout and abort signal.
 * @param context Names the operation in errors.
 * @returns The new fd; rejects with an {@linkcode IpcError} when the open fails.
 */
export function openAsync(
  path: Uint8Array,
  flags: number,
  mode: number,
  fallback: () => number | undefined,
  options: WaitOptions | undefined,
  context: WaitContext,
): Promise<number> {
  const address = BigInt(runtime.addressOf(path));
  const ref = context.ref !== false;
  return track<number>(options, context, (settle, fail) =>
    startOp({
      prep(s, o) {
        s.setUint8(o + SQE.offsets.opcode, C.IORING_OP_OPENAT);
        s.setInt32(o + SQE.offsets.fd, C.AT_FDCWD, true);
        s.setBigUint64(o + SQE.offsets.addr, address, true);
        s.setUint32(o + SQE.offsets.len, mode, true);
        s.setUint32(o + SQE.offsets.open_flags, flags, true);
        // Run in an io-wq worker from the start: the inline attempt would add O_NONBLOCK,
        // which opens a FIFO reader at once and fails a writer with ENXIO.
        return C.IOSQE_ASYNC;
      },
      settle(res) {
        void path; // keeps the bytes alive until the kernel is done with them
        if (res >= 0) settle(res);
        else fail(new IpcError({ errno: -res, syscall: context.syscall, path: context.path }));
      },
      fail,
      discard(fd) {
        libc.close(fd);
      },
      ref,
    }, () => pollRetry(fallback, ref, settle, fail)));
}

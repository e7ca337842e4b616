/**
 * The wait engine: the one way sysipc waits without blocking the event loop.
 *
 * Every async operation first tries its system call without blocking (`RWF_NOWAIT`, a
 * private `O_NONBLOCK` description, `IPC_NOWAIT`, …). Only when that would block does it
 * wait here, and the wait is for *readiness*: nothing is read or consumed on the caller's
 * behalf, so sync and async calls can be mixed on one handle, a descriptor can be handed
 * to a child at any time, and a cancelled wait leaves the kernel object exactly as it was.
 *
 * Before it waits, an operation yields the CPU once and attempts again if another thread
 * ran meanwhile (`attemptNow` in `./spin.ts`: on one shared CPU the peer answers during
 * the yield; a handle whose answers keep coming only then yields before its first attempt
 * too). A wait first spins on event-loop turns (`./spin.ts`), then parks in one of
 * two backends: io_uring (`./ring.ts`), or the shared poll set (`./poll.ts`) where io_uring is
 * unavailable or `SYSIPC_WAIT_ENGINE=poll` is set in the environment. Timeouts, aborts and
 * closes are handled once for both (`./track.ts`); sync calls with a timeout retry `EINTR`
 * against one deadline (`./options.ts`), and those with no timeout of their own (System V
 * `msgrcv`) are interrupted by a timer signal (`./interrupt.ts`).
 *
 * @module
 */
import { setTimeout as setTimer } from "node:timers";
import { C } from "../constants.ts";
import { IpcError } from "../errors.ts";
import { libc } from "../libc.ts";
import { runtime } from "../runtime.ts";
import { uringSqe as SQE } from "../structs.ts";
import { startOp } from "./engine.ts";
import { pollFd, pollRetry, readyEvents } from "./poll.ts";
import {
  adaptSpin,
  addSpinner,
  newSpinState,
  removeSpinner,
  spinBudget,
  type Spinner,
  type SpinState,
  spinThenPark,
} from "./spin.ts";
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
export { attemptNow, DONE, newSpinState, setWaitSpin, type SpinState } from "./spin.ts";
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

/** The spin state of waits whose context has none of its own. */
export const sharedSpin: SpinState = newSpinState();
const MAX_TIMER = 2 ** 31 - 1;

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
    restartable: true,
  }, () => pollFd(fd, events, ref, parked));
}

const ONCE = { once: true } as const;

/**
 * A reusable wait for an operation that attempts a non-blocking call until it gives a
 * result, waiting for its descriptor between attempts: the engine's form of every async
 * read, write, send, receive and accept (`ffi/ready.ts`). While it spins it makes the
 * operation's own attempt each event-loop turn instead of polling the descriptor, so the
 * result comes back on the turn the peer's data (or room) arrives, with one system call
 * per turn (measured on one shared CPU: the spin turn is most of an async round trip).
 * Once parked, a ready descriptor makes it attempt again, and spin and park again if the
 * attempt lost a race. The timeout covers the whole operation.
 *
 * A handle keeps one per operation and uses it for every call: its hooks (owner, abort,
 * timer, ring completion) are made once, so a wait allocates only its promise (hot paths
 * allocate nothing per message). A call while it is busy (two reads at once on one
 * handle) gets a fresh one.
 */
export class AttemptWait implements Spinner {
  /** Spinner: -1, the engine calls `probe`. */
  fd = -1;
  /** Spinner: unused. */
  events = 0;
  /** Spinner: when this spin phase ends. */
  until = 0;
  /** Whether a wait is in progress (or its cancellation is not over yet). */
  busy = false;
  #waitFd = -1;
  #events = 0;
  #context: WaitContext;
  #closed: () => Error | undefined;
  #attempt: ((arg: unknown) => unknown) | null = null;
  #arg: unknown = undefined;
  #resolve: ((value: unknown) => void) | null = null;
  #reject: ((error: unknown) => void) | null = null;
  #signal: AbortSignal | undefined = undefined;
  #timer: ReturnType<typeof setTimer> | undefined = undefined;
  #deadline = 0;
  #start = 0;
  #budget = 0;
  /** Cancels the parked backend wait; `null` while spinning or idle. */
  #stage: Cancel | null = null;
  #parks = 0;
  #error: unknown = undefined;
  readonly #executor = (resolve: (value: unknown) => void, reject: (error: unknown) => void) => {
    this.#resolve = resolve;
    this.#reject = reject;
  };
  readonly #giveUpHook = (error: unknown) => this.#giveUp(error);
  readonly #abortHook = () => this.#giveUp(this.#signal?.reason);
  readonly #timerHook = () => this.#onTimer();
  readonly #parkedHook = () => this.#parked();
  readonly #failHook = (error: unknown) => this.#fail(error);
  readonly #cancelledHook = () => this.#cancelled();

  /**
   * @param context Names the operation in errors; its owner cancels the wait on close;
   *   its spin state is the budget.
   * @param closed The error to end with when the handle was closed during a wait.
   */
  constructor(context: WaitContext, closed: () => Error | undefined) {
    this.#context = context;
    this.#closed = closed;
  }

  /**
   * Waits until `attempt(arg)` gives a result (anything but `undefined`). The caller's
   * own first attempt has already failed.
   *
   * @param fd The descriptor.
   * @param events The poll events to wait for when parked.
   * @param options Timeout and abort signal (checked by the caller).
   * @param attempt A non-blocking try; what it throws fails the wait.
   * @param arg What `attempt` is called with.
   * @returns The attempt's result.
   */
  run<A, T>(
    fd: number,
    events: number,
    options: WaitOptions | undefined,
    attempt: (arg: A) => T | undefined,
    arg: A,
  ): Promise<T> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.busy = true;
    this.#waitFd = fd;
    this.#events = events;
    this.#attempt = attempt as (arg: unknown) => unknown;
    this.#arg = arg;
    this.#error = undefined;
    const promise = new Promise(this.#executor) as Promise<T>;
    const timeout = options?.timeout;
    if (timeout !== undefined && timeout !== Infinity) {
      this.#deadline = performance.now() + timeout;
      this.#arm(timeout);
    }
    if (signal !== undefined) {
      this.#signal = signal;
      signal.addEventListener("abort", this.#abortHook, ONCE);
    }
    this.#context.owner?.add(this.#giveUpHook);
    this.#spinOrPark();
    return promise;
  }

  #spinOrPark(): void {
    const spin = this.#context.spin === undefined ? sharedSpin : this.#context.spin;
    this.#start = performance.now();
    this.#budget = spin === null ? 0 : spinBudget(spin);
    if (this.#budget <= 0) return this.#park();
    this.until = this.#start + this.#budget / 1000;
    addSpinner(this);
  }

  /** Spinner: one attempt. */
  probe(): unknown {
    return this.#attempt!(this.#arg);
  }

  /** Spinner: the attempt gave a result. */
  done(value: unknown): void {
    this.#settle(value);
  }

  /** Spinner: the budget ran out. */
  expire(): void {
    this.#park();
  }

  /** Spinner: the attempt threw. */
  fail(error: unknown): void {
    this.#fail(error);
  }

  #park(): void {
    const parks = ++this.#parks;
    const stage = parkOnFd(
      this.#waitFd,
      this.#events,
      this.#context,
      this.#parkedHook,
      this.#failHook,
    );
    // A result during submission may have settled or re-parked already.
    if (this.#parks === parks && this.#resolve !== null) this.#stage = stage;
  }

  #parked(): void {
    this.#stage = null;
    if (this.#resolve === null) return;
    const spin = this.#context.spin === undefined ? sharedSpin : this.#context.spin;
    if (spin !== null) adaptSpin(spin, this.#budget, (performance.now() - this.#start) * 1000);
    const error = this.#closed();
    if (error !== undefined) return this.#fail(error);
    let value: unknown;
    try {
      value = this.#attempt!(this.#arg);
    } catch (e) {
      return this.#fail(e);
    }
    if (value !== undefined) return this.#settle(value);
    this.#spinOrPark(); // lost a race: wait again, within the same timeout
  }

  #arm(ms: number): void {
    this.#timer = setTimer(this.#timerHook, Math.min(Math.ceil(ms), MAX_TIMER));
    if (this.#context.ref === false) this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.#resolve === null) return;
    const left = this.#deadline - performance.now();
    if (left > 0) return this.#arm(left);
    const { syscall, path } = this.#context;
    this.#giveUp(IpcError.of("ETIMEDOUT", syscall, path, "Timed out"));
  }

  /** Ends the wait's bookkeeping; returns whether the wait was still pending. */
  #finish(): boolean {
    if (this.#resolve === null) return false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#signal !== undefined) this.#signal.removeEventListener("abort", this.#abortHook);
    this.#signal = undefined;
    this.#context.owner?.delete(this.#giveUpHook);
    this.#attempt = null;
    this.#arg = undefined;
    return true;
  }

  #settle(value: unknown): void {
    const resolve = this.#resolve!;
    if (!this.#finish()) return;
    this.#resolve = this.#reject = null;
    this.busy = false;
    resolve(value);
  }

  #fail(error: unknown): void {
    const reject = this.#reject!;
    if (!this.#finish()) return;
    this.#resolve = this.#reject = null;
    removeSpinner(this);
    const stage = this.#stage;
    this.#stage = null;
    if (stage === null) {
      this.busy = false;
      return reject(error);
    }
    // The backend failed while parked: its operation is over, but cancel to be sure.
    this.#error = error;
    this.#pendingReject = reject;
    stage(this.#cancelledHook);
  }

  /** Given up (timeout, abort, close): rejects once the backend operation is over. */
  #giveUp(error: unknown): void {
    this.#fail(error);
  }

  #pendingReject: ((error: unknown) => void) | null = null;

  #cancelled(): void {
    const reject = this.#pendingReject!;
    const error = this.#error;
    this.#pendingReject = null;
    this.#error = undefined;
    this.busy = false;
    reject(error);
  }
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

/**
 * The spin policy: before parking in the kernel, an fd wait checks readiness once per
 * event-loop turn for a while, because a kernel wake-up costs 15–30 µs on a virtual
 * machine and a peer that answers quickly is heard much sooner. Each handle adapts its
 * own budget between 50 µs and a limit: a wait that parked and was woken soon after
 * doubles it, a long idle wait halves it. Without adaptation, two processes in a
 * request–response loop can lock into a slow regime where each one's wake-up delay makes
 * the other park too (measured: 25 µs or 166 µs round trips, at random, with a fixed
 * 50 µs).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { C } from "../constants.ts";
import { libc } from "../libc.ts";
import { timespec } from "../structs.ts";
import { PollTable, readyEvents } from "./poll.ts";
import type { Cancel } from "./track.ts";

const SPIN_START = 50;
let spinLimit = 1000;

/** How long a handle's fd waits spin before parking, in µs; adapted per handle. */
export interface SpinState {
  /** The current spin budget in microseconds. */
  budget: number;
  /** Waits left before {@linkcode yieldedToPeer} yields again, after a yield that did not pay. */
  skipYields: number;
  /**
   * Consecutive direct paths ({@linkcode attemptNow}) that found their result only after
   * the yield; from {@linkcode YIELD_FIRST} on, the direct path yields before its first
   * attempt.
   */
  lateHits: number;
}

/**
 * A fresh spin state for a new handle.
 *
 * @returns The state, starting at 50 µs (or the limit, if lower).
 */
export function newSpinState(): SpinState {
  return { budget: Math.min(SPIN_START, spinLimit), skipYields: 0, lateHits: 0 };
}

/**
 * Sets the most an fd wait may spin, checking readiness once per event-loop turn, before it
 * parks in the kernel. Each handle adapts its own budget between 50 µs and this limit: a
 * wait that parked and was woken soon after doubles it, a long idle wait halves it. The
 * event loop keeps running timers and I/O between checks; the cost is CPU time while
 * spinning. 0 turns spinning off.
 *
 * @example
 * ```ts
 * import { setWaitSpin } from "@sysipc/sysipc/ffi";
 * setWaitSpin(0); // park at once: less CPU, slower wake-ups
 * setWaitSpin(1000); // the default
 * ```
 *
 * @param microseconds Default 1000; 0 to 100,000.
 * @throws {RangeError} Outside that range.
 */
export function setWaitSpin(microseconds: number): void {
  if (typeof microseconds !== "number") {
    throw new TypeError(`microseconds must be a number, got ${typeof microseconds}`);
  }
  if (!Number.isFinite(microseconds) || microseconds < 0 || microseconds > 100_000) {
    throw new RangeError(`microseconds must be between 0 and 100000, got ${microseconds}`);
  }
  spinLimit = microseconds;
}

/**
 * The budget a wait of this handle spins for now.
 *
 * @param spin The handle's state.
 * @returns Microseconds.
 */
export function spinBudget(spin: SpinState): number {
  return Math.min(spin.budget, spinLimit);
}

/**
 * Adapts a handle's budget after a wait that parked.
 *
 * @param spin The handle's state.
 * @param budget The budget the wait spun for.
 * @param waited How long the whole wait took, in µs.
 */
export function adaptSpin(spin: SpinState, budget: number, waited: number): void {
  if (waited < budget * 4) {
    spin.budget = Math.min(Math.max(budget * 2, SPIN_START), spinLimit);
  } else if (waited > budget * 20) {
    spin.budget = Math.max(budget / 2, SPIN_START);
  }
}

/** A `sched_yield` that took longer than this (ns) let another thread run meanwhile. */
const YIELDED = 2000;
/** `CLOCK_MONOTONIC`, read by {@linkcode monotonicNs}. */
const clock = new Int32Array(new ArrayBuffer(timespec.size));

/**
 * `CLOCK_MONOTONIC` in nanoseconds, read through libc: 40 ns on Deno, where
 * `performance.now()` takes 100 (Bun: 30 and 40), which counts twice in every yield.
 */
function monotonicNs(): number {
  libc.clock_gettime(C.CLOCK_MONOTONIC, clock);
  return clock[0]! * 1e9 + clock[2]!;
}
/** How many waits skip the yield after one that did not pay. */
const SKIP_YIELDS = 16;

/**
 * Before an operation that would block starts to wait: yields the CPU once and says
 * whether another thread ran meanwhile, so that the caller attempts again at once. When
 * both peers share one CPU, the peer can only answer while this side yields; attempting
 * again right after the yield saves the wait and its event-loop turn (the turn costs more
 * than the rest of the exchange: measured, async pipe round trip on one CPU, Bun 2.5-2.7×
 * C without, 1.7-1.9× with). A yield that did not pay (nobody ran, or the attempt after
 * it still found nothing: peers on two CPUs, a busy host) is skipped for the handle's
 * next 16 waits, which {@linkcode yieldPaid} is told about. Waits that do not spin
 * (budget 0) never yield.
 *
 * @param spin The handle's spin state (`null`: does not spin, so does not yield).
 * @returns Whether another thread ran during the yield: attempt again, then report.
 */
export function yieldedToPeer(spin: SpinState | null): boolean {
  if (spin === null || spinBudget(spin) <= 0) return false;
  if (spin.skipYields > 0) {
    spin.skipYields--;
    return false;
  }
  const before = monotonicNs();
  libc.sched_yield();
  if (monotonicNs() - before > YIELDED) return true;
  spin.skipYields = SKIP_YIELDS;
  return false;
}

/**
 * Reports whether the attempt after a {@linkcode yieldedToPeer} that returned `true` found
 * its result.
 *
 * @param spin The handle's spin state.
 * @param paid Whether it did.
 */
export function yieldPaid(spin: SpinState, paid: boolean): void {
  spin.skipYields = paid ? 0 : SKIP_YIELDS;
}

/**
 * What an async operation whose direct path went through at once returns: one settled
 * promise, shared, so that such a call allocates none.
 */
export const DONE: Promise<void> = Promise.resolve();

/** After this many direct paths in a row found their result only after the yield, yield first. */
const YIELD_FIRST = 4;
/** While yielding first, every 16th direct path attempts first, to see if it still pays. */
const RECHECK = 16;

/**
 * The direct path of every async operation, before any waiting machinery: `attempt(arg)`;
 * if it gives nothing and `options.timeout` is not 0, the yield of {@linkcode yieldedToPeer}
 * and, if another thread ran meanwhile, `attempt(arg)` once more (its outcome reported to
 * {@linkcode yieldPaid}). Pass an attempt made once per handle and the call's own data as
 * `arg`, so that the path allocates nothing.
 *
 * When the handle's last 4 direct paths found their result only after the yield (peers
 * taking turns on one CPU: the answer cannot come before the peer runs), the first attempt
 * is skipped: the path yields, then attempts, saving a system call that finds nothing.
 * Every 16th path attempts first again, and one whose result was already there, or whose
 * yield found nothing, ends this.
 *
 * @param attempt A non-blocking try: a result, or `undefined` when it would block.
 * @param arg What `attempt` is called with.
 * @param spin The handle's spin state (`null`: never yields).
 * @param options The call's options (`timeout: 0`: one attempt, no yield).
 * @returns The result, or `undefined`: the caller waits.
 */
export function attemptNow<T, A>(
  attempt: (arg: A) => T | undefined,
  arg: A,
  spin: SpinState | null,
  options: { timeout?: number } | undefined,
): T | undefined {
  if (spin === null || options?.timeout === 0) return attempt(arg);
  const late = spin.lateHits;
  const yieldFirst = late >= YIELD_FIRST && late % RECHECK !== 0;
  if (!yieldFirst) {
    const result = attempt(arg);
    if (result !== undefined) {
      spin.lateHits = 0;
      return result;
    }
  }
  if (!yieldedToPeer(spin)) {
    spin.lateHits = 0;
    return yieldFirst ? attempt(arg) : undefined;
  }
  const again = attempt(arg);
  yieldPaid(spin, again !== undefined);
  spin.lateHits = again === undefined ? 0 : late + 1;
  return again;
}

/**
 * A wait in its spin phase, checked each event-loop turn by {@linkcode addSpinner}'s loop.
 * Its hooks are methods, so that a wait object made once can spin again and again without
 * making a closure per wait.
 */
export interface Spinner {
  /** The descriptor to poll, or -1 for a wait checked by `probe`. */
  fd: number;
  /** The poll events to wait for (with `fd`). */
  events: number;
  /** When the spin budget ends (`performance.now()` milliseconds). */
  until: number;
  /** The non-blocking check of a wait with no `fd`: a result, or `undefined`. */
  probe(): unknown;
  /** Takes the result (the ready events of a polled `fd`, or what `probe` returned). */
  done(value: unknown): void;
  /** The budget ran out with no result: park. */
  expire(): void;
  /** `probe` threw. */
  fail(error: unknown): void;
}

/**
 * Every wait of the thread that is spinning, checked together once per event-loop turn:
 * one `sched_yield` and one `poll()` over all their descriptors, however many there are.
 */
const spinners = new Set<Spinner>();
/** This turn's spinners, and which of them were polled (arrays reused from turn to turn). */
const checked: Spinner[] = [];
const polled: Spinner[] = [];
const table = new PollTable();
let turn: ReturnType<typeof setImmediate> | undefined;

function spinTurn(): void {
  turn = undefined;
  // Give the CPU to a runnable peer on this CPU (it may be the one that will answer);
  // returns at once when there is none.
  libc.sched_yield();
  table.clear();
  checked.length = 0;
  polled.length = 0;
  for (const s of spinners) {
    checked.push(s);
    if (s.fd < 0) continue;
    table.add(s.fd, s.events);
    polled.push(s);
  }
  if (table.poll()) {
    for (let i = 0; i < polled.length; i++) {
      const revents = table.revents(i);
      const s = polled[i]!;
      if (revents !== 0 && spinners.delete(s)) s.done(revents);
    }
  }
  const now = performance.now();
  for (let i = 0; i < checked.length; i++) {
    const s = checked[i]!;
    if (!spinners.has(s)) continue; // settled above, or given up meanwhile
    try {
      if (s.fd < 0) {
        const value = s.probe();
        if (value !== undefined) {
          spinners.delete(s);
          s.done(value);
          continue;
        }
      }
      if (now >= s.until) {
        spinners.delete(s);
        s.expire();
      }
    } catch (e) {
      spinners.delete(s);
      s.fail(e);
    }
  }
  checked.length = 0;
  polled.length = 0;
  if (spinners.size > 0) turn = setImmediate(spinTurn);
}

/**
 * Starts checking a wait once per event-loop turn until it settles, fails or expires.
 *
 * @param s The wait; its `until` is set.
 */
export function addSpinner(s: Spinner): void {
  spinners.add(s);
  turn ??= setImmediate(spinTurn);
}

/**
 * Stops checking a wait.
 *
 * @param s The wait.
 * @returns Whether it was spinning.
 */
export function removeSpinner(s: Spinner): boolean {
  return spinners.delete(s);
}

/** What a spinning wait checks: a readiness check, or a descriptor to poll for `events`. */
export type Probe<T> = (() => T | undefined) | { fd: number; events: number };

/** The spinner of {@linkcode spinThenPark}: one object per wait. */
class SpinThenPark<T> implements Spinner {
  fd: number;
  events: number;
  until: number;
  #check: (() => T | undefined) | null;
  #spin: SpinState | null;
  #start: number;
  #budget: number;
  #park: (parked: (value: T) => void) => Cancel;
  #settle: (value: T) => void;
  #fail: (error: unknown) => void;
  #stage: Cancel | null = null;

  constructor(
    probe: Probe<T>,
    spin: SpinState | null,
    park: (parked: (value: T) => void) => Cancel,
    settle: (value: T) => void,
    fail: (error: unknown) => void,
  ) {
    this.#check = typeof probe === "function" ? probe : null;
    this.fd = typeof probe === "function" ? -1 : probe.fd;
    this.events = typeof probe === "function" ? 0 : probe.events;
    this.#spin = spin;
    this.#start = performance.now();
    this.#budget = spin === null ? 0 : spinBudget(spin);
    this.until = this.#start + this.#budget / 1000;
    this.#park = park;
    this.#settle = settle;
    this.#fail = fail;
  }

  begin(): Cancel {
    if (this.#budget > 0 && yieldedToPeer(this.#spin)) {
      // Another thread ran during the yield (the peer, on this CPU?): check once more.
      let value: T | undefined;
      try {
        value = this.#check !== null
          ? this.#check()
          : (readyEvents(this.fd, this.events) || undefined) as T | undefined;
      } catch (e) {
        this.#fail(e);
        return (then) => then();
      }
      yieldPaid(this.#spin!, value !== undefined);
      if (value !== undefined) {
        this.#settle(value);
        return (then) => then();
      }
    }
    if (this.#budget <= 0) this.expire();
    else addSpinner(this);
    return (then) => this.#cancel(then);
  }

  probe(): unknown {
    return this.#check!();
  }

  done(value: unknown): void {
    this.#settle(value as T);
  }

  expire(): void {
    this.#stage = this.#park((value) => {
      if (this.#spin !== null) {
        adaptSpin(this.#spin, this.#budget, (performance.now() - this.#start) * 1000);
      }
      this.#settle(value);
    });
  }

  fail(error: unknown): void {
    this.#fail(error);
  }

  #cancel(then: () => void): void {
    spinners.delete(this);
    if (this.#stage !== null) this.#stage(then);
    else then();
  }
}

/**
 * Checks `probe` once per event-loop turn for the handle's spin budget, then parks: the
 * shape of every wait. All spinning waits of the thread share each turn's `sched_yield`
 * and one `poll()` of their descriptors. `park` starts the backend's wait and hands its
 * result to the function it is given, which also adapts the budget.
 *
 * @param probe A non-blocking check (a result, or `undefined` for "not yet"), or a
 *   descriptor and the poll events it must become ready for (the result is the ready
 *   events).
 * @param spin The handle's budget (`null`: park at once).
 * @param park Starts the backend wait.
 * @param settle Receives the result.
 * @param fail Receives an error.
 * @returns How to cancel the wait.
 */
export function spinThenPark<T>(
  probe: Probe<T>,
  spin: SpinState | null,
  park: (parked: (value: T) => void) => Cancel,
  settle: (value: T) => void,
  fail: (error: unknown) => void,
): Cancel {
  return new SpinThenPark(probe, spin, park, settle, fail).begin();
}

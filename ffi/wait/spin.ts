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
import { libc } from "../libc.ts";
import { PollTable } from "./poll.ts";
import type { Cancel } from "./track.ts";

const SPIN_START = 50;
let spinLimit = 1000;

/** How long a handle's fd waits spin before parking, in µs; adapted per handle. */
export interface SpinState {
  /** The current spin budget in microseconds. */
  budget: number;
}

/**
 * A fresh spin state for a new handle.
 *
 * @returns The state, starting at 50 µs (or the limit, if lower).
 */
export function newSpinState(): SpinState {
  return { budget: Math.min(SPIN_START, spinLimit) };
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

/** A wait in its spin phase. */
interface Spinner {
  /** The descriptor to poll, or -1 for a wait checked by `ready`. */
  fd: number;
  events: number;
  ready: (() => unknown) | null;
  /** When the spin budget ends (`performance.now()` milliseconds). */
  until: number;
  done: (value: unknown) => void;
  expire: () => void;
  fail: (error: unknown) => void;
}

/**
 * Every wait of the thread that is spinning, checked together once per event-loop turn:
 * one `sched_yield` and one `poll()` over all their descriptors, however many there are.
 */
const spinners = new Set<Spinner>();
const polled: Spinner[] = [];
const table = new PollTable();
let turn: ReturnType<typeof setImmediate> | undefined;

function spinTurn(): void {
  turn = undefined;
  // Give the CPU to a runnable peer on this CPU (it may be the one that will answer);
  // returns at once when there is none.
  libc.sched_yield();
  table.clear();
  polled.length = 0;
  for (const s of spinners) {
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
  for (const s of spinners) {
    try {
      if (s.ready !== null) {
        const value = s.ready();
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
  if (spinners.size > 0) turn = setImmediate(spinTurn);
}

/** What a spinning wait checks: a readiness check, or a descriptor to poll for `events`. */
export type Probe<T> = (() => T | undefined) | { fd: number; events: number };

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
  const start = performance.now();
  const budget = spin === null ? 0 : spinBudget(spin);
  const parked = (value: T) => {
    if (spin !== null) adaptSpin(spin, budget, (performance.now() - start) * 1000);
    settle(value);
  };
  if (budget <= 0) return park(parked);
  let stage: Cancel | undefined;
  const spinner: Spinner = {
    fd: typeof probe === "function" ? -1 : probe.fd,
    events: typeof probe === "function" ? 0 : probe.events,
    ready: typeof probe === "function" ? probe : null,
    until: start + budget / 1000,
    done: settle as (value: unknown) => void,
    expire: () => stage = park(parked),
    fail,
  };
  spinners.add(spinner);
  turn ??= setImmediate(spinTurn);
  return (then) => {
    spinners.delete(spinner);
    if (stage) stage(then);
    else then();
  };
}

/**
 * The polling backend, for where io_uring is unavailable (some container seccomp profiles
 * block it; `SYSIPC_WAIT_ENGINE=poll` forces it). Every parked wait of the thread joins
 * one shared set, served by one timer: each tick makes one `poll()` over every fd in the
 * set, then one attempt of each retry-style wait (a FIFO open, a call with no fd). The
 * tick runs at once after any progress and backs off to 16 ms while nothing happens:
 * correct and never blocking, but slower to notice than io_uring. A thousand waits cost
 * one system call per tick.
 *
 * @module
 */
import { setTimeout as setTimer } from "node:timers";
import { libc } from "../libc.ts";
import { pollfd as PFD } from "../structs.ts";
import type { Cancel } from "./track.ts";

const MAX_DELAY = 16;

interface FdWait {
  readonly fd: number;
  readonly events: number;
  readonly ref: boolean;
  readonly settle: (revents: number) => void;
}

interface RetryWait {
  /** One attempt: `true` once the wait is over (it settled or failed itself). */
  readonly attempt: () => boolean;
  readonly ref: boolean;
}

const fdWaits = new Set<FdWait>();
const retryWaits = new Set<RetryWait>();
let refs = 0;
let timer: ReturnType<typeof setTimer> | undefined;
let delay = 0;

/** A `struct pollfd` array over one buffer, grown as needed, for one `poll()` of many fds. */
export class PollTable {
  #view = new DataView(new ArrayBuffer(PFD.size * 64));
  #count = 0;

  /** Empties the table. */
  clear(): void {
    this.#count = 0;
  }

  /**
   * Adds a descriptor.
   *
   * @param fd The descriptor.
   * @param events The events of interest.
   */
  add(fd: number, events: number): void {
    if (this.#view.byteLength < (this.#count + 1) * PFD.size) {
      const grown = new Uint8Array(new ArrayBuffer(this.#view.byteLength * 2));
      grown.set(new Uint8Array(this.#view.buffer));
      this.#view = new DataView(grown.buffer);
    }
    const o = this.#count++ * PFD.size;
    this.#view.setInt32(o + PFD.offsets.fd, fd, true);
    this.#view.setInt16(o + PFD.offsets.events, events, true);
    this.#view.setInt16(o + PFD.offsets.revents, 0, true);
  }

  /**
   * Polls every descriptor once, without waiting.
   *
   * @returns Whether any is ready.
   */
  poll(): boolean {
    return this.#count > 0 && libc.poll(this.#view, this.#count, 0) > 0;
  }

  /**
   * The ready events of the `i`-th descriptor added, after {@linkcode PollTable.poll}.
   *
   * @param i Its index.
   * @returns Its `revents` (0 when not ready).
   */
  revents(i: number): number {
    return this.#view.getUint16(i * PFD.size + PFD.offsets.revents, true);
  }
}

const table = new PollTable();

function schedule(progress: boolean): void {
  if (progress) delay = 0;
  if (fdWaits.size === 0 && retryWaits.size === 0) {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    return;
  }
  if (timer === undefined) timer = setTimer(tick, delay);
  if (refs > 0) timer.ref();
  else timer.unref();
}

function tick(): void {
  timer = undefined;
  let progress = false;
  const waits = [...fdWaits];
  table.clear();
  for (const w of waits) table.add(w.fd, w.events);
  if (table.poll()) {
    waits.forEach((w, i) => {
      const revents = table.revents(i);
      if (revents === 0 || !fdWaits.delete(w)) return;
      if (w.ref) refs--;
      progress = true;
      w.settle(revents);
    });
  }
  for (const w of [...retryWaits]) {
    if (!retryWaits.has(w) || !w.attempt()) continue;
    retryWaits.delete(w);
    if (w.ref) refs--;
    progress = true;
  }
  if (!progress) delay = delay === 0 ? 1 : Math.min(delay * 2, MAX_DELAY);
  schedule(progress);
}

/**
 * Waits in the shared set until `fd` is ready for `events`.
 *
 * @param fd The descriptor.
 * @param events Poll events.
 * @param ref Whether the wait keeps the process alive.
 * @param settle Receives the ready events.
 * @returns How to cancel the wait.
 */
export function pollFd(
  fd: number,
  events: number,
  ref: boolean,
  settle: (revents: number) => void,
): Cancel {
  const wait: FdWait = { fd, events, ref, settle };
  fdWaits.add(wait);
  if (ref) refs++;
  schedule(true);
  return (then) => {
    if (fdWaits.delete(wait) && ref) refs--;
    schedule(false);
    then();
  };
}

/**
 * Retries a non-blocking attempt in the shared set (the first try runs now) until it
 * gives a result or throws.
 *
 * @param attempt One try: a result, or `undefined` for "not yet".
 * @param ref Whether the wait keeps the process alive.
 * @param settle Receives the result.
 * @param fail Receives what the attempt threw.
 * @returns How to cancel the wait.
 */
export function pollRetry<T>(
  attempt: () => T | undefined,
  ref: boolean,
  settle: (value: T) => void,
  fail: (error: unknown) => void,
): Cancel {
  const run = () => {
    let value: T | undefined;
    try {
      value = attempt();
    } catch (e) {
      fail(e);
      return true;
    }
    if (value === undefined) return false;
    settle(value);
    return true;
  };
  if (run()) return (then) => then();
  const wait: RetryWait = { attempt: run, ref };
  retryWaits.add(wait);
  if (ref) refs++;
  schedule(true);
  return (then) => {
    if (retryWaits.delete(wait) && ref) refs--;
    schedule(false);
    then();
  };
}

const cell = new DataView(new ArrayBuffer(PFD.size));

/**
 * `poll()` once for one fd, without waiting.
 *
 * @param fd The descriptor.
 * @param events The events of interest.
 * @returns The ready events of `fd` (0 when none).
 */
export function readyEvents(fd: number, events: number): number {
  cell.setInt32(PFD.offsets.fd, fd, true);
  cell.setInt16(PFD.offsets.events, events, true);
  cell.setInt16(PFD.offsets.revents, 0, true);
  if (libc.poll(cell, 1, 0) <= 0) return 0;
  return cell.getUint16(PFD.offsets.revents, true);
}

/**
 * Timeouts of the sync waits as the C calls take them: a `struct timespec`, relative
 * (`semtimedop`) or absolute on a clock (`sem_clockwait`). Internal to the sem module.
 *
 * @module
 */
import { libc } from "../ffi/libc.ts";
import { timespec } from "../ffi/structs.ts";
import type { WaitOptions } from "../ffi/wait/mod.ts";

/** Timeouts above this (≈ 31 years) wait forever: a `timespec` could not hold them all. */
const FOREVER_MS = 1e12;

const cell = new DataView(new ArrayBuffer(timespec.size));

function store(sec: bigint, nsec: bigint): DataView {
  cell.setBigInt64(timespec.offsets.tv_sec, sec + nsec / 1_000_000_000n, true);
  cell.setBigInt64(timespec.offsets.tv_nsec, nsec % 1_000_000_000n, true);
  return cell;
}

/**
 * The timeout of a sync call: `undefined` for none (also for `Infinity` and for
 * timeouts too long to matter).
 *
 * @param options The checked wait options.
 * @returns Milliseconds, or `undefined`.
 */
export function syncTimeout(options: WaitOptions | undefined): number | undefined {
  const timeout = options?.timeout;
  return timeout === undefined || timeout > FOREVER_MS ? undefined : timeout;
}

/**
 * A relative `timespec` (shared cell: use it before the next call).
 *
 * @param ms Milliseconds, ≥ 0.
 * @returns The cell.
 */
export function relativeTimespec(ms: number): DataView {
  return store(0n, BigInt(Math.round(ms * 1e6)));
}

/**
 * The absolute `timespec` on `clock` that is `ms` from now (shared cell).
 *
 * @param clock `CLOCK_MONOTONIC` or `CLOCK_REALTIME`.
 * @param ms Milliseconds, ≥ 0.
 * @returns The cell.
 */
export function absoluteTimespec(clock: number, ms: number): DataView {
  libc.clock_gettime(clock, cell);
  const sec = cell.getBigInt64(timespec.offsets.tv_sec, true);
  const nsec = cell.getBigInt64(timespec.offsets.tv_nsec, true);
  return store(sec, nsec + BigInt(Math.round(ms * 1e6)));
}

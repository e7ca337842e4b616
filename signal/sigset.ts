/**
 * `sigset_t` values: the signal sets that masks, `sigaction` and `posix_spawn` take.
 *
 * @module
 */
import { sigset } from "../ffi/structs.ts";

/**
 * A `sigset_t` holding `signals`, over an `ArrayBuffer` of its own (native code may keep
 * reading it).
 *
 * @param signals Signal numbers, 1 to 64.
 * @returns The set's bytes.
 */
export function sigsetOf(signals: Iterable<number>): Uint8Array<ArrayBuffer> {
  const set = new Uint8Array(new ArrayBuffer(sigset.size));
  for (const n of signals) set[(n - 1) >> 3]! |= 1 << ((n - 1) & 7);
  return set;
}

/**
 * Whether a `sigset_t` holds a signal.
 *
 * @param set The set's bytes.
 * @param n The signal number.
 * @returns `true` when `n` is in `set`.
 */
export function inSigset(set: Uint8Array, n: number): boolean {
  return (set[(n - 1) >> 3]! & (1 << ((n - 1) & 7))) !== 0;
}

/**
 * What every JavaScript side of the suite shares (it measures nothing itself): the case
 * as both sides read it from the command line, the per-message clock and its statistics,
 * and the message format that lets the receiver check every message it gets.
 *
 * Message format (C does the same, bench/baseline.c): the first 4 bytes hold the message's
 * sequence number (little-endian), the last byte its low 8 bits, the rest is left as is.
 * A receiver checks the length, the number and the last byte of every message; what it
 * checked is the `bytes` a result reports, which tests/bench_test.ts compares with what
 * the case claims to move.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";

/** One case, as the driver passes it to a side (`mech:mode:kind:size:messages:warmup:batch`). */
export interface Case {
  /** The mechanism, such as `"pipe"` or `"uds-dgram"`. */
  mech: string;
  /** `"sync"`, `"async"`, `"async-nospin"`, or a built-in API's name. */
  mode: string;
  /** `"rtt"`: ping-pong round trips; `"stream"`: one-way, the child sends. */
  kind: "rtt" | "stream";
  /** Payload bytes per message (0: the mechanism carries none). */
  size: number;
  /** Measured messages. */
  messages: number;
  /** Messages before the measurement. */
  warmup: number;
  /** Messages per clock reading (1: every message is timed alone). */
  batch: number;
}

/**
 * Parses the `--cases` argument: cases separated by commas.
 *
 * @param text `mech:mode:kind:size:messages:warmup:batch,…`.
 * @returns The cases.
 * @throws {TypeError} For a malformed case.
 */
export function parseCases(text: string): Case[] {
  return text.split(",").map((one) => {
    const [mech, mode, kind, ...numbers] = one.split(":");
    const [size, messages, warmup, batch] = numbers.map(Number);
    if (
      !mech || !mode || (kind !== "rtt" && kind !== "stream") || numbers.length !== 4 ||
      ![size, messages, warmup, batch].every((n) => Number.isInteger(n) && n! >= 0) ||
      messages! < 1 || batch! < 1
    ) {
      throw new TypeError(`malformed case ${JSON.stringify(one)}`);
    }
    return { mech, mode, kind, size: size!, messages: messages!, warmup: warmup!, batch: batch! };
  });
}

/**
 * The case's name in results: `mech:mode:kind:size`.
 *
 * @param c The case.
 * @returns Its key.
 */
export function caseKey(c: Case): string {
  return `${c.mech}:${c.mode}:${c.kind}:${c.size}`;
}

// CLOCK_MONOTONIC through libc, the clock the C baselines read: ≈ 70 ns a reading on
// Deno and ≈ 50 ns on Bun here, against ≈ 160 and 90 ns for performance.now().
const timespec = new Int32Array(new ArrayBuffer(16));
const CLOCK_MONOTONIC = 1;

/**
 * Monotonic time in nanoseconds (fits a double exactly for 104 days of uptime).
 *
 * @returns Nanoseconds.
 */
export function nowNs(): number {
  libc.clock_gettime(CLOCK_MONOTONIC, timespec);
  return timespec[0]! * 1e9 + timespec[2]!;
}

/**
 * Times the measured messages of a case, one clock reading per `batch` messages, into a
 * buffer allocated up front (nothing is allocated while timing).
 */
export class Timer {
  readonly #times: Float64Array;
  readonly #c: Case;
  #count = 0;
  #last = 0;
  #start = 0;
  #end = 0;

  /**
   * A timer for one case.
   *
   * @param c The case.
   */
  constructor(c: Case) {
    this.#c = c;
    this.#times = new Float64Array(Math.ceil(c.messages / c.batch));
  }

  /**
   * Called before message `i` (warm-up included) and once more with `i` = the total:
   * starts the clock at the end of the warm-up, and reads it every `batch` messages.
   *
   * @param i The message's index.
   */
  tick(i: number): void {
    const m = i - this.#c.warmup;
    if (m < 0 || m % this.#c.batch !== 0) return;
    const now = nowNs();
    if (m === 0) this.#start = now;
    else this.#times[this.#count++] = (now - this.#last) / this.#c.batch;
    this.#last = now;
    this.#end = now;
  }

  /** Mean, median and 99th percentile of the time per message, in nanoseconds. */
  stats(): { mean_ns: number; p50_ns: number; p99_ns: number } {
    const sorted = this.#times.subarray(0, this.#count).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return {
      mean_ns: Math.round((this.#end - this.#start) / this.#c.messages),
      p50_ns: Math.round(sorted.length ? at(0.5) : 0),
      p99_ns: Math.round(sorted.length ? at(0.99) : 0),
    };
  }
}

/**
 * Writes message `seq`'s marks into `buf` (its whole length is the message).
 *
 * @param buf The message.
 * @param seq Its sequence number.
 */
export function mark(buf: Uint8Array, seq: number): void {
  if (buf.length >= 4) {
    buf[0] = seq & 255;
    buf[1] = (seq >>> 8) & 255;
    buf[2] = (seq >>> 16) & 255;
    buf[3] = (seq >>> 24) & 255;
  }
  if (buf.length > 4) buf[buf.length - 1] = seq & 255;
}

/**
 * The sequence number in a message's first 4 bytes.
 *
 * @param buf The message.
 * @returns Its number.
 */
export function seqOf(buf: Uint8Array): number {
  return (buf[0]! | buf[1]! << 8 | buf[2]! << 16 | buf[3]! << 24) >>> 0;
}

/**
 * Throws unless `buf` (the received message: its first `length` bytes) is message `seq`
 * of `size` bytes.
 *
 * @param buf The message received.
 * @param size The length it must have.
 * @param seq The number it must carry.
 * @param where Names the side and case in the error.
 * @param length The received length, when `buf` is a larger buffer. Default: its length.
 */
export function verify(
  buf: Uint8Array,
  size: number,
  seq: number,
  where: string,
  length: number = buf.length,
): void {
  if (length !== size) {
    throw new Error(`${where}: message ${seq} has ${length} bytes, expected ${size}`);
  }
  if (size >= 4 && seqOf(buf) !== seq >>> 0) {
    throw new Error(`${where}: got message ${seqOf(buf)}, expected ${seq}`);
  }
  if (size > 4 && buf[size - 1] !== (seq & 255)) {
    throw new Error(`${where}: message ${seq}'s last byte is wrong`);
  }
}

/** What a side prints for one case (one JSON line). */
export interface CaseResult {
  /** The case's key ({@linkcode caseKey}). */
  case: string;
  messages: number;
  /** Payload bytes the receiver checked (both directions of a round trip). */
  bytes: number;
  mean_ns: number;
  p50_ns: number;
  p99_ns: number;
  /** sysipc's wait engine, for sysipc cases. */
  engine?: string;
}

/**
 * A uniform body for the ping-pong and stream loops of a group: `step(i)` moves message
 * `i` (sync or async); the loop times the measured ones.
 *
 * @param c The case.
 * @param step Moves message `i` and checks it; may return a promise.
 * @returns The timer, read.
 */
export async function timedLoop(
  c: Case,
  step: (i: number) => void | Promise<void>,
): Promise<Timer> {
  const timer = new Timer(c);
  const total = c.warmup + c.messages;
  for (let i = 0; i < total; i++) {
    timer.tick(i);
    const pending = step(i);
    if (pending !== undefined) await pending;
  }
  timer.tick(total);
  return timer;
}

/**
 * The payload bytes a case moves, as the receiver checks them.
 *
 * @param c The case.
 * @returns Bytes: both directions of each round trip, or each streamed message once.
 */
export function expectedBytes(c: Case): number {
  return c.size * c.messages * (c.kind === "rtt" ? 2 : 1);
}

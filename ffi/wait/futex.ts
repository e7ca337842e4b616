/**
 * Waits on a 32-bit word in shared memory (a futex), for protocols built on `Atomics`
 * over mapped memory (the shared-memory channel, glibc's semaphores). The waker changes
 * the word, then wakes the waiters with {@linkcode wakeFutex}; a waiter sleeps only while
 * the word still holds the value it expects, so no wake-up is ever lost.
 *
 * - Sync: the `futex` system call, `FUTEX_WAIT` on the shared (not private) word, so a
 *   wake from any process that maps it counts; `EINTR` retried against one deadline.
 * - Async: spin on event-loop turns reading the word, then park: an io_uring
 *   `IORING_OP_FUTEX_WAIT` (Linux ≥ 6.7) hard-linked to the doorbell like every other
 *   ring wait (measured 1.7–2.2× a C futex round trip, with no thread), or, where that
 *   opcode is missing or io_uring is unavailable, the shared poll set reading the word on
 *   its timer.
 *
 * `Atomics.wait` cannot be used: both runtimes refuse it on memory that is not a
 * `SharedArrayBuffer`, and mapped memory is a plain `ArrayBuffer` (see PLATFORM facts).
 *
 * @module
 */
import { C } from "../constants.ts";
import { IpcError } from "../errors.ts";
import { EAGAIN, errno, ETIMEDOUT, libc } from "../libc.ts";
import { runtime } from "../runtime.ts";
import { timespec, uringSqe as SQE } from "../structs.ts";
import type { WaitOptions } from "./options.ts";
import { retryWithDeadline } from "./options.ts";
import { startOp, waitEngine } from "./engine.ts";
import { getRing } from "./ring.ts";
import { pollRetry } from "./poll.ts";
import { spinThenPark } from "./spin.ts";
import { track, type WaitContext } from "./track.ts";

/** A word to wait on: an `Int32Array` over shared memory, and an index into it. */
export interface FutexWord {
  /** A view over memory that other processes map too (`MAP_SHARED`). */
  readonly view: Int32Array;
  /** The word's index in `view`. */
  readonly index: number;
  /** The word's address: `futexWord` computes it once (it never moves). */
  readonly address: number;
  /** The word alone, as the `futex` system call takes it (`libc.syscall_futex`). */
  readonly cell: Int32Array;
}

/**
 * Describes a futex word, computing its address once.
 *
 * @param view An `Int32Array` over shared, mapped memory.
 * @param index The word's index in `view`.
 * @returns The word.
 */
export function futexWord(view: Int32Array, index: number): FutexWord {
  const cell = view.subarray(index, index + 1);
  return { view, index, address: runtime.addressOf(view) + index * 4, cell };
}

/** How a futex wait ended: woken (or spuriously returned), or the word had changed. */
export type FutexResult = "woken" | "changed";

const sleepBytes = new Uint8Array(new ArrayBuffer(timespec.size));
const sleepTime = new DataView(sleepBytes.buffer);

/**
 * Waits, blocking the calling thread, while `word` holds `expected`.
 *
 * @param word The word.
 * @param expected The value to sleep on.
 * @param timeout Milliseconds at most (`undefined`: no limit).
 * @returns `"changed"` when the word did not hold `expected` (at once or after a wake-up
 *   check), `"woken"` after a wake-up (the caller re-checks the word: wake-ups may be
 *   spurious).
 * @throws {IpcError} `ETIMEDOUT` when the time ran out.
 */
export function waitFutexSync(
  word: FutexWord,
  expected: number,
  timeout: number | undefined,
): FutexResult {
  if (Atomics.load(word.view, word.index) !== expected) return "changed";
  try {
    retryWithDeadline(
      (left) => {
        let ts: Uint8Array | null = null;
        if (left !== undefined) {
          const ns = Math.round(left * 1e6);
          sleepTime.setBigInt64(timespec.offsets.tv_sec, BigInt(Math.floor(ns / 1e9)), true);
          sleepTime.setBigInt64(timespec.offsets.tv_nsec, BigInt(ns % 1e9), true);
          ts = sleepBytes;
        }
        return libc.syscall_futex(
          C.SYS_futex,
          word.cell,
          C.FUTEX_WAIT,
          expected >>> 0,
          ts,
          null,
          0,
        );
      },
      timeout,
      "futex",
    );
  } catch (e) {
    if (e instanceof IpcError && e.errno === EAGAIN) return "changed";
    if (e instanceof IpcError && e.errno === ETIMEDOUT) {
      throw IpcError.of("ETIMEDOUT", "futex", undefined, "Timed out");
    }
    throw e;
  }
  return "woken";
}

/**
 * Wakes up to `count` waiters of `word`, in any process. Change the word first.
 *
 * @param word The word.
 * @param count How many waiters to wake at most (default: all).
 * @returns How many were woken.
 */
export function wakeFutex(word: FutexWord, count = 0x7fffffff): number {
  const woken = libc.syscall_futex(C.SYS_futex, word.cell, C.FUTEX_WAKE, count, null, null, 0);
  if (woken < 0) throw new IpcError({ errno: errno(), syscall: "futex" });
  return woken;
}

/**
 * Whether {@linkcode waitFutex} parks in the kernel (the ring has `FUTEX_WAIT`), where a
 * wake-up reaches it in queue order with every other waiter of the word. Otherwise it
 * polls the word on a timer, and a waiter blocked in the kernel (a C program, say) gets
 * every single wake-up first: a caller that must share wake-ups fairly can make the
 * `futex` call in a helper thread instead (`offload`), measured fair in the sem tests.
 *
 * @returns `true` when async futex waits park in the kernel.
 */
export function futexWaitParks(): boolean {
  return waitEngine() === "io_uring" && getRing()?.supported.has(C.IORING_OP_FUTEX_WAIT) === true;
}

/**
 * Waits, without blocking the event loop, while `word` holds `expected`.
 *
 * @param word The word.
 * @param expected The value to sleep on.
 * @param options Timeout and abort signal.
 * @param context Names the operation in errors; the owner cancels on close; `spin` is
 *   the handle's spin budget.
 * @returns As {@linkcode waitFutexSync}.
 */
export function waitFutex(
  word: FutexWord,
  expected: number,
  options: WaitOptions | undefined,
  context: WaitContext,
): Promise<FutexResult> {
  const { view, index } = word;
  const ref = context.ref !== false;
  const changed = () => Atomics.load(view, index) !== expected;
  return track<FutexResult>(options, context, (settle, fail) =>
    spinThenPark<FutexResult>(
      () => changed() ? "changed" : undefined,
      context.spin ?? null,
      (parked) =>
        startOp(
          {
            prep(s, o) {
              s.setUint8(o + SQE.offsets.opcode, C.IORING_OP_FUTEX_WAIT);
              s.setInt32(o + SQE.offsets.fd, C.FUTEX2_SIZE_U32, true); // shared, 32 bits
              s.setBigUint64(o + SQE.offsets.addr, BigInt(word.address), true);
              s.setBigUint64(o + SQE.offsets.addr2, BigInt(expected >>> 0), true);
              s.setBigUint64(o + SQE.offsets.addr3, BigInt(C.FUTEX_BITSET_MATCH_ANY), true);
              return 0;
            },
            settle(res) {
              if (res === 0) parked("woken");
              else if (res === -EAGAIN) parked("changed");
              else {
                fail(new IpcError({ errno: -res, syscall: context.syscall, path: context.path }));
              }
            },
            fail,
            ref,
            restartable: true,
          },
          () => pollRetry<FutexResult>(() => changed() ? "changed" : undefined, ref, parked, fail),
          C.IORING_OP_FUTEX_WAIT,
        ),
      settle,
      fail,
    ));
}

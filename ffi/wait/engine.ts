/**
 * Which backend serves a wait, and starting an operation on it: the ring where io_uring
 * works (and supports the operation), the shared poll set otherwise.
 *
 * @module
 */
import { libc, stableCString } from "../libc.ts";
import { runtime } from "../runtime.ts";
import { getRing, ringAvailable, type RingOp } from "./ring.ts";
import type { Cancel } from "./track.ts";

/** Which backend waits: `"io_uring"` or `"poll"`. */
export type EngineKind = "io_uring" | "poll";

let chosen: EngineKind | undefined;

/**
 * The backend that serves waits in this process: `"io_uring"`, or `"poll"` where io_uring
 * is unavailable or the environment variable `SYSIPC_WAIT_ENGINE=poll` asks for it.
 *
 * @example
 * ```ts
 * import { waitEngine } from "@sysipc/sysipc";
 * console.log(waitEngine()); // "io_uring", or "poll" where io_uring is blocked
 * ```
 *
 * @returns The backend's name.
 * @throws {TypeError} When `SYSIPC_WAIT_ENGINE` has another value.
 * @throws {Error} When `SYSIPC_WAIT_ENGINE=io_uring` and io_uring is unavailable.
 */
export function waitEngine(): EngineKind {
  if (chosen !== undefined) return chosen;
  // Read through the C library: Deno would need --allow-env for its own API.
  const address = libc.getenv(stableCString("SYSIPC_WAIT_ENGINE"));
  const wanted = address === 0n ? "" : runtime.cstring(address);
  if (wanted !== "" && wanted !== "poll" && wanted !== "io_uring") {
    throw new TypeError(
      `SYSIPC_WAIT_ENGINE must be "poll" or "io_uring", got ${JSON.stringify(wanted)}`,
    );
  }
  if (wanted === "poll") return chosen = "poll";
  const available = ringAvailable();
  if (wanted === "io_uring" && !available) {
    throw new Error("SYSIPC_WAIT_ENGINE=io_uring, but io_uring is not available here");
  }
  return chosen = available ? "io_uring" : "poll";
}

/** How many times one operation moves to a new ring before its failure stands. */
const MOVES = 3;

/**
 * Starts an operation on the ring, or `fallback` on the poll set where no ring can serve
 * it (io_uring unavailable or turned off, a ring that cannot be made right now, or an
 * opcode this kernel lacks). When the ring breaks (other code closed its fd or its
 * doorbell's, say), an operation that was still being submitted is started again on a new
 * ring, since nothing of it was pending yet; so is a pending one that can be repeated
 * without effect (`op.restartable`: a poll, a futex wait). Others fail.
 *
 * @param op The operation.
 * @param fallback Starts the same wait on the poll set.
 * @param opcode The operation's opcode, when the kernel may lack it.
 * @returns How to cancel the wait, wherever it runs by then.
 */
export function startOp(op: RingOp, fallback: () => Cancel, opcode?: number): Cancel {
  return new Started(op, fallback, opcode).cancel;
}

/** An operation started by {@linkcode startOp}: follows it from ring to ring. */
class Started {
  #op: RingOp;
  #fallback: () => Cancel;
  #opcode: number | undefined;
  #stage: Cancel = (then) => then();
  #moves = 0;
  #starting = false;
  #early: Error | undefined = undefined;
  readonly cancel: Cancel = (then) => this.#stage(then);

  constructor(op: RingOp, fallback: () => Cancel, opcode: number | undefined) {
    this.#op = op;
    this.#fallback = fallback;
    this.#opcode = opcode;
    this.#begin();
  }

  #begin(): void {
    const op = this.#op;
    while (true) {
      const r = waitEngine() === "io_uring" ? getRing() : null;
      if (r === null || (this.#opcode !== undefined && !r.supported.has(this.#opcode))) {
        this.#stage = this.#fallback();
        return;
      }
      this.#early = undefined;
      this.#starting = true;
      const stage = r.start({ ...op, fail: (e) => this.#failed(e) });
      this.#starting = false;
      if (this.#early === undefined) {
        this.#stage = stage;
        return;
      }
      if (++this.#moves > MOVES) return op.fail(this.#early);
    }
  }

  #failed(error: Error): void {
    if (this.#starting) {
      this.#early = error;
    } else if (this.#op.restartable === true && ++this.#moves <= MOVES) {
      this.#begin();
    } else {
      this.#op.fail(error);
    }
  }
}

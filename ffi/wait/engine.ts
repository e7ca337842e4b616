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

/**
 * Starts an operation on the ring, or `fallback` on the poll set where no ring can serve
 * it (io_uring unavailable or turned off, a ring that cannot be made right now, or an
 * opcode this kernel lacks). A ring that breaks while the operation is being submitted
 * (other code closed its fd, say) is replaced once: nothing of the operation was pending
 * on it yet.
 *
 * @param op The operation.
 * @param fallback Starts the same wait on the poll set.
 * @param opcode The operation's opcode, when the kernel may lack it.
 * @returns How to cancel the wait.
 */
export function startOp(op: RingOp, fallback: () => Cancel, opcode?: number): Cancel {
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = waitEngine() === "io_uring" ? getRing() : null;
    if (r === null || (opcode !== undefined && !r.supported.has(opcode))) return fallback();
    let early: Error | undefined;
    let starting = true;
    const cancel = r.start({ ...op, fail: (e) => starting ? early = e : op.fail(e) });
    starting = false;
    if (early === undefined) return cancel;
    if (attempt === 1) op.fail(early);
  }
  return (then) => then();
}

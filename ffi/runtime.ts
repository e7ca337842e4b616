/**
 * The contract between sysipc and the runtime it runs on. `ffi/deno.ts` and `ffi/bun.ts`
 * implement it; this file picks one, once, and nothing outside `ffi/` asks which runtime
 * it is on.
 *
 * @module
 */
import type { Runtime } from "./shim.ts";

export type { Doorbell, DoorbellState, Runtime } from "./shim.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

/** The runtime sysipc is running on. */
export const runtime: Runtime = isBun
  ? (await import("./bun.ts")).default
  : (await import("./deno.ts")).default;

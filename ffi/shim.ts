/**
 * The contract each runtime shim (`ffi/deno.ts`, `ffi/bun.ts`) implements.
 *
 * @module
 */
import type { Functions, SymbolDef } from "./symbols.ts";

/** A watcher of one fd that the runtime's own event loop drives (see `ffi/wait.ts`). */
export interface Doorbell {
  /** Keeps the event loop alive and delivers rings. */
  ref(): void;
  /** Lets the process exit while nothing waits. */
  unref(): void;
}

/** What each runtime shim provides. */
export interface Runtime {
  /** `"deno"` or `"bun"`. */
  readonly name: "deno" | "bun";
  /**
   * Opens a shared library and binds every symbol it has; a symbol the library lacks is
   * `null`. Throws when the library itself cannot be opened.
   */
  open<S extends Record<string, SymbolDef>>(path: string, symbols: S): Functions<S>;
  /**
   * The address of the first byte of a typed array's view, as a number (user-space
   * addresses are below 2^53 on every supported CPU). Valid until the next allocation:
   * Bun may move the bytes of a small typed array made with just a length, so take it
   * right before the call that uses it, or use a view over an explicit `ArrayBuffer`.
   */
  addressOf(view: ArrayBufferView): number;
  /** An `ArrayBuffer` over native memory, without copying. */
  memory(address: bigint, length: number): ArrayBuffer;
  /** The NUL-terminated string at a native address. */
  cstring(address: bigint): string;
  /**
   * Watches a pipe read end through the runtime's event loop: `onRing` runs (on the event
   * loop) after bytes arrive; the bytes themselves are consumed and discarded. Starts
   * unref'd.
   */
  watchDoorbell(fd: number, onRing: () => void): Doorbell;
}

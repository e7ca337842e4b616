/**
 * The contract each runtime shim (`ffi/deno.ts`, `ffi/bun.ts`) implements.
 *
 * @module
 */
import type { Functions, NativePointer, SymbolDef } from "./symbols.ts";

/**
 * What a doorbell is asked to do:
 * - `"ref"`: deliver rings promptly and keep the event loop alive (a wait that counts is
 *   pending);
 * - `"unref"`: deliver rings while the process runs for other reasons, without keeping it
 *   alive (only waits that must not keep the process alive are pending, such as an
 *   unref'd child's exit);
 * - `"idle"`: nothing is pending; rings need not be delivered.
 */
export type DoorbellState = "ref" | "unref" | "idle";

/** A watcher of one fd that the runtime's own event loop drives (see `ffi/wait/`). */
export interface Doorbell {
  /** Changes what the doorbell does; it starts `"idle"`. */
  set(state: DoorbellState): void;
  /** Stops watching and closes the fd it watches. */
  close(): void;
}

/** What each runtime shim provides. */
export interface Runtime {
  /** `"deno"` or `"bun"`. */
  readonly name: "deno" | "bun";
  /** Whether this code runs in a Worker rather than on the main thread. */
  readonly isWorker: boolean;
  /**
   * Signals the runtime itself handles and depends on, which sysipc must never take over
   * (Bun's JavaScriptCore suspends threads with `SIGPWR` to collect garbage).
   */
  readonly reservedSignals: readonly number[];
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
  /**
   * A 64-bit value to pass as a `"pointer"` parameter (see the hot-path rule in
   * `ffi/symbols.ts`): a Deno pointer object (`null` for 0), a Bun 64-bit integer. Make it
   * once and keep it: on Deno, making one allocates.
   */
  pointer(value: bigint): NativePointer | null;
  /** An `ArrayBuffer` over native memory, without copying. */
  memory(address: bigint, length: number): ArrayBuffer;
  /** The most bytes `memory()` can view as one `ArrayBuffer` on this runtime. */
  readonly maxMemory: number;
  /** The NUL-terminated string at a native address. */
  cstring(address: bigint): string;
  /**
   * Watches a pipe read end through the runtime's event loop: `onRing` runs (on the event
   * loop) after bytes arrive; the bytes themselves are consumed and discarded. `onError`
   * runs once if the watch breaks (the fd was closed behind its back, a read failed).
   * The doorbell takes ownership of `fd`.
   */
  watchDoorbell(fd: number, onRing: () => void, onError: (error: Error) => void): Doorbell;
}

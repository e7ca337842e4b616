/**
 * The Bun shim: translates the Deno-shaped symbol table to `bun:ffi`, resolves symbols
 * with libc's own `dlsym` so that a missing one is `null` (Bun's `dlopen` has no optional
 * symbols), and watches the wait engine's doorbell pipe with `Bun.file(fd).stream()`
 * (measured ≈ 4 µs per wake here).
 *
 * @module
 */
import type { Doorbell, DoorbellState, Runtime } from "./shim.ts";
import type { Functions, NativePointer, NativeType, SymbolDef } from "./symbols.ts";

/** A pointer as `bun:ffi` represents it. */
export type Pointer = number & { __pointer__: null };
/** The subset of `bun:ffi` sysipc uses; `ffi/bun_check.ts` checks it against bun-types. */
export interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: number[]; returns: number }>,
  ): { symbols: Record<string, unknown> };
  linkSymbols(
    symbols: Record<string, { args: number[]; returns: number; ptr: Pointer }>,
  ): { symbols: Record<string, unknown> };
  ptr(view: Uint8Array): Pointer;
  toArrayBuffer(address: Pointer, offset: number, length: number): ArrayBuffer;
  CString: new (address: Pointer) => { toString(): string };
}

// A computed specifier: Deno never analyses or resolves it (this file only runs on Bun).
const BUN_FFI = ["bun", "ffi"].join(":");
const { CString, dlopen, linkSymbols, ptr, toArrayBuffer } = await import(BUN_FFI) as BunFfi;
/** The part of a stream reader the doorbell uses (typed by hand: see `BunFfi`). */
interface StreamReader {
  read(): Promise<{ done?: boolean }>;
  cancel(): Promise<void>;
}
const BunGlobal = (globalThis as unknown as {
  Bun: { file(fd: number): { stream(): { getReader(): StreamReader } } };
}).Bun;

// Bun runs Workers on node:worker_threads; `isMainThread` is false inside one.
const { isMainThread } = await import("node:worker_threads");

/** `bun:ffi`'s FFIType numbers for the types the symbol table uses. */
const FFIType = { void: 13, i32: 5, u32: 6, i64: 7, u64: 8, ptr: 12 } as const;

const types: Record<NativeType, number> = {
  void: FFIType.void,
  i32: FFIType.i32,
  u32: FFIType.u32,
  i64: FFIType.i64,
  u64: FFIType.u64,
  isize: FFIType.i64,
  usize: FFIType.u64,
  buffer: FFIType.ptr,
  // Bun passes a JS number to a pointer parameter as a double converted to an address,
  // which cannot hold every 64-bit value (-1): "pointer" values are 64-bit integers here.
  pointer: FFIType.i64,
};

const RTLD_NOW = 2;
const LIBC = "libc.so.6";
interface DlFunctions {
  dlopen: (path: Uint8Array, flags: number) => Pointer | null;
  dlsym: (handle: Pointer, name: Uint8Array) => Pointer | null;
}
const loaders = new Map<string, DlFunctions>();
const encoder = new TextEncoder();
const cString = (text: string) => encoder.encode(text + "\0");

function loader(path: string): DlFunctions {
  // dlopen/dlsym live in libc since glibc 2.34, in libdl before.
  for (const candidate of [path, LIBC, "libdl.so.2"]) {
    const cached = loaders.get(candidate);
    if (cached) return cached;
    try {
      const lib = dlopen(candidate, {
        dlopen: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.ptr },
        dlsym: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.ptr },
      });
      const found = lib.symbols as unknown as DlFunctions;
      loaders.set(candidate, found);
      return found;
    } catch {
      // try the next place dlopen may live
    }
  }
  throw new Error(`cannot find dlopen/dlsym in ${path}, ${LIBC} or libdl.so.2`);
}

let closeFn: ((fd: number) => number) | undefined;
/** close(2), bound on first use (the doorbell owns its fd; libc.ts is not loaded yet here). */
function closeFd(fd: number): void {
  closeFn ??= dlopen(LIBC, { close: { args: [FFIType.i32], returns: FFIType.i32 } })
    .symbols.close as (fd: number) => number;
  closeFn(fd);
}

const bun: Runtime = {
  name: "bun",
  isWorker: !isMainThread,
  // JavaScriptCore's thread suspension for garbage collection (its handler is installed at
  // start-up: /proc/self/status lists SIGPWR under SigCgt in every Bun process).
  reservedSignals: [30],
  open<S extends Record<string, SymbolDef>>(path: string, symbols: S): Functions<S> {
    const { dlopen: open, dlsym } = loader(path);
    const handle = open(cString(path), RTLD_NOW);
    if (!handle) throw new Error(`dlopen failed for ${path}`);
    const defs: Record<string, { args: number[]; returns: number; ptr: Pointer }> = {};
    for (const [name, def] of Object.entries(symbols)) {
      const address = dlsym(handle, cString(def.name ?? name));
      if (!address) continue;
      defs[name] = {
        args: def.parameters.map((t) => types[t]),
        returns: types[def.result],
        ptr: address,
      };
    }
    const linked = linkSymbols(defs).symbols as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(symbols)) out[name] = linked[name] ?? null;
    return out as Functions<S>;
  },
  addressOf(view) {
    return ptr(view as Uint8Array);
  },
  pointer(value) {
    const n = BigInt.asIntN(64, value);
    return (Number.isSafeInteger(Number(n)) ? Number(n) : n) as unknown as NativePointer;
  },
  maxMemory: 2 ** 32, // measured: toArrayBuffer of 2^32 + 1 bytes fails ("Out of memory")
  memory(address, length) {
    return toArrayBuffer(Number(address) as Pointer, 0, length);
  },
  cstring(address) {
    return address === 0n ? "" : new CString(Number(address) as Pointer).toString();
  },
  watchDoorbell(fd, onRing, onError): Doorbell {
    // A pending stream read keeps Bun's event loop alive, and only cancel() lets go of it.
    // Re-creating a stream costs ≈ 30 µs, so a doorbell that is no longer wanted is let go
    // of one macrotask later, and only if nothing wanted it again in between. While only
    // unref'd waits are pending, rings are collected by an unref'd timer instead (every
    // 50 ms), which never keeps the process alive.
    let reader: StreamReader | null = null;
    let state: DoorbellState = "idle";
    let releasing = false;
    let poller: ReturnType<typeof setInterval> | undefined;
    let closed = false;
    const pump = async (r: StreamReader) => {
      try {
        while (true) {
          const { done } = await r.read();
          if (reader !== r) return;
          if (done) throw new Error("the doorbell pipe reached end of stream");
          onRing();
        }
      } catch (e) {
        if (reader !== r || closed) return;
        closed = true;
        onError(e instanceof Error ? e : new Error(String(e)));
      }
    };
    const release = () => {
      const r = reader;
      reader = null;
      if (r) void r.cancel().catch(() => {});
    };
    const setPoller = (on: boolean) => {
      if (on && poller === undefined) {
        poller = setInterval(onRing, 50);
        (poller as { unref?: () => void }).unref?.();
      } else if (!on && poller !== undefined) {
        clearInterval(poller);
        poller = undefined;
      }
    };
    return {
      set(next) {
        state = next;
        setPoller(next === "unref");
        if (next === "ref") {
          if (reader || closed) return;
          const r = BunGlobal.file(fd).stream().getReader();
          reader = r;
          void pump(r);
          onRing(); // anything that completed while no stream was reading
          return;
        }
        if (releasing) return;
        releasing = true;
        setTimeout(() => {
          releasing = false;
          if (state !== "ref") release();
        }, 0);
      },
      close() {
        closed = true;
        setPoller(false);
        release();
        closeFd(fd);
      },
    };
  },
};

export default bun;

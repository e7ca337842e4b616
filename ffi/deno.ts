/**
 * The Deno shim: `Deno.dlopen` for the symbol table, `Deno.UnsafePointerView` for native
 * memory, and a `node:net` socket as the event-loop watcher of the wait engine's doorbell
 * pipe (measured ≈ 4 µs per wake here; Deno's `nonblocking` symbols cost ≈ 30 µs).
 *
 * The part of the `Deno` namespace used here is described by hand ({@linkcode DenoFfi}),
 * so that this file type-checks in a Bun project too (which has no `Deno` types);
 * `ffi/deno_check.ts`, checked by `deno check` only, holds it against Deno's own types.
 *
 * @module
 */
import { Socket } from "node:net";
import type { Doorbell, Runtime } from "./shim.ts";
import type { Functions, NativeParam, NativePointer, NativeType, SymbolDef } from "./symbols.ts";

/** An opaque Deno pointer object. */
export type DenoPointer = object;

/** The subset of the `Deno` namespace that sysipc uses. */
export interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<
      string,
      { name?: string; parameters: NativeParam[]; result: NativeType; optional?: boolean }
    >,
  ): { symbols: Record<string, unknown> };
  UnsafePointer: {
    create(value: bigint | number): DenoPointer | null;
    of(value: ArrayBufferView): DenoPointer | null;
    value(value: DenoPointer | null): bigint | number;
  };
  UnsafePointerView: {
    getArrayBuffer(pointer: DenoPointer, length: number): ArrayBuffer;
    getCString(pointer: DenoPointer): string;
  };
  permissions: { querySync(descriptor: { name: "ffi" }): { state: string } };
  errors: { NotCapable: new () => Error; PermissionDenied: new () => Error };
}

const Deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;

const NO_FFI = "sysipc needs FFI access to call libc: run Deno with --allow-ffi (or -A). " +
  "A grant limited to paths (--allow-ffi=<path>) is not enough: Deno's pointer functions, " +
  "which sysipc needs, require the unrestricted grant";

function dlopen(path: string, defs: Parameters<DenoFfi["dlopen"]>[1]) {
  // A grant limited to some paths (--allow-ffi=…) reads as "prompt", not "granted": only
  // a plain denial is refused up front; otherwise Deno decides, and its refusal is mapped.
  if (Deno.permissions.querySync({ name: "ffi" }).state === "denied") throw new Error(NO_FFI);
  try {
    const lib = Deno.dlopen(path, defs);
    Deno.UnsafePointer.create(1n); // refused under a grant limited to paths
    return lib;
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(NO_FFI, { cause: e });
    }
    throw e;
  }
}

/**
 * `memset(view, 0, NULL)`: writes nothing and returns the view's address, on Deno's fast
 * path (≈ 45 ns), where `UnsafePointer.value(UnsafePointer.of(view))` costs ≈ 600 ns
 * (measured here: bench/ffi_bench.ts). Bound from the first library {@linkcode deno.open}
 * opens (the C library: libc.ts opens it first).
 */
type AddressProbe = (view: ArrayBufferView, c: number, n: null) => bigint;
let addressProbe: AddressProbe | undefined;

const isWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";

const deno: Runtime = {
  name: "deno",
  isWorker,
  reservedSignals: [],
  open<S extends Record<string, SymbolDef>>(path: string, symbols: S): Functions<S> {
    const defs: Parameters<DenoFfi["dlopen"]>[1] = {};
    for (const [name, def] of Object.entries(symbols)) {
      defs[name] = {
        name: def.name,
        parameters: [...def.parameters],
        result: def.result,
        optional: true,
      };
    }
    const lib = dlopen(path, defs);
    if (addressProbe === undefined) {
      const probe = dlopen(path, {
        memset: { parameters: ["buffer", "i32", "pointer"], result: "usize", optional: true },
      }).symbols.memset;
      if (typeof probe === "function") addressProbe = probe as AddressProbe;
    }
    return lib.symbols as unknown as Functions<S>;
  },
  addressOf(view) {
    if (addressProbe !== undefined) return Number(addressProbe(view, 0, null));
    return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
  },
  pointer(value) {
    return Deno.UnsafePointer.create(value) as NativePointer | null;
  },
  maxMemory: Number.MAX_SAFE_INTEGER, // measured: 64 GiB of mapped memory views fine
  memory(address, length) {
    const pointer = Deno.UnsafePointer.create(address);
    if (pointer === null) throw new RangeError("Cannot view memory at address 0");
    return Deno.UnsafePointerView.getArrayBuffer(pointer, length);
  },
  cstring(address) {
    const pointer = Deno.UnsafePointer.create(address);
    return pointer === null ? "" : Deno.UnsafePointerView.getCString(pointer);
  },
  watchDoorbell(fd, onRing, onError): Doorbell {
    const socket = new Socket({ fd, readable: true, writable: false });
    let closed = false;
    const broken = (error: Error) => {
      if (closed) return;
      closed = true;
      onError(error);
    };
    socket.on("data", onRing);
    socket.on("error", broken);
    socket.on("end", () => broken(new Error("the doorbell pipe reached end of stream")));
    socket.unref();
    return {
      set(state) {
        if (state === "ref") socket.ref();
        else socket.unref(); // an unref'd socket still delivers data
      },
      close() {
        closed = true;
        socket.destroy(); // closes fd, synchronously
      },
    };
  },
};

export default deno;

/**
 * The Deno shim: `Deno.dlopen` for the symbol table, `Deno.UnsafePointerView` for native
 * memory, and a `node:net` socket as the event-loop watcher of the wait engine's doorbell
 * pipe (measured ≈ 4 µs per wake here; Deno's `nonblocking` symbols cost ≈ 30 µs).
 *
 * @module
 */
import { Socket } from "node:net";
import type { Doorbell, Runtime } from "./shim.ts";
import { type Functions, type SymbolDef, symbols } from "./symbols.ts";

// The symbol table is written in Deno's shape: the compiler checks it against Deno's type.
symbols satisfies Deno.ForeignLibraryInterface;

const NO_FFI = "sysipc needs FFI access to call libc: run Deno with --allow-ffi (or -A)";

function dlopen(path: string, defs: Record<string, Deno.ForeignFunction>) {
  // A grant limited to some paths (--allow-ffi=…) reads as "prompt", not "granted": only
  // a plain denial is refused up front; otherwise Deno decides, and its refusal is mapped.
  if (Deno.permissions.querySync({ name: "ffi" }).state === "denied") throw new Error(NO_FFI);
  try {
    return Deno.dlopen(path, defs);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(NO_FFI, { cause: e });
    }
    throw e;
  }
}

const deno: Runtime = {
  name: "deno",
  open<S extends Record<string, SymbolDef>>(path: string, symbols: S): Functions<S> {
    const defs: Record<string, Deno.ForeignFunction> = {};
    for (const [name, def] of Object.entries(symbols)) {
      defs[name] = {
        parameters: [...def.parameters],
        result: def.result,
        optional: true,
      } satisfies Deno.ForeignFunction;
    }
    const lib = dlopen(path, defs);
    return lib.symbols as unknown as Functions<S>;
  },
  addressOf(view) {
    return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
  },
  memory(address, length) {
    const pointer = Deno.UnsafePointer.create(address);
    if (pointer === null) throw new RangeError("Cannot view memory at address 0");
    return Deno.UnsafePointerView.getArrayBuffer(pointer, length);
  },
  cstring(address) {
    const pointer = Deno.UnsafePointer.create(address);
    return pointer === null ? "" : Deno.UnsafePointerView.getCString(pointer);
  },
  watchDoorbell(fd: number, onRing: () => void): Doorbell {
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.on("data", onRing);
    socket.unref();
    return { ref: () => socket.ref(), unref: () => socket.unref() };
  },
};

export default deno;

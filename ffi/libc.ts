/**
 * Opens the C library once, binds the symbol table, and gives every call site the same
 * error path: `check(libc.f(...), "f", path)` throws an {@linkcode IpcError} built from
 * errno read immediately after the call.
 *
 * @module
 */
import { arch } from "node:process";
import { errnoNumber, IpcError, setErrnoDescriber } from "./errors.ts";
import { runtime } from "./runtime.ts";
import { type Functions, type NativePointer, type Symbols, symbols } from "./symbols.ts";

/** Libraries tried for the C library, in order; the first that opens is libc. */
export const LIBC_CANDIDATES: readonly string[] = [
  "libc.so.6", // glibc
  `libc.musl-${arch === "arm64" ? "aarch64" : "x86_64"}.so.1`, // musl
];
/** Where an older glibc (< 2.34) keeps the POSIX real-time functions. */
export const LIBRT = "librt.so.1";

function load(): { functions: Functions<Symbols>; path: string } {
  const failures: string[] = [];
  for (const path of LIBC_CANDIDATES) {
    let functions: Functions<Symbols>;
    try {
      functions = runtime.open(path, symbols);
    } catch (e) {
      if (e instanceof Error && /--allow-ffi/.test(e.message)) throw e;
      failures.push(`${path}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const missing = () =>
      (Object.keys(symbols) as (keyof Symbols)[]).filter((name) =>
        functions[name] === null && !("optional" in symbols[name])
      );
    if (missing().length > 0) {
      try {
        const rt = runtime.open(LIBRT, symbols) as Record<string, unknown>;
        const merged = functions as Record<string, unknown>;
        for (const name of missing()) merged[name] = rt[name];
      } catch (e) {
        failures.push(`${LIBRT}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const still = missing();
    if (still.length > 0) {
      throw new Error(
        `sysipc: the C library lacks ${still.join(", ")} (tried ${path} and ${LIBRT})`,
      );
    }
    return { functions, path };
  }
  throw new Error(`sysipc: cannot open the C library; tried:\n  ${failures.join("\n  ")}`);
}

const loaded = load();

/** The C library's functions, typed from the symbol table. */
export const libc: Functions<Symbols> = loaded.functions;
/** The path of the C library that was opened. */
export const libcPath: string = loaded.path;

// errno lives at a fixed address for this thread: read it through a typed array, with no
// FFI call, right after the failing call.
const errnoCell = new Int32Array(runtime.memory(libc.__errno_location(), 4));

/**
 * errno, as the last C call on this thread left it.
 *
 * @example
 * ```ts
 * import { errno, errnoName, libc } from "@sysipc/sysipc/ffi";
 * if (libc.close(-1) === -1) console.log(errnoName(errno())); // "EBADF"
 * ```
 *
 * @returns The errno value; read it right after the call that failed, before any other C call.
 */
export function errno(): number {
  return errnoCell[0]!;
}

setErrnoDescriber((n) => runtime.cstring(libc.strerror(n)));

/**
 * The offset -1 ("the current position", the only one sysipc passes) for `preadv2` and
 * `pwritev2`, as their `"pointer"` parameter takes it (see the hot-path rule in
 * `ffi/symbols.ts`).
 */
export const CURRENT_POSITION: NativePointer | null = runtime.pointer(-1n);

/** The values {@linkcode longArgument} has made, by number. */
const longs = new Map<number, NativePointer | null>();

/**
 * A 64-bit integer argument (a `long` or `size_t` that may not fit 32 bits) for a
 * `"pointer"` parameter of the symbol table's hot-path aliases, made once per value: a
 * program passes a handful (message types, buffer sizes), and at most 1,024 are kept.
 *
 * @param value A safe integer.
 * @returns The argument.
 */
export function longArgument(value: number): NativePointer | null {
  let argument = longs.get(value);
  if (argument === undefined) {
    if (longs.size >= 1024) longs.clear();
    argument = runtime.pointer(BigInt(value));
    longs.set(value, argument);
  }
  return argument;
}

/** The EINTR errno value. */
export const EINTR: number = errnoNumber("EINTR");
/** The EAGAIN errno value. */
export const EAGAIN: number = errnoNumber("EAGAIN");
/** The EBADF errno value. */
export const EBADF: number = errnoNumber("EBADF");
/** The EBUSY errno value. */
export const EBUSY: number = errnoNumber("EBUSY");
/** The EEXIST errno value. */
export const EEXIST: number = errnoNumber("EEXIST");
/** The ENXIO errno value. */
export const ENXIO: number = errnoNumber("ENXIO");
/** The ETIMEDOUT errno value. */
export const ETIMEDOUT: number = errnoNumber("ETIMEDOUT");
/** The EOPNOTSUPP errno value. */
export const EOPNOTSUPP: number = errnoNumber("EOPNOTSUPP");

/**
 * Throws an {@linkcode IpcError} when a C call returned -1; returns the result otherwise.
 *
 * @example
 * ```ts
 * import { check, libc } from "@sysipc/sysipc/ffi";
 * console.log(check(libc.getpid(), "getpid") > 0); // true
 * try {
 *   check(libc.close(-1), "close");
 * } catch (e) {
 *   console.log((e as { code?: string }).code); // "EBADF"
 * }
 * ```
 *
 * @throws {IpcError} With the errno the call left, when `result` is -1.
 *
 * @param result What the call returned.
 * @param syscall The call's name, for the error.
 * @param path The path or name the call was about, if any.
 * @returns `result`.
 */
export function check(result: number, syscall: string, path?: string): number {
  if (result === -1) throw new IpcError({ errno: errno(), syscall, path });
  return result;
}

/**
 * For calls that return an error number instead of setting errno (`posix_spawn`, …).
 *
 * @example
 * ```ts
 * import { checkCode } from "@sysipc/sysipc/ffi";
 * checkCode(0, "posix_spawn"); // fine
 * try {
 *   checkCode(2, "posix_spawn", "/no/such/program");
 * } catch (e) {
 *   console.log((e as Error).message); // "ENOENT: No such file or directory, posix_spawn '/no/such/program'"
 * }
 * ```
 *
 * @throws {IpcError} With errno `code`, when it is not 0.
 *
 * @param code What the call returned: 0 or an errno value.
 * @param syscall The call's name, for the error.
 * @param path The path or name the call was about, if any.
 */
export function checkCode(code: number, syscall: string, path?: string): void {
  if (code === 0) return;
  if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || code > 4095) {
    throw new RangeError(`code must be 0 or an errno value (1 to 4095), got ${String(code)}`);
  }
  throw new IpcError({ errno: code, syscall, path });
}

/**
 * Runs a C call again while it fails with EINTR, as C callers do; then as {@linkcode check}.
 *
 * @example
 * ```ts
 * import { checkRetry, libc } from "@sysipc/sysipc/ffi";
 * const pid = checkRetry(() => libc.getpid(), "getpid"); // retried while it fails with EINTR
 * console.log(pid > 0); // true
 * ```
 *
 * @throws {IpcError} With the call's errno, for a failure other than `EINTR`.
 *
 * @param call The call.
 * @param syscall The call's name, for the error.
 * @param path The path or name, if any.
 * @returns The call's result.
 */
export function checkRetry(call: () => number, syscall: string, path?: string): number {
  while (true) {
    const result = call();
    if (result !== -1) return result;
    const e = errno();
    if (e !== EINTR) throw new IpcError({ errno: e, syscall, path });
  }
}

const encoder = new TextEncoder();

/**
 * A path or name as a NUL-terminated C string.
 *
 * @example
 * ```ts
 * import { cString } from "@sysipc/sysipc/ffi";
 * console.log(cString("/tmp", "path")); // Uint8Array [47, 116, 109, 112, 0]
 * ```
 *
 * @param text The path.
 * @param what The argument's name, for the error.
 * @returns The encoded bytes, NUL included.
 * @throws {TypeError} When `text` is not a non-empty string or contains a NUL byte.
 */
export function cString(text: unknown, what: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== "string") {
    throw new TypeError(`${what} must be a string, got ${describeValue(text)}`);
  }
  if (text.length === 0) throw new TypeError(`${what} must not be empty`);
  if (text.includes("\0")) {
    throw new TypeError(`${what} must not contain NUL bytes: ${JSON.stringify(text)}`);
  }
  return stableCString(text);
}

/**
 * A NUL-terminated UTF-8 copy of `text` over an `ArrayBuffer` of its own: both engines keep
 * such bytes at one address for their whole life (Bun may move a typed array made with just
 * a length), so an address taken once stays valid for native code that reads it later.
 *
 * @example
 * ```ts
 * import { libc, stableCString } from "@sysipc/sysipc/ffi";
 * const path = stableCString("/");
 * console.log(libc.access(path, 0)); // 0: the root directory exists
 * ```
 *
 * @param text Any string (not checked).
 * @returns The bytes, NUL included.
 */
export function stableCString(text: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== "string") throw new TypeError(`text must be a string, got ${typeof text}`);
  const encoded = encoder.encode(text);
  const bytes = new Uint8Array(new ArrayBuffer(encoded.length + 1));
  bytes.set(encoded);
  return bytes;
}

/**
 * A short description of a value for error messages.
 *
 * @param value Any value.
 * @returns Text such as `number -1` or `object`.
 */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return `${typeof value} ${String(value)}`;
  }
  return typeof value;
}

/**
 * What the POSIX and System V IPC modules (shm, mq, sem) share: the rules for POSIX object
 * names, the create options, System V keys and `ftok`, and reading `struct ipc_perm`.
 * Written once here so every module checks its arguments the same way.
 *
 * @module
 */
import { C } from "./constants.ts";
import { IpcError } from "./errors.ts";
import { checkInteger } from "./handle.ts";
import { cString, describeValue, errno, libc, stableCString } from "./libc.ts";
import { ipcPerm } from "./structs.ts";

/** Options to create an object: `create`, `exclusive`, `mode`. */
export interface CreateOptions {
  /** Create the object if it does not exist. Default `false`. */
  create?: boolean;
  /** With `create`: fail with `EEXIST` if it exists. Default `false`. */
  exclusive?: boolean;
  /** Permission bits for a new object, reduced by the umask for POSIX objects. Default `0o600`. */
  mode?: number;
}

/**
 * Checks `create`, `exclusive` and `mode`.
 *
 * @param options The caller's options.
 * @returns The checked values, `mode` defaulting to `0o600`.
 * @throws {TypeError} When a field has the wrong type, or `exclusive` is set without `create`.
 * @throws {RangeError} When `mode` is outside 0 to 0o777.
 */
export function createOptions(
  options: CreateOptions | undefined,
): { create: boolean; exclusive: boolean; mode: number } {
  if (options === undefined) return { create: false, exclusive: false, mode: 0o600 };
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { create, exclusive, mode } = options;
  for (const [name, value] of [["create", create], ["exclusive", exclusive]] as const) {
    if (value !== undefined && typeof value !== "boolean") {
      throw new TypeError(`${name} must be a boolean, got ${describeValue(value)}`);
    }
  }
  if (exclusive && !create) throw new TypeError("exclusive needs create: true");
  return {
    create: create === true,
    exclusive: exclusive === true,
    mode: mode === undefined ? 0o600 : checkInteger(mode, "mode", 0, 0o777),
  };
}

/**
 * `open(2)`-style flags for the create options: `O_CREAT` and `O_EXCL`.
 *
 * @param options The checked create options.
 * @returns The flags.
 */
export function openCreateFlags(options: { create: boolean; exclusive: boolean }): number {
  return (options.create ? C.O_CREAT : 0) | (options.exclusive ? C.O_EXCL : 0);
}

/**
 * Checks the name of a POSIX object (shared memory, message queue, named semaphore):
 * `"/name"` with one leading slash, no other slash, 1–250 characters after it, neither
 * `.` nor `..`, no NUL. Such a name can never reach a file outside the object's own
 * directory (`/dev/shm`, `/dev/mqueue`).
 *
 * @example
 * ```ts
 * import { posixName } from "@sysipc/sysipc/ffi";
 * console.log(posixName("/jobs").length); // 6: "/jobs" and its NUL
 * try {
 *   posixName("jobs");
 * } catch (e) {
 *   console.log((e as Error).name); // "TypeError": one leading slash is required
 * }
 * ```
 *
 * @param name The value.
 * @param what The argument's name, for errors.
 * @returns The name as a C string.
 * @throws {TypeError} When it breaks the rule; the message says which part.
 */
export function posixName(name: unknown, what = "name"): Uint8Array<ArrayBuffer> {
  if (typeof name !== "string") {
    throw new TypeError(`${what} must be a string like "/jobs", got ${describeValue(name)}`);
  }
  const rest = name.slice(1);
  let problem: string | undefined;
  if (!name.startsWith("/")) problem = "must start with a slash";
  else if (rest.length === 0) problem = "needs at least one character after the slash";
  else if (rest.length > 250) {
    problem = `has ${rest.length} characters after the slash (at most 250)`;
  } else if (rest.includes("/")) problem = "must not contain a slash after the first";
  else if (rest === "." || rest === "..") problem = "must not be . or ..";
  else if (name.includes("\0")) problem = "must not contain NUL bytes";
  if (problem !== undefined) {
    throw new TypeError(`${what} ${problem}: ${JSON.stringify(name.slice(0, 60))}`);
  }
  return stableCString(name);
}

/** A System V key: a number, or `"private"` for `IPC_PRIVATE`. */
export type SysVKey = number | "private";

/**
 * Checks a System V key. Both spellings of a 32-bit `key_t` are accepted and mean the same
 * object: the signed one C prints, and the unsigned one `ipcs` prints in hex.
 *
 * @example
 * ```ts
 * import { sysvKey } from "@sysipc/sysipc/ffi";
 * console.log(sysvKey(0xdeadbeef), sysvKey(-559038737), sysvKey("private")); // -559038737 -559038737 0
 * ```
 *
 * @param key A key, or `"private"`.
 * @returns The key as C's signed `key_t` (`IPC_PRIVATE` is 0).
 * @throws {TypeError} When it is neither an integer nor `"private"`.
 * @throws {RangeError} When it is outside -2^31 to 2^32 - 1.
 */
export function sysvKey(key: unknown): number {
  if (key === "private") return C.IPC_PRIVATE;
  if (typeof key !== "number" || !Number.isInteger(key)) {
    throw new TypeError(`key must be an integer or "private", got ${describeValue(key)}`);
  }
  if (key < -0x80000000 || key > 0xffffffff) {
    throw new RangeError(`key must be a 32-bit key_t (-2147483648 to 4294967295), got ${key}`);
  }
  return key | 0;
}

/**
 * The `*get` flags for System V create options: `IPC_CREAT`, `IPC_EXCL` and the mode bits.
 *
 * @param options The checked create options.
 * @returns The flags.
 */
export function sysvGetFlags(
  options: { create: boolean; exclusive: boolean; mode: number },
): number {
  return (options.create ? C.IPC_CREAT : 0) | (options.exclusive ? C.IPC_EXCL : 0) |
    options.mode;
}

/**
 * A System V key made from a file's identity and a project number, as C's `ftok(3)`
 * computes it: the same path and number give the same key in every process.
 *
 * @example
 * ```ts
 * import { ftok } from "@sysipc/sysipc/ffi"; // also exported by ./sem and ./mq
 * const key = ftok("/tmp", 1); // the same in every process that asks
 * ```
 *
 * @param path An existing file or directory.
 * @param projectId 1 to 255 (only the low 8 bits count; 0 is refused, as its meaning
 *   differs between C libraries).
 * @returns The key.
 * @throws {IpcError} `ENOENT` when the path does not exist, `EACCES` without search access.
 * @throws {TypeError} When `path` is not a non-empty string without NUL bytes.
 * @throws {RangeError} When `projectId` is outside 1 to 255.
 */
export function ftok(path: string, projectId: number): number {
  const bytes = cString(path, "path");
  checkInteger(projectId, "projectId", 1, 255);
  const key = libc.ftok(bytes, projectId);
  if (key === -1) throw new IpcError({ errno: errno(), syscall: "ftok", path });
  return key;
}

/** The owner and mode of a System V object (`struct ipc_perm`). */
export interface IpcPerm {
  /** The key it was made with (`IPC_PRIVATE`: 0), as C's signed `key_t`. */
  key: number;
  /** The owner's user id. */
  uid: number;
  /** The owner's group id. */
  gid: number;
  /** The creator's user id. */
  creatorUid: number;
  /** The creator's group id. */
  creatorGid: number;
  /** The permission bits (`0o600`). */
  mode: number;
}

/**
 * Reads a `struct ipc_perm`.
 *
 * @param view The `*_ds` struct, which has it at `offset`.
 * @param offset Where it starts (0 in every `*_ds`).
 * @returns Its fields.
 */
export function readIpcPerm(view: DataView, offset = 0): IpcPerm {
  const o = (field: keyof typeof ipcPerm.offsets) => offset + ipcPerm.offsets[field];
  return {
    key: view.getInt32(o("__key"), true),
    uid: view.getUint32(o("uid"), true),
    gid: view.getUint32(o("gid"), true),
    creatorUid: view.getUint32(o("cuid"), true),
    creatorGid: view.getUint32(o("cgid"), true),
    mode: view.getUint32(o("mode"), true) & 0o777,
  };
}

/**
 * A time from a System V `*_ds` struct (seconds since the epoch, 0 for never) as a `Date`.
 *
 * @param seconds The `time_t` value.
 * @returns The date, or `null` for 0.
 */
export function dateOfSeconds(seconds: bigint | number): Date | null {
  const s = Number(seconds);
  return s === 0 ? null : new Date(s * 1000);
}

/**
 * The raw, unsafe layer: the C library's functions as sysipc binds them, errno, the
 * constants and struct layouts, and the wait engine. Calling these with wrong arguments
 * can crash the process; the other modules cannot.
 *
 * @example Calling libc directly
 * ```ts
 * import { check, libc } from "@sysipc/sysipc/ffi";
 * const pid = check(libc.getpid(), "getpid");
 * console.log(pid);
 * ```
 *
 * @module
 */
export { C, type Constants, linux } from "./constants.ts";
export { FdHandle, type FromFdOptions, type Ownership } from "./handle.ts";
export { type CreateOptions, ftok, type IpcPerm, posixName, type SysVKey, sysvKey } from "./ipc.ts";
export { type Platform, platform } from "./platform.ts";
export { errnoName, errnoNumber, IpcError, type IpcErrorInit } from "./errors.ts";
export {
  check,
  checkCode,
  checkRetry,
  cString,
  errno,
  libc,
  LIBC_CANDIDATES,
  libcPath,
  LIBRT,
  stableCString,
} from "./libc.ts";
export { type Doorbell, type DoorbellState, type Runtime, runtime } from "./runtime.ts";
export { type Layout, layouts } from "./structs.ts";
export {
  type Functions,
  type JsParam,
  type JsParams,
  type JsResult,
  type NativeParam,
  type NativePointer,
  type NativeType,
  type SymbolDef,
  type Symbols,
  symbols,
} from "./symbols.ts";
export {
  type EngineKind,
  type Owner,
  retryWithDeadline,
  retryWithTimer,
  setWaitSpin,
  type SpinState,
  type WaitContext,
  waitEngine,
  type WaitOptions,
} from "./wait/mod.ts";
export type { ReadyTarget } from "./ready.ts";

/**
 * Compile-time only (checked by `tsc -p tsconfig.bun.json`, never imported): the subset of
 * `bun:ffi` that `ffi/bun.ts` describes by hand must match bun-types.
 *
 * @module
 */
import * as real from "bun:ffi";
import type { BunFfi } from "./bun.ts";

export const subset: BunFfi = {
  dlopen: real.dlopen,
  linkSymbols: real.linkSymbols,
  ptr: real.ptr,
  toArrayBuffer: real.toArrayBuffer,
  CString: real.CString,
} as unknown as BunFfi;
export const apis: {
  [K in keyof BunFfi]: unknown;
} = real satisfies { [K in keyof BunFfi]: unknown };

// The numbers ffi/bun.ts uses for FFIType members.
export const types: { void: 13; i32: 5; u32: 6; i64: 7; u64: 8; ptr: 12 } = {
  void: real.FFIType.void,
  i32: real.FFIType.i32,
  u32: real.FFIType.u32,
  i64: real.FFIType.i64,
  u64: real.FFIType.u64,
  ptr: real.FFIType.ptr,
};

/**
 * Compile-time only (checked by `deno check`, never imported): the symbol table must be a
 * valid `Deno.ForeignLibraryInterface`, and the subset of the `Deno` namespace that
 * `ffi/deno.ts` describes by hand must match Deno's own types. Kept out of both packages.
 *
 * @module
 */
import type { DenoFfi } from "./deno.ts";
import { symbols } from "./symbols.ts";

export const table: Deno.ForeignLibraryInterface = symbols;

type Real = typeof Deno;
export const pointers: DenoFfi["UnsafePointer"] = Deno.UnsafePointer as Real["UnsafePointer"];
export const views: DenoFfi["UnsafePointerView"] = Deno.UnsafePointerView;
export const permissions: DenoFfi["permissions"] = Deno.permissions;
export const errors: DenoFfi["errors"] = Deno.errors;
// What ffi/deno.ts hands to dlopen must be a library interface Deno accepts.
export const definitions = (
  defs: Parameters<DenoFfi["dlopen"]>[1],
): Deno.ForeignLibraryInterface => defs;

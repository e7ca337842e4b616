/**
 * The hot-path rule of `ffi/symbols.ts` on the runtime running the test: a size declared
 * `u32` reaches a C function that takes a 64-bit `size_t` as exactly the value passed
 * (upper half zero), on the first calls and once the JIT has compiled the call site (Deno's
 * fast path), even when the argument registers held all-ones 64-bit values just before;
 * and `runtime.pointer(-1n)` reaches a 64-bit parameter as -1. The probe is a small shared
 * library compiled with gcc (tests/fixtures/abi_probe.c); without gcc the test is skipped
 * once, with the reason.
 *
 * Runs under both `deno test -A` and `bun test`.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { runtime } from "../ffi/runtime.ts";
import { hasCommand, ROOT, tempDir } from "./helpers.ts";

const probeSymbols = {
  abi_high: { parameters: ["i32", "buffer", "u32"], result: "u32" },
  abi_low: { parameters: ["i32", "buffer", "u32"], result: "u32" },
  abi_dirty: { parameters: ["i64", "i64", "i64"], result: "u32" },
  abi_minus_one: { parameters: ["i32", "buffer", "i32", "pointer", "i32"], result: "u32" },
} as const;

/** Sizes on both sides of 2^31, the transfer cap, and small ones. */
const VALUES = [0, 1, 64, 4096, 65536, 0x7ffff000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

describe("FFI argument passing (the hot-path rule)", {
  skip: hasCommand("gcc") ? false : "skipped, gcc is not installed (install gcc and libc6-dev)",
}, () => {
  it("a u32 argument reaches a 64-bit parameter zero-extended, cold and JIT-hot", () => {
    using dir = tempDir();
    const so = join(dir.path, "abi_probe.so");
    const built = spawnSync("gcc", [
      "-shared",
      "-fPIC",
      "-O2",
      "-o",
      so,
      join(ROOT, "tests", "fixtures", "abi_probe.c"),
    ], { encoding: "utf8" });
    assert.equal(built.status, 0, built.stderr);
    const probe = runtime.open(so, probeSymbols);
    const buf = new Uint8Array(8);
    const minusOne = runtime.pointer(-1n);
    const bad: string[] = [];
    // One call site per symbol (monomorphic), hot enough for the optimizing compiler.
    const check = (value: number) => {
      for (let i = 0; i < 20_000; i++) {
        probe.abi_dirty(-1, -1, -1);
        const high = probe.abi_high(3, buf, value);
        probe.abi_dirty(-1, -1, -1);
        const low = probe.abi_low(3, buf, value);
        if (high !== 0 || low !== value) {
          bad.push(`${value.toString(16)}: high ${high.toString(16)}, low ${low.toString(16)}`);
          return;
        }
        if (probe.abi_minus_one(3, buf, 1, minusOne, 0) !== 1) {
          bad.push("runtime.pointer(-1n) did not arrive as -1");
          return;
        }
      }
    };
    for (const value of VALUES) check(value);
    assert.deepEqual(bad, []);
  });
});

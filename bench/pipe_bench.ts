/**
 * In-process costs of one sysipc pipe, 64-byte messages, no second process: what a call
 * costs on each runtime, without the scheduler's wake-up latency that dominates
 * bench/run.ts. Cases:
 *
 * - `writeSync + readSync`: two FFI calls, the data always there;
 * - `write + read (data ready)`: the async calls on their fast path (no wait);
 * - `read waits, spin 50 µs`: the read starts on an empty pipe, the write comes right
 *   after, and the wait notices it on its next event-loop turn;
 * - `read waits, spin 0`: the same, but the wait parks in io_uring at once and the
 *   kernel's completion wakes the event loop (the wake-up path, in-process).
 *
 * Run with `deno bench -A bench/pipe_bench.ts` (Deno.bench); `bun bench/pipe_bench.ts`
 * runs the same cases with a plain timing loop, so both runtimes can be compared. The
 * loops allocate nothing but the promises of the async calls.
 *
 * @module
 */
import { versions } from "node:process";
import { setWaitSpin } from "../ffi/mod.ts";
import { pipe } from "../pipe/mod.ts";
import { CURRENT, MESSAGE_SIZE } from "./_runtime.ts";

const [reader, writer] = pipe();
const message = new Uint8Array(MESSAGE_SIZE);

/** One benchmark case: a name, and one iteration. */
type Case = [name: string, fn: () => void | Promise<void>];

const cases: Case[] = [
  ["writeSync + readSync", () => {
    writer.writeSync(message);
    reader.readSync(message);
  }],
  ["write + read (data ready)", async () => {
    await writer.write(message);
    await reader.read(message);
  }],
  ["read waits, spin 50 µs", async () => {
    setWaitSpin(50);
    const read = reader.read(message);
    writer.writeSync(message);
    await read;
  }],
  ["read waits, spin 0 (io_uring wake-up)", async () => {
    setWaitSpin(0);
    const read = reader.read(message);
    writer.writeSync(message);
    await read;
    setWaitSpin(50);
  }],
];

if (CURRENT === "deno") {
  for (const [name, fn] of cases) {
    Deno.bench({ name, group: "pipe, 64 B, in-process", baseline: name === cases[0]![0], fn });
  }
} else {
  // Bun has no Deno.bench: warm up, then time batches for about half a second per case.
  console.log(`bun ${versions.bun}: pipe, 64 B, in-process`);
  for (const [name, fn] of cases) {
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const pending = fn(); // awaited only when async, so the sync case stays sync
        if (pending) await pending;
      }
    };
    await run(2000);
    let iterations = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < 500) {
      await run(1000);
      iterations += 1000;
      elapsed = performance.now() - t0;
    }
    const ns = (elapsed * 1e6 / iterations).toFixed(0);
    console.log(`${name.padEnd(40)} ${ns.padStart(7)} ns/iter`);
  }
}

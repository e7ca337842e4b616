/**
 * Micro-benchmarks of the FFI layer, in one process: what a bare libc call costs through
 * sysipc's symbol table, what sysipc's wrapper adds over it (target: ≤ 15 ns per call on
 * Deno's fast path), and what the hot paths' other costs are (the address of a buffer, the
 * clock the suite reads, an async call whose data is already there).
 *
 * The pairs compare the same system calls with and without the wrapper: a 64-byte
 * `writeSync` + `readSync` on a pipe against `libc.write` + `libc.read` on the same pipe,
 * and the same on a Unix stream socket (`send` + `recv`) and an eventfd. The wrapper's
 * cost per call is half the difference of a pair.
 *
 * - `deno bench -A bench/ffi_bench.ts`: Deno's own statistics (Deno.bench);
 * - `deno run -A bench/ffi_bench.ts [--json]`, `bun bench/ffi_bench.ts [--json]`: a timing
 *   loop (the median of 15 batches after a warm-up), as a table or one JSON object of ns
 *   per call (bench/run.ts reads it).
 *
 * @module
 */
import process from "node:process";
import { libc, runtime } from "../ffi/mod.ts";
import { pipe } from "../pipe/mod.ts";
import { EventFd } from "../sem/mod.ts";
import { ShmChannel } from "../shm/mod.ts";
import { socketpair } from "../uds/mod.ts";
import { nowNs } from "./groups/_common.ts";
import { CURRENT } from "./_runtime.ts";

const [reader, writer] = pipe();
const [left, right] = socketpair("stream");
const event = new EventFd();
const channel = ShmChannel.create(`/sysipc-ffi-bench-${process.pid}`, {
  slots: 4,
  slotSize: 64,
});
ShmChannel.unlink(channel.name); // the mapping stays until close
const msg = new Uint8Array(new ArrayBuffer(64));
const buf = new Uint8Array(new ArrayBuffer(64));
const counter = new BigUint64Array(1);
counter[0] = 1n;
const counterBytes = new Uint8Array(counter.buffer);
const [rfd, wfd, lfd, rsfd, efd] = [reader.fd, writer.fd, left.fd, right.fd, event.fd];

/** One case: a name, and one iteration (sync, or async). */
type Case = [name: string, fn: () => unknown];

const cases: Case[] = [
  ["getpid (bare)", () => libc.getpid()],
  ["clock_gettime (the suite's clock)", () => nowNs()],
  ["runtime.addressOf(64-byte view)", () => runtime.addressOf(buf)],
  ["pipe: libc.write + libc.read (bare)", () => {
    libc.write(wfd, msg, 64);
    libc.read(rfd, buf, 64);
  }],
  ["pipe: writeSync + readSync", () => {
    writer.writeSync(msg);
    reader.readSync(buf);
  }],
  ["unix stream: libc.send + libc.recv (bare)", () => {
    libc.send(lfd, msg, 64, 0);
    libc.recv(rsfd, buf, 64, 0);
  }],
  ["unix stream: writeSync + readSync", () => {
    left.writeSync(msg);
    right.readSync(buf);
  }],
  ["eventfd: libc.write + libc.read (bare)", () => {
    libc.write(efd, counterBytes, 8);
    libc.read(efd, counterBytes, 8);
  }],
  ["eventfd: signal + waitSync", () => {
    event.signal();
    event.waitSync();
  }],
  ["ShmChannel: trySend + tryReceiveInto", () => {
    channel.trySend(msg);
    channel.tryReceiveInto(buf);
  }],
  ["pipe: await write + await read (data ready)", async () => {
    await writer.write(msg);
    await reader.read(buf);
  }],
];

/** The wrapper's cost per call: half the difference of each pair. */
const PAIRS: [string, string, string][] = [
  [
    "pipe wrapper overhead per call",
    "pipe: writeSync + readSync",
    "pipe: libc.write + libc.read (bare)",
  ],
  [
    "unix stream wrapper overhead per call",
    "unix stream: writeSync + readSync",
    "unix stream: libc.send + libc.recv (bare)",
  ],
  [
    "eventfd wrapper overhead per call",
    "eventfd: signal + waitSync",
    "eventfd: libc.write + libc.read (bare)",
  ],
];

/** ns per iteration: the median of 15 batches of `n`, after a warm-up. */
async function measure(fn: () => unknown): Promise<number> {
  const batch = async (n: number) => {
    const t0 = nowNs();
    for (let i = 0; i < n; i++) {
      const pending = fn();
      if (pending instanceof Promise) await pending;
    }
    return (nowNs() - t0) / n;
  };
  await batch(50_000);
  const times: number[] = [];
  for (let i = 0; i < 15; i++) times.push(await batch(20_000));
  return times.sort((a, b) => a - b)[7]!;
}

// Under `deno bench` the module is not the main module; under `deno run` and Bun it is.
if (CURRENT === "deno" && !import.meta.main) {
  for (const [name, fn] of cases) {
    Deno.bench({ name, group: "ffi", baseline: name === cases[0]![0], fn: fn as () => void });
  }
} else {
  const ns: Record<string, number> = {};
  for (const [name, fn] of cases) ns[name] = Math.round(await measure(fn) * 10) / 10;
  for (const [name, wrapped, bare] of PAIRS) {
    ns[name] = Math.round((ns[wrapped]! - ns[bare]!) / 2 * 10) / 10;
  }
  if (process.argv.includes("--json")) console.log(JSON.stringify(ns));
  else {
    console.log(`${CURRENT}: ns per iteration`);
    for (const [name, v] of Object.entries(ns)) {
      console.log(`${name.padEnd(48)} ${v.toFixed(1).padStart(8)}`);
    }
  }
  reader.close();
  writer.close();
  left.close();
  right.close();
  event.close();
  channel.close();
}

/**
 * What each mechanism's hot path allocates per message once warm, in one process: bytes of
 * JavaScript heap per send + receive, measured on V8's heap (Deno, run with
 * `--v8-flags=--expose-gc,--min-semi-space-size=64`, so that no collection runs while
 * measuring: `heapUsed` counts young objects until the next one). Bun's heap statistics do
 * not show young objects, so on Bun each path reports "not measurable".
 *
 * Target (issue 12): nothing in steady state, for the forms that fill a caller's buffer
 * and return a number. Forms whose API returns a new object per message (a received
 * message's `Uint8Array`, a `Permit`, a `SignalInfo`, a promise) allocate that object: the
 * table shows how much.
 *
 * Usage: deno run -A --v8-flags=--expose-gc,--min-semi-space-size=64 bench/alloc.ts [--json]
 *
 * @module
 */
import process from "node:process";
import { MessageQueue, SysVMessageQueue } from "../mq/mod.ts";
import { pipe } from "../pipe/mod.ts";
import { EventFd, Semaphore, SysVSemaphoreSet } from "../sem/mod.ts";
import { ShmChannel } from "../shm/mod.ts";
import { SignalReceiver, sigqueue } from "../signal/mod.ts";
import { socketpair } from "../uds/mod.ts";

const base = `/sysipc-alloc-${process.pid}`;
const msg = new Uint8Array(new ArrayBuffer(64));
const buf = new Uint8Array(new ArrayBuffer(64));
const [reader, writer] = pipe();
const [sa, sb] = socketpair("stream");
const [pa, pb] = socketpair("seqpacket");
const channel = ShmChannel.create(`${base}-shm`, { slots: 8, slotSize: 64 });
const queue = MessageQueue.open(`${base}-mq`, { create: true, maxMessages: 10, messageSize: 64 });
const sysvQueue = SysVMessageQueue.get("private", { create: true });
const sem = Semaphore.open(`${base}-sem`, { create: true });
const set = SysVSemaphoreSet.get("private", { create: true, count: 1 });
const up = [{ index: 0, delta: 1 }], down = [{ index: 0, delta: -1 }];
const event = new EventFd();
const signals = SignalReceiver.listen(["SIGRTMIN"]);
const sysvType = { type: 1 };

/** Each hot path: one message sent and received, in this process. */
const paths: [string, () => unknown][] = [
  ["pipe writeSync + readSync", () => {
    writer.writeSync(msg);
    reader.readSync(buf);
  }],
  ["Unix stream writeSync + readSync", () => {
    sa.writeSync(msg);
    sb.readSync(buf);
  }],
  ["ShmChannel trySend + tryReceiveInto", () => {
    channel.trySend(msg);
    channel.tryReceiveInto(buf);
  }],
  ["ShmChannel sendSync + receiveIntoSync", () => {
    channel.sendSync(msg);
    channel.receiveIntoSync(buf);
  }],
  ["eventfd signal + waitSync", () => {
    event.signal();
    event.waitSync();
  }],
  ["System V semaphore opSync(+1) + opSync(-1)", () => {
    set.opSync(up);
    set.opSync(down);
  }],
  ["Unix seqpacket sendSync + receiveSync (returns a message)", () => {
    pa.sendSync(msg);
    pb.receiveSync({ maxSize: 64, maxFds: 0 });
  }],
  ["POSIX mq sendSync + receiveSync (returns a message)", () => {
    queue.sendSync(msg);
    queue.receiveSync();
  }],
  ["System V mq sendSync + receiveSync (returns a message)", () => {
    sysvQueue.sendSync(1, msg);
    sysvQueue.receiveSync(sysvType);
  }],
  ["POSIX semaphore release + acquireSync (returns a Permit)", () => {
    sem.release();
    sem.acquireSync();
  }],
  ["signal sigqueue + receiveSync (returns a SignalInfo)", () => {
    sigqueue(process.pid, "SIGRTMIN", 1);
    signals.receiveSync();
  }],
  ["pipe await write + await read (promises)", async () => {
    await writer.write(msg);
    await reader.read(buf);
  }],
];

const gc = (globalThis as { gc?: () => void }).gc;
const result: Record<string, number | string> = {};
const N = 5000;
try {
  for (const [name, once] of paths) {
    if (gc === undefined || typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") {
      result[name] = "not measurable";
      continue;
    }
    for (let i = 0; i < 20_000; i++) {
      const p = once();
      if (p instanceof Promise) await p;
    }
    // The least of three windows: a window can catch the JIT compiling something.
    let least = Infinity;
    for (let window = 0; window < 3; window++) {
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < N; i++) {
        const p = once();
        if (p instanceof Promise) await p;
      }
      const grown = process.memoryUsage().heapUsed - before;
      if (grown >= 0) least = Math.min(least, grown);
    }
    result[name] = least === Infinity
      ? "a collection ran: not measured"
      : Math.round(least / N * 10) / 10;
  }
} finally {
  reader.close();
  writer.close();
  for (const s of [sa, sb, pa, pb]) s.close();
  channel.close();
  ShmChannel.unlink(channel.name);
  queue.unlink();
  queue.close();
  sysvQueue.remove();
  sem.unlink();
  sem.close();
  set.remove();
  event.close();
  signals.close();
}
if (process.argv.includes("--json")) console.log(JSON.stringify(result));
else for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(60)} ${v}`);

/**
 * The port group: a sysipc `Port` to a child of the same runtime, against what users would
 * use instead, in one pair of runs:
 *
 * - `port-object`, mode `async`: round trips of a small object (an order: integer, string,
 *   array of strings, float, boolean); its `size` is the message's encoded size on the
 *   socket (record header included), which the C case `uds-seqpacket:block:rtt` of the
 *   same size ping-pongs as raw bytes. The same object goes through `worker-object`
 *   (`Worker.postMessage`, a thread of this process), `child-ipc-object` (the IPC channel
 *   of `node:child_process`, JSON, both runtimes) and `bun-ipc-object` (`Bun.spawn({ ipc })`,
 *   Bun only). The receiver checks every field of every echo.
 * - `port`, modes `async` (the port chooses the path), `socket` and `ring` (every message
 *   forced onto that path): `Uint8Array` messages, round trips and streams, each checked
 *   as every case of the suite is. `socket` against `ring` at each size is the measurement
 *   the port's crossover (`CROSSOVER` in port/port.ts) is chosen from.
 * - `fresh-copy` (one process, no IPC): a new `ArrayBuffer` of the message's size and a
 *   copy into it, as any receiver of a new message must make: the runtime's floor for
 *   receiving large messages, against C's `memcpy`.
 * - `copy-floor` (one process, no IPC): `fresh-copy` with the sender's copy before it, into
 *   shared memory in 64 KiB slots (the port ring's) and back out of it: the least a
 *   transfer through shared memory costs when sender and receiver share one CPU.
 * - `ring-floor` (two processes, no protocol): the child copies each message into a ring of
 *   32 × 64 KiB slots in shared memory (the port ring's geometry) and the parent copies it
 *   out into a new `ArrayBuffer`, with bare `Atomics` counters and `sched_yield` for a full
 *   or empty ring, and nothing else: no records, no events, no promises. The least a
 *   stream of new buffers between two processes of the runtime costs in this placement,
 *   which the port's 1 MiB stream is measured against.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { libc } from "../../ffi/libc.ts";
import { connectPort, listenPort, type Port } from "../../port/mod.ts";
import { Encoder } from "../../port/codec.ts";
import { CROSSOVER, setCrossover } from "../../port/port.ts";
import { RECORD_HEADER } from "../../port/wire.ts";
import { SharedMemory } from "../../shm/mod.ts";
import { type Case, caseKey, mark, timedLoop, verify } from "./_common.ts";
import { type Group, messageChild, messageParent, type MessageWay, result } from "./_group.ts";

/** The small object of round trip `i`: the same encoded size for i < 900,000. */
export function order(i: number): Order {
  return {
    id: 100_000 + i,
    name: `order-${100_000 + i}`,
    tags: ["urgent", "paid"],
    price: 12.5,
    ok: true,
  };
}

interface Order {
  id: number;
  name: string;
  tags: string[];
  price: number;
  ok: boolean;
}

/** The encoded size of an order on the socket: record header, value length, value. */
export function orderSize(): number {
  return RECORD_HEADER + 4 + new Encoder().encode(order(0), 0, null);
}

function checkOrder(m: unknown, i: number, where: string): void {
  const o = m as Order;
  if (
    typeof o !== "object" || o === null || o.id !== 100_000 + i ||
    o.name !== `order-${100_000 + i}` || o.tags.length !== 2 || o.tags[0] !== "urgent" ||
    o.tags[1] !== "paid" || o.price !== 12.5 || o.ok !== true
  ) {
    throw new Error(`${where}: wrong echo of order ${i}: ${JSON.stringify(m)}`);
  }
}

/** The port's path policy for a case's mode, set on both sides before the case. */
function usePath(c: Case): void {
  setCrossover(c.mode === "socket" ? Infinity : c.mode === "ring" ? 0 : CROSSOVER);
}

/** A port as a channel of whole `Uint8Array` messages. */
function portWay(port: Port): MessageWay {
  const sync = () => {
    throw new Error("a port has no sync calls");
  };
  return {
    sendSync: sync,
    send: (bytes) => port.postMessage(bytes),
    receiveSync: sync,
    receive: () => port.receive(),
    data: (value) => value as Uint8Array,
  };
}

/** The port ring's slot size: `copy-floor` copies in and out in slots of it. */
const SLOT = 65536;

/** Copies `n` bytes slot by slot, as a ring's sender and receiver do. */
function copySlots(to: Uint8Array, toAt: number, from: Uint8Array, fromAt: number, n: number) {
  for (let at = 0; at < n; at += SLOT) {
    to.set(from.subarray(fromAt + at, fromAt + Math.min(n, at + SLOT)), toAt + at);
  }
}

/**
 * The `fresh-copy` and `copy-floor` cases, in this process: a new buffer per message and a
 * copy into it, from the message itself (`fresh-copy`), or from shared memory that the
 * message was first copied into (`copy-floor`).
 */
async function copyCase(c: Case, where: string) {
  const message = new Uint8Array(c.size);
  const ring = c.mech === "copy-floor" ? new Uint8Array(new SharedArrayBuffer(2 * c.size)) : null;
  let bytes = 0;
  const timer = await timedLoop(c, (i) => {
    mark(message, i);
    const copy = new Uint8Array(new ArrayBuffer(c.size));
    if (ring === null) copy.set(message);
    else {
      const base = (i & 1) * c.size;
      copySlots(ring, base, message, 0, c.size);
      copySlots(copy, 0, ring, base, c.size);
    }
    verify(copy, c.size, i, where);
    if (i >= c.warmup) bytes += c.size;
  });
  return result(c, timer, bytes, false);
}

/** `ring-floor`'s ring: a page of counters (Int32 0: chunks written; 16: chunks read), then the slots. */
const RING_SLOTS = 32;
const RING_HEADER = 4096;
const WRITTEN = 0;
const READ = 16;

/** `ring-floor`'s segment, named after the port. */
const ringName = (portName: string) => `${portName}-ring`;

function ringViews(shm: SharedMemory) {
  return {
    counters: new Int32Array(shm.buffer, 0, RING_HEADER / 4),
    slots: new Uint8Array(shm.buffer, RING_HEADER, RING_SLOTS * SLOT),
  };
}

/** The parent (receiver) of `ring-floor`: a new buffer per message, filled slot by slot. */
async function ringFloorParent(c: Case, shm: SharedMemory, where: string) {
  const { counters, slots } = ringViews(shm);
  let read = 0;
  let bytes = 0;
  const timer = await timedLoop(c, (i) => {
    const copy = new Uint8Array(new ArrayBuffer(c.size));
    for (let at = 0; at < c.size; at += SLOT) {
      while (Atomics.load(counters, WRITTEN) === read) libc.sched_yield();
      const from = (read % RING_SLOTS) * SLOT;
      copy.set(slots.subarray(from, from + Math.min(SLOT, c.size - at)), at);
      Atomics.store(counters, READ, ++read);
    }
    verify(copy, c.size, i, where);
    if (i >= c.warmup) bytes += c.size;
  });
  return result(c, timer, bytes, false);
}

/** The child (sender) of `ring-floor`. */
function ringFloorChild(c: Case, shm: SharedMemory) {
  const { counters, slots } = ringViews(shm);
  const message = new Uint8Array(c.size);
  let written = 0;
  for (let i = 0; i < c.warmup + c.messages; i++) {
    mark(message, i);
    for (let at = 0; at < c.size; at += SLOT) {
      while (written - Atomics.load(counters, READ) === RING_SLOTS) libc.sched_yield();
      const to = (written % RING_SLOTS) * SLOT;
      slots.set(message.subarray(at, Math.min(c.size, at + SLOT)), to);
      Atomics.store(counters, WRITTEN, ++written);
    }
  }
}

/** A replier that answers the next message. */
type Next = (m: unknown) => void;

interface BunLike {
  spawn(cmd: string[], options: unknown): {
    pid: number;
    send(m: unknown): void;
    exited: Promise<number>;
  };
}

export const group: Group = {
  async start(cases, launch) {
    const name = `/bench-port-${process.pid}`;
    // ring-floor's segment, made before the child that opens it (unlinked by finish).
    const ring = cases.some((c) => c.mech === "ring-floor")
      ? SharedMemory.open(ringName(name), {
        create: true,
        exclusive: true,
        size: RING_HEADER + RING_SLOTS * SLOT,
      })
      : null;
    const listener = listenPort(name);
    const child = launch([name]);
    let port: Port;
    try {
      port = await listener.accept({ timeout: 30_000 });
    } finally {
      listener.close();
    }
    const has = (mech: string) => cases.some((c) => c.mech === mech);
    const pids = [child.pid];
    const exits: Promise<unknown>[] = [];
    const stops: (() => void)[] = [];

    // The same object through the runtimes' own channels: each echoes it back.
    let next: Next = () => {};
    const reply = (m: unknown) => next(m);
    const ready = () => new Promise<void>((resolve) => next = () => resolve());
    const senders = new Map<string, (m: unknown) => void>();
    if (has("worker-object")) {
      const worker = new Worker(new URL("./worker_echo.ts", import.meta.url).href, {
        type: "module",
      });
      worker.onmessage = (e: MessageEvent) => reply(e.data);
      senders.set("worker-object", (m) => worker.postMessage(m));
      stops.push(() => worker.terminate());
    }
    if (has("child-ipc-object")) {
      const [command, args] = launch.command(["ipc"]);
      const ipc = spawn(command, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      exits.push(new Promise((resolve) => ipc.on("exit", resolve)));
      ipc.on("message", reply);
      await ready();
      pids.push(ipc.pid!);
      senders.set("child-ipc-object", (m) => ipc.send(m as never));
      stops.push(() => ipc.send("exit"));
    }
    if (has("bun-ipc-object")) {
      const bun = (globalThis as unknown as { Bun: BunLike }).Bun;
      const [command, args] = launch.command(["ipc"]);
      const waiting = ready();
      const ipc = bun.spawn([command, ...args], {
        ipc: reply,
        stdio: ["ignore", "inherit", "inherit"],
      });
      exits.push(ipc.exited);
      await waiting;
      pids.push(ipc.pid);
      senders.set("bun-ipc-object", (m) => ipc.send(m));
      stops.push(() => ipc.send("exit"));
    }

    return {
      pids,
      async run(c: Case) {
        const where = `parent ${caseKey(c)}`;
        if (c.mech === "port") {
          usePath(c);
          return await messageParent(c, portWay(port));
        }
        if (c.mech === "fresh-copy" || c.mech === "copy-floor") return copyCase(c, where);
        if (c.mech === "ring-floor") return ringFloorParent(c, ring!, where);
        if (c.size !== orderSize()) {
          throw new Error(`${where}: an order takes ${orderSize()} bytes, the case says ${c.size}`);
        }
        let bytes = 0;
        let timer;
        if (c.mech === "port-object") {
          usePath(c);
          timer = await timedLoop(c, async (i) => {
            await port.postMessage(order(i));
            checkOrder(await port.receive(), i, where);
            if (i >= c.warmup) bytes += 2 * c.size;
          });
        } else {
          const send = senders.get(c.mech);
          if (send === undefined) throw new Error(`${where}: unknown mechanism`);
          timer = await timedLoop(c, async (i) => {
            const echo = new Promise((resolve) => next = resolve);
            send(order(i));
            checkOrder(await echo, i, where);
            if (i >= c.warmup) bytes += 2 * c.size;
          });
        }
        return result(c, timer, bytes, c.mech.startsWith("port"));
      },
      async finish() {
        port.close();
        if (ring !== null) {
          SharedMemory.unlink(ring.name!);
          ring.close();
        }
        for (const stop of stops) stop();
        const [status, ...codes] = await Promise.all([child.status, ...exits]);
        if (status.code !== 0) {
          throw new Error(`the port child failed: ${status.signal ?? `exit code ${status.code}`}`);
        }
        if (codes.some((code) => code !== 0)) {
          throw new Error(`an IPC child failed: exit codes ${codes.join(", ")}`);
        }
      },
    };
  },

  async child(cases, args) {
    if (args[0] === "ipc") {
      // The runtime's own process IPC (node:child_process, or Bun.spawn's ipc).
      await new Promise<void>((resolve) => {
        process.on("message", (m) => {
          if (m === "exit") {
            process.disconnect?.();
            resolve();
          } else process.send!(m);
        });
        process.send!("ready");
      });
      return;
    }
    using port = await connectPort(args[0]!, { timeout: 30_000 });
    using ring = cases.some((c) => c.mech === "ring-floor")
      ? SharedMemory.open(ringName(args[0]!))
      : null;
    for (const c of cases) {
      if (c.mech === "ring-floor") {
        ringFloorChild(c, ring!);
        continue;
      }
      if (!c.mech.startsWith("port")) continue;
      usePath(c);
      if (c.mech === "port") {
        await messageChild(c, portWay(port));
        continue;
      }
      for (let i = 0; i < c.warmup + c.messages; i++) {
        await port.postMessage(await port.receive());
      }
    }
    // Until the parent closes its end.
    await port.receive().catch(() => {});
  },
};

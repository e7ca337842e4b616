/**
 * The shared-memory group:
 * - `shm`: two `ShmChannel`s for round trips (`ping` to the child, `pong` back; 8 slots
 *   of the largest round-trip size) and one for streams (16 slots of the largest stream
 *   size, the child sends). Round trips: `sync` (`sendSync` + `receiveIntoSync`) and
 *   `async` (`await send` + `await receiveInto`); streams: the child sends with
 *   `sendSync` (`await send`), this side takes each message with `receiveViewSync`
 *   (`await receiveView`) without a copy, checks it, reads one byte of every 64-byte cache
 *   line (so the data does reach this CPU, as it would for a consumer that uses it) and
 *   releases it.
 * - `shm-sysv`, mode `spin`: a System V segment (`SysVSharedMemory`, found through
 *   `ftok`) and the protocol of the C spin baseline written with `Atomics`: copy the
 *   message in, publish its number, spin on the other side's number (with `sched_yield`
 *   every 32 checks), copy the reply out. It shows what the mapping itself costs, with no
 *   channel around it.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { libc } from "../../ffi/mod.ts";
import { ftok, ShmChannel, SysVSharedMemory } from "../../shm/mod.ts";
import { type Case, caseKey, mark, timedLoop, type Timer, verify } from "./_common.ts";
import { type Group, result, session } from "./_group.ts";

const rttSize = (cases: Case[]) =>
  Math.max(64, ...cases.filter((c) => c.mech === "shm" && c.kind === "rtt").map((c) => c.size));
const streamSize = (cases: Case[]) =>
  Math.max(64, ...cases.filter((c) => c.mech === "shm" && c.kind === "stream").map((c) => c.size));

/** Offsets (in 32-bit words) of the spin protocol's words and messages in the segment. */
const PING_SEQ = 0, PONG_SEQ = 16, PING_DATA = 128, PONG_DATA = 192, SEGMENT = 4096;

interface Ends {
  ping: ShmChannel;
  pong: ShmChannel;
  stream: ShmChannel;
  words: Int32Array;
  bytes: Uint8Array;
  /** The last number published on the segment, over every case (never reset: no race). */
  published: number;
}

/**
 * How long the "go" of a stream and a spin may wait before the case fails (the other side
 * died). The measured calls take no timeout: computing a deadline costs more than a
 * sub-microsecond round trip (bench/run.ts kills a pair that hangs).
 */
const TIMEOUT = 60_000;
const WAIT = { timeout: TIMEOUT };

/** Waits until `words[index]` holds `value`, yielding the CPU every 32 checks. */
function spinUntil(words: Int32Array, index: number, value: number): void {
  for (let n = 1; Atomics.load(words, index) !== value; n++) {
    if (n % 32 === 0) {
      libc.sched_yield();
      if (n % 0x100000 === 0 && performance.now() > deadline) {
        throw new Error("the other side stopped answering");
      }
    }
  }
}

let deadline = Infinity;

async function parentCase(c: Case, e: Ends) {
  const where = `parent ${caseKey(c)}`;
  const msg = new Uint8Array(c.size);
  const reply = new Uint8Array(Math.max(c.size, 1));
  let bytes = 0;
  let touched = 0;
  let timer: Timer;
  if (c.mech === "shm-sysv") {
    const { words, bytes: mem } = e;
    const out = mem.subarray(PING_DATA * 4, PING_DATA * 4 + c.size);
    const back = mem.subarray(PONG_DATA * 4, PONG_DATA * 4 + c.size);
    const first = e.published + 1;
    e.published += c.warmup + c.messages;
    deadline = performance.now() + TIMEOUT;
    timer = await timedLoop(c, (i) => {
      mark(msg, i);
      out.set(msg);
      Atomics.store(words, PING_SEQ, first + i);
      spinUntil(words, PONG_SEQ, first + i);
      reply.set(back);
      verify(reply, c.size, i, where);
      if (i >= c.warmup) bytes += 2 * c.size;
    });
  } else if (c.kind === "rtt") {
    timer = await timedLoop(
      c,
      c.mode === "sync"
        ? (i) => {
          mark(msg, i);
          e.ping.sendSync(msg);
          verify(reply, c.size, i, where, e.pong.receiveIntoSync(reply));
          if (i >= c.warmup) bytes += 2 * c.size;
        }
        : async (i) => {
          mark(msg, i);
          await e.ping.send(msg);
          verify(reply, c.size, i, where, await e.pong.receiveInto(reply));
          if (i >= c.warmup) bytes += 2 * c.size;
        },
    );
  } else {
    const take = (m: { bytes: Uint8Array; release(): void }, i: number) => {
      const b = m.bytes;
      verify(b, c.size, i, where);
      for (let j = 0; j < b.length; j += 64) touched += b[j]!;
      m.release();
      if (i >= c.warmup) bytes += c.size;
    };
    if (c.mode === "sync") {
      e.ping.sendSync(msg.subarray(0, 1));
      timer = await timedLoop(c, (i) => take(e.stream.receiveViewSync(), i));
    } else {
      await e.ping.send(msg.subarray(0, 1));
      timer = await timedLoop(c, async (i) => take(await e.stream.receiveView(), i));
    }
    if (touched < 0) throw new Error("unreachable"); // keeps the reads
  }
  return result(c, timer, bytes);
}

async function childCase(c: Case, e: Ends): Promise<void> {
  const total = c.warmup + c.messages;
  const buf = new Uint8Array(Math.max(c.size, 1));
  if (c.mech === "shm-sysv") {
    const { words, bytes: mem } = e;
    const from = mem.subarray(PING_DATA * 4, PING_DATA * 4 + c.size);
    const to = mem.subarray(PONG_DATA * 4, PONG_DATA * 4 + c.size);
    const first = e.published + 1;
    e.published += total;
    deadline = performance.now() + TIMEOUT;
    for (let i = 0; i < total; i++) {
      spinUntil(words, PING_SEQ, first + i);
      buf.set(from);
      to.set(buf);
      Atomics.store(words, PONG_SEQ, first + i);
    }
    return;
  }
  if (c.kind === "rtt") {
    for (let i = 0; i < total; i++) {
      if (c.mode === "sync") {
        e.ping.receiveIntoSync(buf);
        e.pong.sendSync(buf);
      } else {
        await e.ping.receiveInto(buf);
        await e.pong.send(buf);
      }
    }
    return;
  }
  const go = new Uint8Array(c.size === 0 ? 1 : 64);
  if (c.mode === "sync") e.ping.receiveIntoSync(go, WAIT);
  else await e.ping.receiveInto(go, WAIT);
  for (let i = 0; i < total; i++) {
    mark(buf, i);
    if (c.mode === "sync") e.stream.sendSync(buf);
    else await e.stream.send(buf);
  }
}

export const group: Group = {
  start(cases, launch) {
    const base = `/sysipc-bench-${process.pid}`;
    const ping = ShmChannel.create(`${base}-ping`, { slots: 8, slotSize: rttSize(cases) });
    const pong = ShmChannel.create(`${base}-pong`, { slots: 8, slotSize: rttSize(cases) });
    const stream = ShmChannel.create(`${base}-stream`, {
      slots: 16,
      slotSize: streamSize(cases),
    });
    const dir = mkdtempSync(join(tmpdir(), "sysipc-bench-shm-"));
    const segment = SysVSharedMemory.get(ftok(dir, 1), {
      create: true,
      exclusive: true,
      size: SEGMENT,
    });
    const bytes = segment.attach();
    const ends: Ends = {
      ping,
      pong,
      stream,
      bytes,
      words: new Int32Array(bytes.buffer, bytes.byteOffset, SEGMENT / 4),
      published: 0,
    };
    const child = launch([base, dir]);
    return Promise.resolve(session(child, (c) => parentCase(c, ends), () => {
      for (const channel of [ping, pong, stream]) {
        channel.close();
        ShmChannel.unlink(channel.name);
      }
      segment.detach();
      segment.remove();
      rmSync(dir, { recursive: true, force: true });
    }));
  },
  async child(cases, [base, dir]) {
    const segment = SysVSharedMemory.get(ftok(dir!, 1));
    const bytes = segment.attach();
    const ends: Ends = {
      ping: ShmChannel.open(`${base}-ping`),
      pong: ShmChannel.open(`${base}-pong`),
      stream: ShmChannel.open(`${base}-stream`),
      bytes,
      words: new Int32Array(bytes.buffer, bytes.byteOffset, SEGMENT / 4),
      published: 0,
    };
    for (const c of cases) await childCase(c, ends);
    for (const channel of [ends.ping, ends.pong, ends.stream]) channel.close();
    segment.detach();
    segment.close();
  },
};

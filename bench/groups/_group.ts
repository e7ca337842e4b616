/**
 * The shape of a group of cases that one pair of processes runs (bench/side.ts), and the
 * loops shared by the byte-stream groups (pipe, FIFO, stream socket). It measures nothing
 * itself.
 *
 * @module
 */
import { setWaitSpin, waitEngine } from "../../ffi/mod.ts";
import type { Child, FdSource } from "../../pipe/mod.ts";
import {
  type Case,
  caseKey,
  type CaseResult,
  mark,
  timedLoop,
  type Timer,
  verify,
} from "./_common.ts";

/** How a group starts its child side (this group's `child`, in a new process). */
export interface Launch {
  /** Starts it with sysipc's `spawn`, with extra arguments and descriptors. */
  (args: string[], fds?: Record<number, FdSource>): Child;
  /** Its command line (pinned like the child), for groups that start it another way. */
  command(args: string[]): [string, string[]];
}

/** A running pair: the parent side's view of it. */
export interface Session {
  /** The pids of the child processes (this process is the parent). */
  pids: number[];
  /** Runs one case with the child and checks what it received. */
  run(c: Case): Promise<CaseResult>;
  /** Ends the child (it must exit with 0) and releases what the group made. */
  finish(): Promise<void>;
}

/** A group of mechanisms that one pair of processes measures, case after case. */
export interface Group {
  /** Makes the objects, starts the child with `launch`, and returns the session. */
  start(cases: Case[], launch: Launch): Promise<Session>;
  /** The child side: serves every case, in order. */
  child(cases: Case[], args: string[]): Promise<void>;
}

/**
 * A case's result from its timer and the bytes the receiver checked.
 *
 * @param c The case.
 * @param timer Its timer, after the loop.
 * @param bytes Payload bytes checked during the measured messages.
 * @param sysipc Whether sysipc ran it (then the wait engine is reported).
 * @returns The result line.
 */
export function result(c: Case, timer: Timer, bytes: number, sysipc = true): CaseResult {
  return {
    case: caseKey(c),
    messages: c.messages,
    bytes,
    ...timer.stats(),
    ...(sysipc ? { engine: waitEngine() } : {}),
  };
}

/** The default spin limit of the async waits (ffi/wait/spin.ts). */
const DEFAULT_SPIN = 1000;

/**
 * Runs `body` with the wait spin the case's mode asks for (`async-nospin`: 0).
 *
 * @param c The case.
 * @param body What to run.
 * @returns What `body` returns.
 */
export async function withSpin<T>(c: Case, body: () => Promise<T>): Promise<T> {
  if (c.mode !== "async-nospin") return await body();
  setWaitSpin(0);
  try {
    return await body();
  } finally {
    setWaitSpin(DEFAULT_SPIN);
  }
}

/** The byte-stream calls the pipe, FIFO and stream-socket groups share. */
export interface ByteWriter {
  writeSync(data: Uint8Array): number;
  write(data: Uint8Array): Promise<number>;
}

/** The byte-stream calls the pipe, FIFO and stream-socket groups share. */
export interface ByteReader {
  readSync(into: Uint8Array): number | null;
  read(into: Uint8Array): Promise<number | null>;
}

/**
 * Fills `buf` from a byte stream, blocking.
 *
 * @param r The reader.
 * @param buf Where the bytes go: exactly its length is read.
 */
export function readFullSync(r: ByteReader, buf: Uint8Array): void {
  for (let got = 0; got < buf.length;) {
    const n = r.readSync(got === 0 ? buf : buf.subarray(got));
    if (n === null) throw new Error("end of stream in the middle of a case");
    got += n;
  }
}

/**
 * Fills `buf` from a byte stream, without blocking the event loop.
 *
 * @param r The reader.
 * @param buf Where the bytes go: exactly its length is read.
 */
export async function readFull(r: ByteReader, buf: Uint8Array): Promise<void> {
  for (let got = 0; got < buf.length;) {
    const n = await r.read(got === 0 ? buf : buf.subarray(got));
    if (n === null) throw new Error("end of stream in the middle of a case");
    got += n;
  }
}

const go = new Uint8Array(1);

/**
 * The parent side of a byte-stream case: round trips (send, read the echo) or, for a
 * stream, a "go" byte and then the child's messages.
 *
 * @param c The case.
 * @param w Towards the child.
 * @param r From the child.
 * @param sysipc Whether sysipc moves the bytes (then the wait engine is reported).
 * @returns The result.
 */
export function byteStreamParent(
  c: Case,
  w: ByteWriter,
  r: ByteReader,
  sysipc = true,
): Promise<CaseResult> {
  const msg = new Uint8Array(c.size);
  const reply = new Uint8Array(c.size);
  const where = `parent ${caseKey(c)}`;
  let bytes = 0;
  const count = (i: number, n: number) => {
    if (i >= c.warmup) bytes += n;
  };
  const sync = c.mode === "sync";
  return withSpin(c, async () => {
    let timer: Timer;
    if (c.kind === "rtt") {
      timer = await timedLoop(
        c,
        sync
          ? (i) => {
            mark(msg, i);
            w.writeSync(msg);
            readFullSync(r, reply);
            verify(reply, c.size, i, where);
            count(i, 2 * c.size);
          }
          : async (i) => {
            mark(msg, i);
            await w.write(msg);
            await readFull(r, reply);
            verify(reply, c.size, i, where);
            count(i, 2 * c.size);
          },
      );
    } else {
      if (sync) w.writeSync(go);
      else await w.write(go);
      timer = await timedLoop(
        c,
        sync
          ? (i) => {
            readFullSync(r, reply);
            verify(reply, c.size, i, where);
            count(i, c.size);
          }
          : async (i) => {
            await readFull(r, reply);
            verify(reply, c.size, i, where);
            count(i, c.size);
          },
      );
    }
    return result(c, timer, bytes, sysipc);
  });
}

/**
 * The child side of a byte-stream case: echoes, or streams numbered messages.
 *
 * @param c The case.
 * @param r From the parent.
 * @param w Towards the parent.
 */
export async function byteStreamChild(c: Case, r: ByteReader, w: ByteWriter): Promise<void> {
  const buf = new Uint8Array(c.size);
  const total = c.warmup + c.messages;
  const sync = c.mode === "sync";
  await withSpin(c, async () => {
    if (c.kind === "rtt") {
      for (let i = 0; i < total; i++) {
        if (sync) {
          readFullSync(r, buf);
          w.writeSync(buf);
        } else {
          await readFull(r, buf);
          await w.write(buf);
        }
      }
      return;
    }
    if (sync) readFullSync(r, go);
    else await readFull(r, go);
    for (let i = 0; i < total; i++) {
      mark(buf, i);
      if (sync) w.writeSync(buf);
      else await w.write(buf);
    }
  });
}

/**
 * A channel of whole messages, both ways (seqpacket and datagram sockets, message queues):
 * this side's sends go to the other side, its receives come from it.
 */
export interface MessageWay<R = unknown> {
  sendSync(data: Uint8Array): unknown;
  send(data: Uint8Array): Promise<unknown>;
  /** A receive's result, as the API returns it (no wrapper: one await per receive). */
  receiveSync(): R;
  receive(): Promise<R>;
  /** The bytes of a receive's result. */
  data(received: R): Uint8Array;
}

/**
 * The parent side of a message case: round trips, or a "go" message and then the child's
 * stream.
 *
 * @param c The case.
 * @param way The channel.
 * @returns The result.
 */
export async function messageParent<R>(c: Case, way: MessageWay<R>): Promise<CaseResult> {
  const where = `parent ${caseKey(c)}`;
  const msg = new Uint8Array(c.size);
  const sync = c.mode === "sync";
  let bytes = 0;
  let timer: Timer;
  if (c.kind === "rtt") {
    timer = await timedLoop(
      c,
      sync
        ? (i) => {
          mark(msg, i);
          way.sendSync(msg);
          verify(way.data(way.receiveSync()), c.size, i, where);
          if (i >= c.warmup) bytes += 2 * c.size;
        }
        : async (i) => {
          mark(msg, i);
          await way.send(msg);
          verify(way.data(await way.receive()), c.size, i, where);
          if (i >= c.warmup) bytes += 2 * c.size;
        },
    );
  } else {
    if (sync) way.sendSync(go);
    else await way.send(go);
    timer = await timedLoop(
      c,
      sync
        ? (i) => {
          verify(way.data(way.receiveSync()), c.size, i, where);
          if (i >= c.warmup) bytes += c.size;
        }
        : async (i) => {
          verify(way.data(await way.receive()), c.size, i, where);
          if (i >= c.warmup) bytes += c.size;
        },
    );
  }
  return result(c, timer, bytes);
}

/**
 * The child side of a message case: echoes, or streams numbered messages after the "go".
 *
 * @param c The case.
 * @param way The channel.
 */
export async function messageChild<R>(c: Case, way: MessageWay<R>): Promise<void> {
  const total = c.warmup + c.messages;
  const sync = c.mode === "sync";
  if (c.kind === "rtt") {
    for (let i = 0; i < total; i++) {
      if (sync) way.sendSync(way.data(way.receiveSync()));
      else await way.send(way.data(await way.receive()));
    }
    return;
  }
  if (sync) way.receiveSync();
  else await way.receive();
  const buf = new Uint8Array(c.size);
  for (let i = 0; i < total; i++) {
    mark(buf, i);
    if (sync) way.sendSync(buf);
    else await way.send(buf);
  }
}

/**
 * A session over a child that ends when the parent closes its ends.
 *
 * @param child The child process.
 * @param run Runs one case.
 * @param close Closes the parent's ends (the child then sees end of stream, or is done).
 * @returns The session.
 */
export function session(
  child: Child,
  run: (c: Case) => Promise<CaseResult>,
  close: () => void,
): Session {
  return {
    pids: [child.pid],
    run,
    async finish() {
      close();
      const status = await child.status;
      if (status.code !== 0) {
        throw new Error(
          `the child side failed: ${status.signal ?? `exit code ${status.code}`}`,
        );
      }
    },
  };
}

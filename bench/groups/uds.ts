/**
 * The Unix socket group: one `socketpair` of each type (stream, seqpacket, datagram),
 * whose other ends the child gets at fds 3, 4 and 5. A stream moves bytes (`writeSync` /
 * `readSync`, `await write` / `await read`), seqpacket and datagram sockets whole messages
 * (`sendSync` / `receiveSync`, `await send` / `await receive`). Cases: round trips and
 * streams, `sync` and `async`, mechanisms `uds-stream`, `uds-seqpacket`, `uds-dgram`.
 *
 * @module
 */
import { socketpair, type SocketType, UnixConnection } from "../../uds/mod.ts";
import { type Case, caseKey, mark, timedLoop, type Timer, verify } from "./_common.ts";
import { byteStreamChild, byteStreamParent, type Group, result, session } from "./_group.ts";

const TYPES: readonly SocketType[] = ["stream", "seqpacket", "dgram"];
const typeOf = (c: Case) => c.mech.slice("uds-".length) as SocketType;

/** Receives one whole message of a seqpacket or datagram socket. */
function receiveSync(conn: UnixConnection, size: number): Uint8Array {
  const m = conn.receiveSync({ maxSize: Math.max(size, 1), maxFds: 0 });
  if (m === null) throw new Error("end of stream in the middle of a case");
  return m.data;
}

async function receive(conn: UnixConnection, size: number): Promise<Uint8Array> {
  const m = await conn.receive({ maxSize: Math.max(size, 1), maxFds: 0 });
  if (m === null) throw new Error("end of stream in the middle of a case");
  return m.data;
}

const go = new Uint8Array(1);

async function messageParent(c: Case, conn: UnixConnection) {
  const msg = new Uint8Array(c.size);
  const where = `parent ${caseKey(c)}`;
  const sync = c.mode === "sync";
  let bytes = 0;
  let timer: Timer;
  if (c.kind === "rtt") {
    timer = await timedLoop(
      c,
      sync
        ? (i) => {
          mark(msg, i);
          conn.sendSync(msg);
          verify(receiveSync(conn, c.size), c.size, i, where);
          if (i >= c.warmup) bytes += 2 * c.size;
        }
        : async (i) => {
          mark(msg, i);
          await conn.send(msg);
          verify(await receive(conn, c.size), c.size, i, where);
          if (i >= c.warmup) bytes += 2 * c.size;
        },
    );
  } else {
    if (sync) conn.sendSync(go);
    else await conn.send(go);
    timer = await timedLoop(
      c,
      sync
        ? (i) => {
          verify(receiveSync(conn, c.size), c.size, i, where);
          if (i >= c.warmup) bytes += c.size;
        }
        : async (i) => {
          verify(await receive(conn, c.size), c.size, i, where);
          if (i >= c.warmup) bytes += c.size;
        },
    );
  }
  return result(c, timer, bytes);
}

async function messageChild(c: Case, conn: UnixConnection): Promise<void> {
  const total = c.warmup + c.messages;
  const sync = c.mode === "sync";
  if (c.kind === "rtt") {
    for (let i = 0; i < total; i++) {
      if (sync) conn.sendSync(receiveSync(conn, c.size));
      else await conn.send(await receive(conn, c.size));
    }
    return;
  }
  if (sync) receiveSync(conn, 1);
  else await receive(conn, 1);
  const buf = new Uint8Array(c.size);
  for (let i = 0; i < total; i++) {
    mark(buf, i);
    if (sync) conn.sendSync(buf);
    else await conn.send(buf);
  }
}

export const group: Group = {
  start(_cases, launch) {
    const pairs = TYPES.map((type) => socketpair(type));
    const child = launch([], { 3: pairs[0]![1], 4: pairs[1]![1], 5: pairs[2]![1] });
    for (const [, theirs] of pairs) theirs.close();
    const mine = new Map(TYPES.map((type, i) => [type, pairs[i]![0]]));
    return Promise.resolve(session(
      child,
      (c) => {
        const conn = mine.get(typeOf(c))!;
        return typeOf(c) === "stream" ? byteStreamParent(c, conn, conn) : messageParent(c, conn);
      },
      () => {
        for (const conn of mine.values()) conn.close();
      },
    ));
  },
  async child(cases) {
    const conns = new Map(TYPES.map((type, i) => [type, UnixConnection.fromFd(3 + i)]));
    for (const c of cases) {
      const conn = conns.get(typeOf(c))!;
      if (typeOf(c) === "stream") await byteStreamChild(c, conn, conn);
      else await messageChild(c, conn);
    }
    for (const conn of conns.values()) conn.close();
  },
};

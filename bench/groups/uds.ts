/**
 * The Unix socket group: one `socketpair` of each type (stream, seqpacket, datagram),
 * whose other ends the child gets at fds 3, 4 and 5. A stream moves bytes (`writeSync` /
 * `readSync`, `await write` / `await read`), seqpacket and datagram sockets whole messages
 * (`sendSync` / `readSync`, `await send` / `await read`: each read takes one message into
 * one buffer). Cases: round trips and
 * streams, `sync` and `async`, mechanisms `uds-stream`, `uds-seqpacket`, `uds-dgram`.
 *
 * @module
 */
import { socketpair, type SocketType, UnixConnection } from "../../uds/mod.ts";
import type { Case } from "./_common.ts";
import {
  byteStreamChild,
  byteStreamParent,
  type Group,
  messageChild,
  messageParent,
  type MessageWay,
  session,
} from "./_group.ts";

const TYPES: readonly SocketType[] = ["stream", "seqpacket", "dgram"];
const typeOf = (c: Case) => c.mech.slice("uds-".length) as SocketType;

/**
 * A seqpacket or datagram socket as a channel of whole messages of up to `size` bytes,
 * each received into one buffer (`readSync`/`read`, one message per call on these
 * sockets), as the C loop receives: nothing allocated per message.
 */
function messages(conn: UnixConnection, size: number): MessageWay<number | null> {
  const buffer = new Uint8Array(Math.max(size, 1));
  return {
    sendSync: (bytes) => conn.sendSync(bytes),
    send: (bytes) => conn.send(bytes),
    receiveSync: () => conn.readSync(buffer),
    receive: () => conn.read(buffer),
    data(n) {
      if (n === null) throw new Error("end of stream in the middle of a case");
      return buffer.subarray(0, n);
    },
  };
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
        return typeOf(c) === "stream"
          ? byteStreamParent(c, conn, conn)
          : messageParent(c, messages(conn, c.size));
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
      else await messageChild(c, messages(conn, c.size));
    }
    for (const conn of conns.values()) conn.close();
  },
};

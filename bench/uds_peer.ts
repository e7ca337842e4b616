/**
 * The child side of bench/uds_pingpong.ts, on either runtime: takes the socket at fd 3 and
 * echoes `--messages` messages of `--size` bytes with sysipc's async calls (`read` and
 * `write` on a stream, `receive` and `send` on seqpacket and datagram sockets). It
 * measures nothing itself; the parent times the round trips.
 *
 * Usage: uds_peer.ts --type stream|seqpacket|dgram --size N --messages N
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UnixConnection } from "../uds/mod.ts";
import { intOption } from "./_runtime.ts";

const { values } = parseArgs({
  options: {
    type: { type: "string" },
    size: { type: "string" },
    messages: { type: "string" },
  },
});
if (values.size === undefined || values.messages === undefined) {
  throw new TypeError("--size and --messages are required");
}
const size = intOption(values.size, "size", 1);
const messages = intOption(values.messages, "messages", 1);
const conn = UnixConnection.fromFd(3);
if (values.type !== conn.type) throw new TypeError(`fd 3 is a ${conn.type} socket`);
const buf = new Uint8Array(size);

for (let i = 0; i < messages; i++) {
  if (conn.type === "stream") {
    for (let got = 0; got < size;) {
      const n = await conn.read(got === 0 ? buf : buf.subarray(got));
      if (n === null) throw new Error(`uds_peer: end of stream at message ${i}`);
      got += n;
    }
    await conn.write(buf);
  } else {
    const m = await conn.receive({ maxSize: size, maxFds: 0 });
    if (m === null) throw new Error(`uds_peer: end of stream at message ${i}`);
    await conn.send(m.data);
  }
}
conn.close();

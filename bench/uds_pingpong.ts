/**
 * One Unix socket ping-pong measurement with sysipc's async calls on the runtime running
 * it: the mean round-trip time of a `--size`-byte message between this process and a
 * child of the same runtime (bench/uds_peer.ts), over a `socketpair(--type)` whose other
 * end `spawn` hands the child at fd 3, over `--messages` round trips after `--warmup`
 * ones. A stream sends with `write` and reads the whole reply with `read`; seqpacket and
 * datagram sockets use `send` and `receive` (one message each). Each message carries its
 * sequence number and every reply is checked. Prints one JSON line (see `Result` in
 * bench/_runtime.ts); the driver is bench/uds.ts.
 *
 * Usage: uds_pingpong.ts --type stream|seqpacket|dgram [--size 64] [--messages 10000]
 *   [--warmup 1000] [--peer-cpu N] (`--peer-cpu` pins the child with taskset)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { waitEngine } from "../ffi/mod.ts";
import { spawn } from "../pipe/mod.ts";
import { socketpair, type SocketType } from "../uds/mod.ts";
import { checkExit, CURRENT, intOption, pinned, type Result, scriptCommand } from "./_runtime.ts";

const TYPES: readonly SocketType[] = ["stream", "seqpacket", "dgram"];
const { values } = parseArgs({
  options: {
    type: { type: "string", default: "stream" },
    size: { type: "string", default: "64" },
    messages: { type: "string", default: "10000" },
    warmup: { type: "string", default: "1000" },
    "peer-cpu": { type: "string" },
  },
});
const type = values.type as SocketType;
if (!TYPES.includes(type)) throw new TypeError(`--type must be one of ${TYPES.join(", ")}`);
const size = intOption(values.size, "size", 4);
const messages = intOption(values.messages, "messages", 1);
const warmup = intOption(values.warmup, "warmup");
const peerCpu = values["peer-cpu"] === undefined
  ? undefined
  : intOption(values["peer-cpu"], "peer-cpu");
const total = warmup + messages;

const [conn, theirs] = socketpair(type);
const [command, args] = pinned(
  peerCpu,
  scriptCommand(CURRENT, "uds_peer.ts", [
    "--type",
    type,
    "--size",
    String(size),
    "--messages",
    String(total),
  ]),
);
const child = spawn(command, args, { fds: { 3: theirs } });
theirs.close(); // the child has its own copy

const message = new Uint8Array(size);
const view = new DataView(message.buffer);
const reply = new Uint8Array(size);
const replyView = new DataView(reply.buffer);

/** The sequence number of the next reply. */
async function receive(): Promise<number> {
  if (type !== "stream") {
    const m = await conn.receive({ maxSize: size, maxFds: 0 });
    if (m === null || m.data.length !== size) throw new Error("uds_pingpong: bad reply");
    return new DataView(m.data.buffer, m.data.byteOffset).getUint32(0, true);
  }
  for (let got = 0; got < size;) {
    const n = await conn.read(got === 0 ? reply : reply.subarray(got));
    if (n === null) throw new Error("uds_pingpong: end of stream");
    got += n;
  }
  return replyView.getUint32(0, true);
}

let t0 = 0;
for (let i = 0; i < total; i++) {
  if (i === warmup) t0 = performance.now();
  view.setUint32(0, i, true);
  if (type === "stream") await conn.write(message);
  else await conn.send(message);
  const got = await receive();
  if (got !== i) throw new Error(`uds_pingpong: reply ${got} to message ${i}`);
}
const elapsed = performance.now() - t0;
conn.close();
checkExit("uds_peer.ts", await child.status);

const result: Result = {
  bench: "uds",
  case: `${CURRENT}-${type}-${size}`,
  runtime: CURRENT,
  mode: type,
  messages,
  warmup,
  spin_us: "default",
  mean_us: Math.round(elapsed * 1000 / messages * 1000) / 1000,
  engine: waitEngine(),
};
console.log(JSON.stringify(result));

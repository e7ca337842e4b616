/**
 * One pipe ping-pong measurement on the runtime running it: the mean round-trip time of a
 * 64-byte message between this process and a child of the same runtime
 * (bench/pipe_peer.ts), through two sysipc pipes handed to the child at fds 3 and 4 by
 * `spawn`, over `--messages` round trips after `--warmup` ones. Both sides use the same
 * calls:
 *
 * - `sync`: `writeSync` + `readSync` (blocking reads, like the C `block` baseline);
 * - `async`: `await write` + `await read`, with the library's adaptive spin before parking
 *   in the kernel (`--spin` sets its limit);
 * - `async-nospin`: the same with spin 0: every wait parks at once.
 *
 * Each message carries its sequence number and every reply is checked. Prints one JSON
 * line (see `Result` in bench/_runtime.ts). The driver is bench/run.ts.
 *
 * Usage: pipe_pingpong.ts --mode sync|async|async-nospin [--messages 10000]
 * [--warmup 1000] [--spin US] [--peer-cpu N] (`--peer-cpu` pins the child with taskset)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { setWaitSpin, waitEngine } from "../ffi/mod.ts";
import { pipe, type PipeReader, spawn } from "../pipe/mod.ts";
import {
  checkExit,
  CURRENT,
  intOption,
  MESSAGE_SIZE,
  pinned,
  type Result,
  scriptCommand,
} from "./_runtime.ts";

const MODES = ["sync", "async", "async-nospin"] as const;
type Mode = typeof MODES[number];

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "sync" },
    messages: { type: "string", default: "10000" },
    warmup: { type: "string", default: "1000" },
    spin: { type: "string" },
    "peer-cpu": { type: "string" },
  },
});
const mode = values.mode as Mode;
if (!MODES.includes(mode)) throw new TypeError(`--mode must be one of ${MODES.join(", ")}`);
const messages = intOption(values.messages, "messages", 1);
const warmup = intOption(values.warmup, "warmup");
const spin = mode === "async-nospin"
  ? 0
  : values.spin === undefined
  ? undefined
  : intOption(values.spin, "spin");
const peerCpu = values["peer-cpu"] === undefined
  ? undefined
  : intOption(values["peer-cpu"], "peer-cpu");
const total = warmup + messages;
if (spin !== undefined) setWaitSpin(spin);

const [pingReader, pingWriter] = pipe();
const [pongReader, pongWriter] = pipe();
const [command, args] = pinned(
  peerCpu,
  scriptCommand(CURRENT, "pipe_peer.ts", [
    "--mode",
    mode === "sync" ? "sync" : "async",
    "--messages",
    String(total),
    ...(spin === undefined ? [] : ["--spin", String(spin)]),
  ]),
);
const child = spawn(command, args, { fds: { 3: pingReader, 4: pongWriter } });
pingReader.close(); // the child has its own copies
pongWriter.close();

const message = new Uint8Array(MESSAGE_SIZE);
const view = new DataView(message.buffer);

function fail(i: number, got: number | null): never {
  throw new Error(
    got === null
      ? `pipe_pingpong: end of stream at message ${i}`
      : `pipe_pingpong: reply ${got} to message ${i}`,
  );
}

/** Reads one whole message; null at end of stream. */
function readSync(r: PipeReader): number | null {
  let got = 0;
  while (got < MESSAGE_SIZE) {
    const n = r.readSync(got === 0 ? message : message.subarray(got));
    if (n === null) return null;
    got += n;
  }
  return view.getUint32(0, true);
}

/** Reads one whole message; null at end of stream. */
async function read(r: PipeReader): Promise<number | null> {
  let got = 0;
  while (got < MESSAGE_SIZE) {
    const n = await r.read(got === 0 ? message : message.subarray(got));
    if (n === null) return null;
    got += n;
  }
  return view.getUint32(0, true);
}

let t0 = 0;
if (mode === "sync") {
  for (let i = 0; i < total; i++) {
    if (i === warmup) t0 = performance.now();
    view.setUint32(0, i, true);
    pingWriter.writeSync(message);
    const got = readSync(pongReader);
    if (got !== i) fail(i, got);
  }
} else {
  for (let i = 0; i < total; i++) {
    if (i === warmup) t0 = performance.now();
    view.setUint32(0, i, true);
    await pingWriter.write(message);
    const got = await read(pongReader);
    if (got !== i) fail(i, got);
  }
}
const elapsed = performance.now() - t0;

pingWriter.close();
pongReader.close();
checkExit("pipe_peer.ts", await child.status);

const result: Result = {
  bench: "pipe",
  case: `${CURRENT}-${mode}`,
  runtime: CURRENT,
  mode,
  messages,
  warmup,
  spin_us: mode === "sync" ? 0 : spin ?? "default",
  mean_us: Math.round(elapsed * 1000 / messages * 1000) / 1000,
  engine: waitEngine(),
};
console.log(JSON.stringify(result));

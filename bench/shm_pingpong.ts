/**
 * One ShmChannel measurement on the runtime running it, against a child of the same
 * runtime (bench/shm_peer.ts) started through `node:child_process`:
 *
 * - `sync`: round trip of a 64-byte message: `sendSync` on one channel, `receiveIntoSync`
 *   of the echo on another (the peer does the same the other way);
 * - `async`: the same with `await send` and `await receiveInto`;
 * - `stream`: one-way throughput of 64 KiB messages: the peer sends with `sendSync` (one
 *   copy into the slot), this process takes each with `receiveViewSync` (no copy), reads
 *   one byte of every 64-byte cache line of it (so the data does reach this CPU, as it
 *   would for a consumer that uses it), checks its number, and releases it.
 *
 * Round trips carry their sequence number and every echo is checked. Prints one JSON line
 * (see `Result` in bench/_runtime.ts), with `mb_per_s` for `stream`, and besides the mean
 * `batch_median_us`: the median of the means of batches of 1000 round trips (100 streamed
 * messages), which preemption by unrelated work on a shared machine leaves alone (the C
 * baselines report the same). The driver is bench/shm.ts.
 *
 * Usage: shm_pingpong.ts --mode sync|async|stream [--messages N] [--warmup N]
 *   [--peer-cpu N]
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { parseArgs } from "node:util";
import { waitEngine } from "../ffi/mod.ts";
import { ShmChannel } from "../shm/mod.ts";
import {
  checkExit,
  CURRENT,
  intOption,
  MESSAGE_SIZE,
  pinned,
  type Result,
  scriptCommand,
  STREAM_SIZE,
} from "./_runtime.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "sync" },
    messages: { type: "string", default: "100000" },
    warmup: { type: "string", default: "10000" },
    "peer-cpu": { type: "string" },
  },
});
const mode = values.mode!;
if (!["sync", "async", "stream"].includes(mode)) {
  throw new TypeError("--mode must be sync, async or stream");
}
const messages = intOption(values.messages!, "messages", 1);
const warmup = intOption(values.warmup!, "warmup");
const peerCpu = values["peer-cpu"] === undefined
  ? undefined
  : intOption(values["peer-cpu"], "peer-cpu");
const total = messages + warmup;
const base = `/sysipc-bench-${process.pid}`;
const stream = mode === "stream";
const ping = ShmChannel.create(`${base}-ping`, {
  slots: stream ? 16 : 8,
  slotSize: stream ? STREAM_SIZE : MESSAGE_SIZE,
});
const pong = ShmChannel.create(`${base}-pong`, { slots: 8, slotSize: MESSAGE_SIZE });

const [command, args] = pinned(
  peerCpu,
  scriptCommand(CURRENT, "shm_peer.ts", [mode, base, String(total)]),
);
const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
  child.on("exit", (code, signal) => resolve({ code, signal }))
);

const message = new Uint8Array(MESSAGE_SIZE);
const view = new DataView(message.buffer);
let elapsed: number;
let touched = 0;
const batch = stream ? 100 : 1000;
const batches = new Float64Array(Math.ceil(messages / batch));
let batchCount = 0;
let batchStart = 0;
/** Called before message `i`: starts the clock at the warm-up's end, times each batch. */
function tick(i: number): void {
  if (i < warmup || (i - warmup) % batch !== 0) return;
  const now = performance.now();
  if (i > warmup) batches[batchCount++] = (now - batchStart) * 1000 / batch;
  batchStart = now;
}
try {
  let t0 = 0;
  if (mode === "sync") {
    for (let i = 0; i < total; i++) {
      tick(i);
      if (i === warmup) t0 = performance.now();
      view.setUint32(0, i, true);
      ping.sendSync(message);
      pong.receiveIntoSync(message);
      if (view.getUint32(0, true) !== i) throw new Error(`echo ${view.getUint32(0, true)} to ${i}`);
    }
  } else if (mode === "async") {
    for (let i = 0; i < total; i++) {
      tick(i);
      if (i === warmup) t0 = performance.now();
      view.setUint32(0, i, true);
      await ping.send(message);
      await pong.receiveInto(message);
      if (view.getUint32(0, true) !== i) throw new Error(`echo ${view.getUint32(0, true)} to ${i}`);
    }
  } else {
    // The peer streams on `ping`; this side receives.
    for (let i = 0; i < total; i++) {
      tick(i);
      if (i === warmup) t0 = performance.now();
      const m = ping.receiveViewSync({ timeout: 60_000 });
      const b = m.bytes;
      const first = b[0]! | b[1]! << 8 | b[2]! << 16 | b[3]! << 24;
      if (b.length !== STREAM_SIZE || first !== i || b[STREAM_SIZE - 1] !== (i & 255)) {
        throw new Error(`stream: message ${i} is not what was sent`);
      }
      for (let j = 0; j < STREAM_SIZE; j += 64) touched += b[j]!;
      m.release();
    }
  }
  elapsed = performance.now() - t0;
  checkExit("shm_peer.ts", await exited);
} finally {
  ping.close();
  pong.close();
  ShmChannel.unlink(ping.name);
  ShmChannel.unlink(pong.name);
}

const sorted = batches.subarray(0, batchCount).sort();
const half = batchCount >> 1;
const batchMedian = batchCount === 0
  ? elapsed * 1000 / messages
  : batchCount % 2
  ? sorted[half]!
  : (sorted[half - 1]! + sorted[half]!) / 2;
const result: Result & { mb_per_s?: number; batch_median_us: number } = {
  bench: "shm",
  case: `${CURRENT}-${mode}`,
  runtime: CURRENT,
  mode,
  messages,
  warmup,
  spin_us: "default",
  mean_us: Math.round(elapsed * 1000 / messages * 1000) / 1000,
  engine: waitEngine(),
  batch_median_us: Math.round(batchMedian * 1000) / 1000,
};
if (stream) {
  result.mb_per_s = Math.round(messages * STREAM_SIZE / (elapsed * 1000) * 10) / 10;
  if (touched === 0) throw new Error("stream: the messages were not read");
}
console.log(JSON.stringify(result));

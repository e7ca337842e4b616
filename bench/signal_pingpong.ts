/**
 * One signal ping-pong measurement on the runtime running it: the mean round-trip time of
 * `SIGRTMIN` with a value between this process and a child of the same runtime
 * (bench/signal_peer.ts): this side `sigqueue`s the sequence number, the child sends it
 * back, `--messages` times after `--warmup` ones. Both sides receive with a
 * `SignalReceiver`:
 *
 * - `sync`: `receiveSync()` (blocks the thread, like the C baselines);
 * - `async`: `await receive()` (the wait engine, with its adaptive spin).
 *
 * Every reply's value is checked. Prints one JSON line (see `Result` in bench/_runtime.ts).
 * The driver is bench/signal.ts.
 *
 * Usage: signal_pingpong.ts --mode sync|async [--messages 5000] [--warmup 500]
 *   [--peer-cpu N] (`--peer-cpu` pins the child with taskset)
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { waitEngine } from "../ffi/mod.ts";
import { spawn } from "../pipe/mod.ts";
import { SignalReceiver, sigqueue } from "../signal/mod.ts";
import { checkExit, CURRENT, intOption, pinned, type Result, scriptCommand } from "./_runtime.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "sync" },
    messages: { type: "string", default: "5000" },
    warmup: { type: "string", default: "500" },
    "peer-cpu": { type: "string" },
  },
});
const mode = values.mode;
if (mode !== "sync" && mode !== "async") throw new TypeError("--mode must be sync or async");
const messages = intOption(values.messages, "messages", 1);
const warmup = intOption(values.warmup, "warmup");
const peerCpu = values["peer-cpu"] === undefined
  ? undefined
  : intOption(values["peer-cpu"], "peer-cpu");
const total = warmup + messages;

const receiver = SignalReceiver.listen(["SIGRTMIN"]);
const receive = mode === "sync"
  ? () => receiver.receiveSync({ timeout: 10_000 }).value
  : async () => (await receiver.receive({ timeout: 10_000 })).value;
const [command, args] = pinned(
  peerCpu,
  scriptCommand(CURRENT, "signal_peer.ts", [
    "--mode",
    mode,
    "--messages",
    String(total),
    "--parent",
    String(process.pid),
  ]),
);
const child = spawn(command, args);
if (await receive() !== -1) throw new Error("signal_pingpong: no ready signal from the peer");

let t0 = 0;
for (let i = 0; i < total; i++) {
  if (i === warmup) t0 = performance.now();
  sigqueue(child.pid, "SIGRTMIN", i);
  const got = await receive();
  if (got !== i) throw new Error(`signal_pingpong: reply ${got} to signal ${i}`);
}
const elapsed = performance.now() - t0;
checkExit("signal_peer.ts", await child.status);
receiver.close();

const result: Result = {
  bench: "signal",
  case: `${CURRENT}-${mode}`,
  runtime: CURRENT,
  mode,
  messages,
  warmup,
  spin_us: mode === "sync" ? 0 : "default",
  mean_us: Math.round(elapsed * 1000 / messages * 1000) / 1000,
  engine: waitEngine(),
};
console.log(JSON.stringify(result));

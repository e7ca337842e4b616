/**
 * One message queue ping-pong measurement on the runtime running it: the mean round-trip
 * time of a `--size`-byte message between this process and a child of the same runtime
 * (bench/mq_peer.ts), over `--messages` round trips after `--warmup` ones. Both sides use
 * the same calls: `sync` (`sendSync` + `receiveSync`, blocking, like the C baseline) or
 * `async` (`await send` + `await receive`).
 *
 * - `posix`: two POSIX queues, one each way (10 messages of `--size` bytes each);
 * - `sysv`: one private System V queue, type 10 one way and type 11 back, as in the
 *   classic demo.
 *
 * Each message carries its sequence number and every reply is checked; an empty message
 * ends the child. Prints one JSON line (see `Result` in bench/_runtime.ts). The driver is
 * bench/mq.ts.
 *
 * Usage: mq_pingpong.ts --kind posix|sysv --mode sync|async [--size 64] [--messages 2000]
 * [--warmup 200] [--peer-cpu N] (`--peer-cpu` pins the child with taskset)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { waitEngine } from "../ffi/mod.ts";
import { MessageQueue, SysVMessageQueue } from "../mq/mod.ts";
import { spawn } from "../pipe/mod.ts";
import { checkExit, CURRENT, intOption, pinned, type Result, scriptCommand } from "./_runtime.ts";

const { values } = parseArgs({
  options: {
    kind: { type: "string", default: "posix" },
    mode: { type: "string", default: "sync" },
    size: { type: "string", default: "64" },
    messages: { type: "string", default: "2000" },
    warmup: { type: "string", default: "200" },
    "peer-cpu": { type: "string" },
  },
});
const { kind, mode } = values;
if (kind !== "posix" && kind !== "sysv") throw new TypeError("--kind must be posix or sysv");
if (mode !== "sync" && mode !== "async") throw new TypeError("--mode must be sync or async");
const size = intOption(values.size, "size", 4);
const messages = intOption(values.messages, "messages", 1);
const warmup = intOption(values.warmup, "warmup");
const peerCpu = values["peer-cpu"] === undefined
  ? undefined
  : intOption(values["peer-cpu"], "peer-cpu");
const total = warmup + messages;

const message = new Uint8Array(size);
const view = new DataView(message.buffer);

/** Sends a message to the child and returns the sequence number of its reply. */
let roundTrip: (async: boolean) => number | Promise<number>;
/** Sends the empty message that ends the child. */
let end: () => void;
let finish: () => void;
let peerArgs: string[];

if (kind === "posix") {
  const base = `/sysipc-bench-${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
  const options = { create: true, exclusive: true, maxMessages: 10, messageSize: size };
  const ping = MessageQueue.open(`${base}-ping`, options);
  const pong = MessageQueue.open(`${base}-pong`, options);
  peerArgs = ["--ping", ping.name, "--pong", pong.name];
  roundTrip = (async) => {
    if (!async) {
      ping.sendSync(message);
      return new DataView(pong.receiveSync().data.buffer).getUint32(0, true);
    }
    return ping.send(message).then(() => pong.receive()).then((m) =>
      new DataView(m.data.buffer).getUint32(0, true)
    );
  };
  end = () => ping.sendSync(new Uint8Array(0));
  finish = () => {
    for (const q of [ping, pong]) {
      q.unlink();
      q.close();
    }
  };
} else {
  const queue = SysVMessageQueue.get("private", { create: true });
  peerArgs = ["--id", String(queue.id)];
  roundTrip = (async) => {
    if (!async) {
      queue.sendSync(10, message);
      return new DataView(queue.receiveSync({ type: 11 }).data.buffer).getUint32(0, true);
    }
    return queue.send(10, message).then(() => queue.receive({ type: 11 })).then((m) =>
      new DataView(m.data.buffer).getUint32(0, true)
    );
  };
  end = () => queue.sendSync(10, new Uint8Array(0));
  finish = () => queue.remove();
}

const [command, args] = pinned(
  peerCpu,
  scriptCommand(CURRENT, "mq_peer.ts", ["--kind", kind, "--mode", mode, ...peerArgs]),
);
const child = spawn(command, args);

let t0 = 0;
for (let i = 0; i < total; i++) {
  if (i === warmup) t0 = performance.now();
  view.setUint32(0, i, true);
  const got = mode === "sync" ? roundTrip(false) as number : await roundTrip(true);
  if (got !== i) throw new Error(`mq_pingpong: reply ${got} to message ${i}`);
}
const elapsed = performance.now() - t0;

end();
checkExit("mq_peer.ts", await child.status);
finish();

const result: Result = {
  bench: "mq",
  case: `${CURRENT}-${kind}-${mode}-${size}`,
  runtime: CURRENT,
  mode,
  messages,
  warmup,
  spin_us: mode === "sync" ? 0 : "default",
  mean_us: Math.round(elapsed * 1000 / messages * 1000) / 1000,
  engine: waitEngine(),
};
console.log(JSON.stringify(result));

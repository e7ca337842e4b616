/**
 * One semaphore ping-pong measurement on the runtime running it: the mean round-trip time
 * of a post/wait ping-pong between this process and a child of the same runtime
 * (bench/sem_peer.ts), over `--messages` round trips after `--warmup` ones. This side
 * posts "ping" and waits for "pong"; the child waits for "ping" and posts "pong".
 *
 * Kinds: `posix` (two named semaphores: `release` / `acquire`), `sysv` (one set of two:
 * `op(+1)` / `op(-1)`), `eventfd` (two eventfds handed to the child at fds 3 and 4:
 * `signal` / `wait`). Modes: `sync` (the `*Sync` waits) and `async` (the awaited ones, with
 * the library's adaptive spin before parking). Prints one JSON line (`Result` in
 * bench/_runtime.ts); the driver is bench/sem.ts.
 *
 * Usage: sem_pingpong.ts --kind posix|sysv|eventfd --mode sync|async [--messages 10000]
 *   [--warmup 1000] [--peer-cpu N]
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { waitEngine } from "../ffi/mod.ts";
import { spawn } from "../pipe/mod.ts";
import { EventFd, Semaphore, SysVSemaphoreSet } from "../sem/mod.ts";
import { checkExit, CURRENT, intOption, pinned, type Result, scriptCommand } from "./_runtime.ts";
import {
  type Channel,
  eventChannel,
  KINDS,
  MODES,
  semaphoreChannel,
  setChannel,
} from "./sem_peer.ts";

const { values } = parseArgs({
  options: {
    kind: { type: "string", default: "posix" },
    mode: { type: "string", default: "sync" },
    messages: { type: "string", default: "10000" },
    warmup: { type: "string", default: "1000" },
    "peer-cpu": { type: "string" },
  },
});
const kind = values.kind as typeof KINDS[number];
const mode = values.mode as typeof MODES[number];
if (!KINDS.includes(kind)) throw new TypeError(`--kind must be one of ${KINDS.join(", ")}`);
if (!MODES.includes(mode)) throw new TypeError(`--mode must be one of ${MODES.join(", ")}`);
const messages = intOption(values.messages, "messages", 1);
const warmup = intOption(values.warmup, "warmup");
const peerCpu = values["peer-cpu"] === undefined
  ? undefined
  : intOption(values["peer-cpu"], "peer-cpu");
const total = warmup + messages;

let channels: Channel[];
let target = "-";
let fds: Record<number, EventFd> = {};
let cleanup: () => void;
if (kind === "posix") {
  target = `/sem-bench-${process.pid}`;
  const sems = [0, 1].map((i) => Semaphore.open(`${target}-${i}`, { create: true }));
  channels = sems.map(semaphoreChannel);
  cleanup = () => sems.forEach((s) => (s.unlink(), s.close()));
} else if (kind === "sysv") {
  const set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
  target = String(set.id);
  channels = [0, 1].map((i) => setChannel(set, i));
  cleanup = () => set.remove();
} else {
  const events = [new EventFd(), new EventFd()];
  fds = { 3: events[0]!, 4: events[1]! };
  channels = events.map(eventChannel);
  cleanup = () => events.forEach((e) => e.close());
}
const [ping, pong] = channels as [Channel, Channel];

const [command, args] = pinned(
  peerCpu,
  scriptCommand(CURRENT, "sem_peer.ts", [kind, mode, target, String(total)]),
);
const child = spawn(command, args, { fds });

let t0 = 0;
if (mode === "sync") {
  for (let i = 0; i < total; i++) {
    if (i === warmup) t0 = performance.now();
    ping.post();
    pong.waitSync();
  }
} else {
  for (let i = 0; i < total; i++) {
    if (i === warmup) t0 = performance.now();
    ping.post();
    await pong.wait();
  }
}
const elapsed = performance.now() - t0;
checkExit("sem_peer.ts", await child.status);
cleanup();

const result: Result = {
  bench: "sem",
  case: `${CURRENT}-${kind}-${mode}`,
  runtime: CURRENT,
  mode,
  messages,
  warmup,
  spin_us: mode === "sync" ? 0 : "default",
  mean_us: Math.round(elapsed * 1000 / messages * 1000) / 1000,
  engine: waitEngine(),
};
console.log(JSON.stringify(result));

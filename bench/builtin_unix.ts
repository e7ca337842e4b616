/**
 * The runtime's own IPC, for comparison with sysipc in the same run: the mean
 * round-trip time of a 64-byte (`--size`) message over the runtime's built-in Unix-domain stream
 * socket between this process and a child of the same runtime
 * (bench/builtin_unix_peer.ts), over `--messages` round trips after `--warmup` ones.
 * Deno: `Deno.listen({ transport: "unix" })` and `Deno.connect`, awaiting `read`/`write`;
 * Bun: `Bun.listen({ unix })` and `Bun.connect({ unix })`, with `data` callbacks. No
 * sysipc code is involved (the child starts through `node:child_process`).
 *
 * Prints one JSON line (see `Result` in bench/_runtime.ts), with `batch_median_us`: the
 * median of the means of batches of 100 round trips (bench/shm.ts compares with it).
 *
 * Usage: builtin_unix.ts [--messages 10000] [--warmup 1000] [--size 64] [--peer-cpu N]
 * (`--peer-cpu` pins the child with taskset)
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exit } from "node:process";
import { parseArgs } from "node:util";
import {
  checkExit,
  CURRENT,
  intOption,
  median,
  MESSAGE_SIZE,
  pinned,
  type Result,
  scriptCommand,
} from "./_runtime.ts";
import { bunApi, type BunSocket } from "./_bun.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "10000" },
    warmup: { type: "string", default: "1000" },
    size: { type: "string", default: String(MESSAGE_SIZE) },
    "peer-cpu": { type: "string" },
  },
});
const messages = intOption(values.messages, "messages", 1);
const warmup = intOption(values.warmup, "warmup");
const peerCpu = values["peer-cpu"] === undefined
  ? undefined
  : intOption(values["peer-cpu"], "peer-cpu");
const total = warmup + messages;
const size = intOption(values.size, "size", 1);

const dir = mkdtempSync(join(tmpdir(), "sysipc-bench-"));
const path = join(dir, "s");
const message = new Uint8Array(size);
const BATCH = 100;
const batches: number[] = [];
let batchStart = 0;
/** Called before round trip `i`: times each batch of BATCH after the warm-up. */
function tick(i: number): void {
  if (i < warmup || (i - warmup) % BATCH !== 0) return;
  const now = performance.now();
  if (i > warmup) batches.push((now - batchStart) * 1000 / BATCH);
  batchStart = now;
}

/**
 * Starts the peer; resolves once it has exited successfully. If it fails, this process
 * exits at once (nothing else would end a wait for a connection or a reply).
 */
function startPeer(): Promise<void> {
  const [command, args] = pinned(
    peerCpu,
    scriptCommand(CURRENT, "builtin_unix_peer.ts", [
      "--path",
      path,
      "--messages",
      String(total),
      "--size",
      String(size),
    ]),
  );
  const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
  return new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      try {
        checkExit("builtin_unix_peer.ts", { code, signal });
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  }).catch((error) => {
    console.error(error);
    rmSync(dir, { recursive: true, force: true });
    exit(1);
  });
}

/** Deno: awaits each write and the reads that make up each reply. */
async function denoPingPong(): Promise<number> {
  const listener = Deno.listen({ transport: "unix", path });
  const peer = startPeer();
  const conn = await listener.accept();
  listener.close();
  let t0 = 0;
  for (let i = 0; i < total; i++) {
    tick(i);
    if (i === warmup) t0 = performance.now();
    for (let done = 0; done < size;) {
      done += await conn.write(done === 0 ? message : message.subarray(done));
    }
    for (let got = 0; got < size;) {
      const n = await conn.read(got === 0 ? message : message.subarray(got));
      if (n === null) throw new Error(`builtin_unix: end of stream at message ${i}`);
      got += n;
    }
  }
  const elapsed = performance.now() - t0;
  conn.close();
  await peer;
  return elapsed;
}

/** Bun: the `data` callback counts reply bytes and sends the next message. */
async function bunPingPong(): Promise<number> {
  const Bun = bunApi();
  let count = 0;
  let got = 0;
  let t0 = 0;
  let finish!: (elapsed: number) => void;
  let abort!: (error: Error) => void;
  const done = new Promise<number>((resolve, reject) => {
    finish = resolve;
    abort = reject;
  });
  const send = (socket: BunSocket) => {
    tick(count);
    if (count === warmup) t0 = performance.now();
    if (socket.write(message) !== size) abort(new Error("builtin_unix: short write"));
  };
  const server = Bun.listen({
    unix: path,
    socket: {
      open: send,
      data(socket, data) {
        got += data.length;
        if (got < size) return;
        if (got > size) return abort(new Error("builtin_unix: reply too long"));
        got = 0;
        if (++count < total) return send(socket);
        finish(performance.now() - t0);
        socket.end();
      },
      error: (_socket, error) => abort(error),
    },
  });
  const peer = startPeer();
  try {
    const elapsed = await done;
    await peer;
    return elapsed;
  } finally {
    server.stop(true);
  }
}

try {
  const elapsed = CURRENT === "bun" ? await bunPingPong() : await denoPingPong();
  const result: Result = {
    bench: "unix",
    case: `${CURRENT}-unix-builtin`,
    runtime: CURRENT,
    mode: CURRENT === "bun" ? "Bun.listen/Bun.connect" : "Deno.listen/Deno.connect",
    messages,
    warmup,
    spin_us: 0,
    mean_us: Math.round(elapsed * 1000 / messages * 1000) / 1000,
  };
  const batchMedian = batches.length === 0 ? result.mean_us : median(batches);
  console.log(
    JSON.stringify({ ...result, batch_median_us: Math.round(batchMedian * 1000) / 1000 }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The demo behind `npm run demo`: this process (Deno) starts a Bun process with `spawn`,
 * hands it the read end of a pipe at fd 3, and then the two exchange messages over a FIFO
 * pair, printing what they said and the round-trip times.
 *
 * Run: `deno run -A examples/demo.ts` (or swap the runtimes: `bun examples/demo.ts`).
 *
 * Output (run from Deno; from Bun, the runtimes swap places):
 * ```text
 * … (pid …) read on fd 3: hello …, this is … (pid …) on fd 3
 * … → …: ping 1 from …   … → …: pong to "ping 1 from …" from … … µs
 * … → …: ping 5 from …   … → …: pong to "ping 5 from …" from … … µs
 * … child exited with {"code":0,"signal":null}
 * round trip over the FIFO pair, … ↔ …: … µs (mean of 2000)
 * ```
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { mkfifo, openFifoReader, openFifoWriter, pipe, platform, spawn } from "../mod.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const me = platform.runtime;
const peer = me === "deno" ? "bun" : "deno";
const peerBinary = join(root, "node_modules", ".bin", peer);
const peerArgs = peer === "deno"
  ? ["run", "-A", join(here, "demo_peer.ts")]
  : [join(here, "demo_peer.ts")];

const dir = mkdtempSync(join(tmpdir(), "sysipc-demo-"));
try {
  const toPeer = join(dir, "to-peer");
  const fromPeer = join(dir, "from-peer");
  mkfifo(toPeer);
  mkfifo(fromPeer);

  // A pipe whose read end the child gets at fd 3.
  const [greetingReader, greetingWriter] = pipe();
  const child = spawn(peerBinary, [...peerArgs, toPeer, fromPeer], { fds: { 3: greetingReader } });
  greetingReader.close(); // the child has its own copy now
  await greetingWriter.write(`hello ${peer}, this is ${me} (pid ${process.pid}) on fd 3\n`);
  greetingWriter.close();

  // The FIFO opens wait for the peer to open the other ends.
  const [out, back] = await Promise.all([
    openFifoWriter(toPeer, { timeout: 30_000 }),
    openFifoReader(fromPeer, { timeout: 30_000 }),
  ]);
  const buf = new Uint8Array(256);
  const times: number[] = [];
  for (let i = 1; i <= 5; i++) {
    const message = `ping ${i} from ${me}\n`;
    const t0 = performance.now();
    await out.write(message);
    let reply = "";
    while (!reply.endsWith("\n")) {
      const n = await back.read(buf, { timeout: 10_000 });
      if (n === null) throw new Error("the peer hung up");
      reply += new TextDecoder().decode(buf.subarray(0, n));
    }
    const us = (performance.now() - t0) * 1000;
    times.push(us);
    console.log(
      `${me} → ${peer}: ${message.trim().padEnd(18)} ${peer} → ${me}: ${reply.trim().padEnd(28)} ${
        us.toFixed(0)
      } µs`,
    );
  }
  // A longer burst for a steadier round-trip figure.
  const burst = 2000;
  const t0 = performance.now();
  for (let i = 0; i < burst; i++) {
    await out.write("x\n");
    let got = 0;
    while (got < peer.length + 1) got += (await back.read(buf)) ?? 0;
  }
  const mean = (performance.now() - t0) * 1000 / burst;
  out.close();
  back.close();
  const status = await child.status;
  console.log(`${peer} child exited with ${JSON.stringify(status)}`);
  console.log(
    `round trip over the FIFO pair, ${me} ↔ ${peer}: ${mean.toFixed(1)} µs (mean of ${burst})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The other half of `examples/demo.ts`: reads its greeting from fd 3, then answers every
 * line that arrives on one FIFO with a line on the other, until end of stream.
 *
 * @module
 */
import process from "node:process";
import { openFifoReader, openFifoWriter, PipeReader, platform } from "../mod.ts";

const me = platform.runtime;
const [requestsPath, repliesPath] = process.argv.slice(2) as [string, string];

const greeting = PipeReader.fromFd(3);
const buf = new Uint8Array(4096);
let text = "";
for (let n; (n = await greeting.read(buf)) !== null;) {
  text += new TextDecoder().decode(buf.subarray(0, n));
}
greeting.close();
console.log(`${me} (pid ${process.pid}) read on fd 3: ${text.trim()}`);

const [requests, replies] = await Promise.all([
  openFifoReader(requestsPath, { timeout: 30_000 }),
  openFifoWriter(repliesPath, { timeout: 30_000 }),
]);
let pending = "";
while (true) {
  const n = await requests.read(buf);
  if (n === null) break;
  pending += new TextDecoder().decode(buf.subarray(0, n));
  let nl;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    await replies.write(line === "x" ? `${me}\n` : `pong to "${line}" from ${me}\n`);
  }
}
replies.close();
requests.close();

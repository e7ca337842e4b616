/**
 * The child side of the pipe ping-pong (bench/pipe_pingpong.ts), on either runtime: reads
 * 64-byte messages from fd 3 and writes each back to fd 4, `--messages` times (warm-up
 * included), with sysipc's sync calls (`readSync`/`writeSync`) or async ones
 * (`read`/`write`), the async waits spinning for `--spin` microseconds (`setWaitSpin`).
 * It measures nothing itself; the parent times the round trips.
 *
 * Usage: pipe_peer.ts --mode sync|async --messages N [--spin 50]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { setWaitSpin } from "../ffi/mod.ts";
import { PipeReader, PipeWriter } from "../pipe/mod.ts";
import { intOption, MESSAGE_SIZE } from "./_runtime.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "sync" },
    messages: { type: "string" },
    spin: { type: "string" },
  },
});
const mode = values.mode;
if (mode !== "sync" && mode !== "async") throw new TypeError(`--mode must be sync or async`);
if (values.messages === undefined) throw new TypeError("--messages is required");
const messages = intOption(values.messages, "messages", 1);
if (values.spin !== undefined) setWaitSpin(intOption(values.spin, "spin"));

const reader = PipeReader.fromFd(3);
const writer = PipeWriter.fromFd(4);
const message = new Uint8Array(MESSAGE_SIZE);

/** Reads one whole message; false at end of stream. */
function readSync(r: PipeReader): boolean {
  let got = 0;
  while (got < MESSAGE_SIZE) {
    const n = r.readSync(got === 0 ? message : message.subarray(got));
    if (n === null) return false;
    got += n;
  }
  return true;
}

/** Reads one whole message; false at end of stream. */
async function read(r: PipeReader): Promise<boolean> {
  let got = 0;
  while (got < MESSAGE_SIZE) {
    const n = await r.read(got === 0 ? message : message.subarray(got));
    if (n === null) return false;
    got += n;
  }
  return true;
}

let echoed = 0;
if (mode === "sync") {
  while (echoed < messages && readSync(reader)) {
    writer.writeSync(message);
    echoed++;
  }
} else {
  while (echoed < messages && await read(reader)) {
    await writer.write(message);
    echoed++;
  }
}
reader.close();
writer.close();
if (echoed !== messages) {
  throw new Error(`pipe_peer: end of stream after ${echoed} of ${messages} messages`);
}

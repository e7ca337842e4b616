/**
 * The child side of bench/builtin_unix.ts, on either runtime: connects to the parent's
 * Unix-domain socket with the runtime's built-in API (`Deno.connect` or `Bun.connect`) and
 * writes back every 64-byte (`--size`) message it receives, `--messages` times (warm-up included).
 * It measures nothing itself; the parent times the round trips.
 *
 * Usage: builtin_unix_peer.ts --path SOCKET --messages N [--size 64]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { bunApi } from "./_bun.ts";
import { CURRENT, intOption, MESSAGE_SIZE } from "./_runtime.ts";

const { values } = parseArgs({
  options: {
    path: { type: "string" },
    messages: { type: "string" },
    size: { type: "string", default: String(MESSAGE_SIZE) },
  },
});
if (values.path === undefined || values.messages === undefined) {
  throw new TypeError("--path and --messages are required");
}
const path = values.path;
const messages = intOption(values.messages, "messages", 1);
const size = intOption(values.size!, "size", 1);
const message = new Uint8Array(size);

/** Deno: awaits the reads that make up each message, then its echo. */
async function denoEcho(): Promise<number> {
  const conn = await Deno.connect({ transport: "unix", path });
  let echoed = 0;
  try {
    while (echoed < messages) {
      for (let got = 0; got < size;) {
        const n = await conn.read(got === 0 ? message : message.subarray(got));
        if (n === null) return echoed;
        got += n;
      }
      for (let done = 0; done < size;) {
        done += await conn.write(done === 0 ? message : message.subarray(done));
      }
      echoed++;
    }
  } finally {
    conn.close();
  }
  return echoed;
}

/** Bun: the `data` callback echoes each whole message; resolves when the socket closes. */
function bunEcho(): Promise<number> {
  let echoed = 0;
  let got = 0;
  return new Promise((resolve, reject) => {
    bunApi().connect({
      unix: path,
      socket: {
        data(socket, data) {
          // Messages are never pipelined (one in flight), so a chunk never spans two.
          message.set(data, got);
          got += data.length;
          if (got < size) return;
          got = 0;
          if (socket.write(message) !== size) {
            return reject(new Error("builtin_unix_peer: short write"));
          }
          if (++echoed === messages) socket.end();
        },
        close: () => resolve(echoed),
        error: (_socket, error) => reject(error),
      },
    }).catch(reject);
  });
}

const echoed = CURRENT === "bun" ? await bunEcho() : await denoEcho();
if (echoed !== messages) {
  throw new Error(`builtin_unix_peer: end of stream after ${echoed} of ${messages} messages`);
}

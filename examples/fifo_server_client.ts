/**
 * A FIFO server and client: the server makes a named pipe and reads requests from it; the
 * client, a separate process that knows only the path, writes them. Opening the FIFO waits
 * for the other side (without blocking the event loop); the server reads until the client's
 * "end" (or until every writer has closed: end of stream).
 *
 * Run: `deno run -A examples/fifo_server_client.ts` or `bun examples/fifo_server_client.ts`
 * (the server starts the client; or start the client yourself, even from a shell:
 * `echo ping > /path/to/fifo`).
 *
 * Output:
 * ```text
 * server: waiting for a writer on …/requests
 * client: sent 3 pings and "end"
 * server: received "ping 1"
 * server: received "ping 2"
 * server: received "ping 3"
 * server: received "end": done
 * ```
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { mkfifo, openFifoReader, openFifoWriter } from "../fifo/mod.ts";
import { spawn } from "../pipe/mod.ts";
import { self } from "./_self.ts";

if (process.argv[2] === "client") {
  using writer = await openFifoWriter(process.argv[3]!, { timeout: 10_000 }); // waits for the reader
  for (let i = 1; i <= 3; i++) await writer.write(`ping ${i}\n`);
  await writer.write("end\n");
  console.log(`client: sent 3 pings and "end"`);
} else {
  const dir = mkdtempSync(join(tmpdir(), "fifo-example-"));
  const path = join(dir, "requests");
  try {
    mkfifo(path); // mode 0600: only this user may open it
    const [command, args] = self(import.meta.url, "client", path);
    const client = spawn(command, args);
    console.log(`server: waiting for a writer on ${path}`);
    using reader = await openFifoReader(path, { timeout: 10_000 });
    const buf = new Uint8Array(4096);
    let pending = "";
    let done = false;
    while (!done) {
      const n = await reader.read(buf, { timeout: 10_000 });
      if (n === null) break; // every writer closed
      pending += new TextDecoder().decode(buf.subarray(0, n));
      let newline;
      while (!done && (newline = pending.indexOf("\n")) >= 0) {
        const request = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        done = request === "end";
        console.log(done ? `server: received "end": done` : `server: received "${request}"`);
      }
    }
    await client.status;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

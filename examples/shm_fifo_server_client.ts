/**
 * System V shared memory with access control through FIFOs, the classic shape: the server
 * makes a segment (its key from `ftok`) and two FIFOs; the client, a separate process,
 * finds the segment by the same key, writes a message into it and then one byte into the
 * "full" FIFO; the server, blocked on that FIFO, wakes, reads the memory, and writes one
 * byte into the "empty" FIFO so that the client may write the next one. Shared memory has
 * no access control of its own: the FIFOs are what keeps the two from reading and writing
 * the memory at the same time.
 *
 * Run: `deno run -A examples/shm_fifo_server_client.ts` or
 * `bun examples/shm_fifo_server_client.ts`
 *
 * Output:
 * ```text
 * server: segment … (key 0x…) of 4096 bytes, waiting for the client
 * server: read "hello from the client" from shared memory
 * server: read "message 2" from shared memory
 * server: read "message 3" from shared memory
 * server: read "quit": removing the segment
 * client: done, 4 messages written
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
import { ftok, SysVSharedMemory } from "../shm/mod.ts";
import { self } from "./_self.ts";

const PROJECT = 0x66; // ftok's project id: both sides use the same path and id

if (process.argv[2] === "client") {
  const dir = process.argv[3]!;
  using shm = SysVSharedMemory.get(ftok(dir, PROJECT)); // the server's segment, by key
  const memory = shm.attach();
  using full = await openFifoWriter(join(dir, "full"), { timeout: 10_000 });
  using empty = await openFifoReader(join(dir, "empty"), { timeout: 10_000 });
  const token = new Uint8Array(1);
  const messages = ["hello from the client", "message 2", "message 3", "quit"];
  for (const message of messages) {
    const { written } = new TextEncoder().encodeInto(message, memory);
    memory[written] = 0; // NUL-terminated, as C would read it
    await full.write(token); // "there is a message"
    await empty.read(token, { timeout: 10_000 }); // wait until the server has read it
  }
  console.log(`client: done, ${messages.length} messages written`);
} else {
  const dir = mkdtempSync(join(tmpdir(), "shm-example-"));
  try {
    using shm = SysVSharedMemory.get(ftok(dir, PROJECT), {
      create: true,
      exclusive: true,
      size: 4096,
    });
    const memory = shm.attach();
    mkfifo(join(dir, "full"));
    mkfifo(join(dir, "empty"));
    const key = `0x${(shm.key >>> 0).toString(16).padStart(8, "0")}`;
    console.log(`server: segment ${shm.id} (key ${key}) of 4096 bytes, waiting for the client`);
    const [command, args] = self(import.meta.url, "client", dir);
    const client = spawn(command, args);
    using full = await openFifoReader(join(dir, "full"), { timeout: 10_000 });
    using empty = await openFifoWriter(join(dir, "empty"), { timeout: 10_000 });
    const token = new Uint8Array(1);
    while (true) {
      if (await full.read(token, { timeout: 10_000 }) === null) break; // the client is gone
      const message = new TextDecoder().decode(memory.subarray(0, memory.indexOf(0)));
      const quit = message === "quit";
      console.log(
        quit
          ? `server: read "quit": removing the segment`
          : `server: read "${message}" from shared memory`,
      );
      await empty.write(token); // "you may write the next one"
      if (quit) break;
    }
    await client.status;
    shm.remove(); // without this, the segment outlives both processes (ipcs -m lists it)
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

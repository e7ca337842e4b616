/**
 * The System V message queue ping-pong: one queue, two message types. The client sends
 * "ping" as type 10 and waits for a message of type 11; the server waits for type 10 and
 * answers "pong" as type 11. Because each side receives only its own type, one queue
 * carries both directions. "end" (type 10) stops the server, which removes the queue.
 *
 * Run: `deno run -A examples/sysv_mq_pingpong.ts` or `bun examples/sysv_mq_pingpong.ts`
 *
 * Output:
 * ```text
 * server: queue … (key 0x…), waiting for type 10
 * server: received "ping 1" (type 10), sent "pong 1" (type 11)
 * client: sent "ping 1", received "pong 1" (type 11)
 * server: received "ping 2" (type 10), sent "pong 2" (type 11)
 * client: sent "ping 2", received "pong 2" (type 11)
 * server: received "ping 3" (type 10), sent "pong 3" (type 11)
 * client: sent "ping 3", received "pong 3" (type 11)
 * server: received "end": removing the queue
 * ```
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { SysVMessageQueue } from "../mq/mod.ts";
import { spawn } from "../pipe/mod.ts";
import { ftok } from "../shm/mod.ts";
import { self } from "./_self.ts";

const PING = 10;
const PONG = 11;
const text = (data: Uint8Array) => new TextDecoder().decode(data);

if (process.argv[2] === "client") {
  using queue = SysVMessageQueue.get(Number(process.argv[3])); // the server's queue, by key
  for (let i = 1; i <= 3; i++) {
    await queue.send(PING, `ping ${i}`);
    const reply = await queue.receive({ type: PONG, timeout: 10_000 });
    console.log(`client: sent "ping ${i}", received "${text(reply.data)}" (type ${reply.type})`);
  }
  await queue.send(PING, "end");
} else {
  const dir = mkdtempSync(join(tmpdir(), "mq-example-"));
  try {
    const key = ftok(dir, 1); // any process that knows the path computes the same key
    using queue = SysVMessageQueue.get(key, { create: true, exclusive: true });
    const hex = `0x${(key >>> 0).toString(16).padStart(8, "0")}`;
    console.log(`server: queue ${queue.id} (key ${hex}), waiting for type ${PING}`);
    const [command, args] = self(import.meta.url, "client", String(key));
    const client = spawn(command, args);
    for (let i = 1;; i++) {
      const request = await queue.receive({ type: PING, timeout: 10_000 });
      if (text(request.data) === "end") break;
      await queue.send(PONG, `pong ${i}`);
      console.log(
        `server: received "${
          text(request.data)
        }" (type ${request.type}), sent "pong ${i}" (type ${PONG})`,
      );
    }
    console.log(`server: received "end": removing the queue`);
    await client.status;
    queue.remove(); // System V queues outlive their processes: ipcs -q would list it
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

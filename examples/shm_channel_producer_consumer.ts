/**
 * A producer and a consumer on a `ShmChannel`: a bounded queue of messages in shared
 * memory, with no system call per message while both sides are busy. The producer makes
 * the channel (16 slots of 256 bytes) and sends 10,000 jobs as JSON; when the channel is
 * full, `send` waits for room (without blocking the event loop). The consumer, a second
 * process that opens the channel by name, receives them with `receiveSync`, adds them up,
 * and stops at "done". Then the producer removes the channel's name.
 *
 * Run: `deno run -A examples/shm_channel_producer_consumer.ts` or
 * `bun examples/shm_channel_producer_consumer.ts`
 *
 * Output:
 * ```text
 * producer: channel /jobs-… (16 slots of 256 bytes), starting the consumer
 * producer: sent 10000 jobs in … ms
 * consumer: 10000 jobs, sum of n = 50005000 (expected 50005000)
 * ```
 *
 * @module
 */
import process from "node:process";
import { spawn } from "../pipe/mod.ts";
import { ShmChannel } from "../shm/mod.ts";
import { self } from "./_self.ts";

const JOBS = 10_000;

if (process.argv[2] === "consumer") {
  using channel = ShmChannel.open(process.argv[3]!);
  let jobs = 0;
  let sum = 0;
  while (true) {
    const message = new TextDecoder().decode(channel.receiveSync({ timeout: 10_000 }));
    if (message === "done") break;
    const job = JSON.parse(message) as { n: number };
    jobs++;
    sum += job.n;
  }
  const expected = (JOBS * (JOBS + 1)) / 2;
  console.log(`consumer: ${jobs} jobs, sum of n = ${sum} (expected ${expected})`);
} else {
  const name = `/jobs-${process.pid}`;
  using channel = ShmChannel.create(name, { slots: 16, slotSize: 256 });
  try {
    console.log(`producer: channel ${name} (16 slots of 256 bytes), starting the consumer`);
    const [command, args] = self(import.meta.url, "consumer", name);
    const consumer = spawn(command, args);
    const started = performance.now();
    for (let n = 1; n <= JOBS; n++) {
      await channel.send(JSON.stringify({ n, task: "resize", file: `image-${n}.png` }), {
        timeout: 10_000,
      });
    }
    await channel.send("done");
    console.log(`producer: sent ${JOBS} jobs in ${(performance.now() - started).toFixed(0)} ms`);
    await consumer.status;
  } finally {
    channel.unlink(); // the memory goes once both processes have closed it
  }
}

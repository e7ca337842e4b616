/**
 * A POSIX named semaphore guarding a counter in shared memory. Two processes, running at
 * the same time (the parent starts when the child says so in the memory), each add 1 to
 * the counter 10,000 times; an increment is a read and a write (`counter[0] = counter[0] + 1`),
 * so without the lock two processes can read the same value and one update is lost. Holding
 * the semaphore (value 1: a mutex) around each increment makes the total exact. The parent
 * waits with `await acquire()` (its event loop keeps running), the child with `acquireSync()`.
 *
 * Run: `deno run -A examples/sem_shared_counter.ts` or `bun examples/sem_shared_counter.ts`
 *
 * Output:
 * ```text
 * child: 10000 increments done
 * parent: 10000 increments done
 * counter = 20000 (2 processes × 10000 increments, none lost)
 * ```
 *
 * @module
 */
import process from "node:process";
import { spawn } from "../pipe/mod.ts";
import { Semaphore } from "../sem/mod.ts";
import { SharedMemory } from "../shm/mod.ts";
import { self } from "./_self.ts";

const ROUNDS = 10_000;

if (process.argv[2] === "child") {
  const [, , , memoryName, lockName] = process.argv as string[];
  using memory = SharedMemory.open(memoryName!);
  using lock = Semaphore.open(lockName!);
  const counter = new Float64Array(memory.buffer, 0, 1);
  Atomics.store(new Int32Array(memory.buffer, 8, 1), 0, 1); // "started": the parent goes too
  for (let i = 0; i < ROUNDS; i++) {
    using _permit = lock.acquireSync(); // released at the end of each turn of the loop
    counter[0] = counter[0]! + 1;
  }
  console.log(`child: ${ROUNDS} increments done`);
} else {
  const memoryName = `/counter-${process.pid}`;
  const lockName = `/counter-lock-${process.pid}`;
  using memory = SharedMemory.open(memoryName, { create: true, exclusive: true, size: 16 });
  using lock = Semaphore.open(lockName, { create: true, exclusive: true, value: 1 });
  try {
    const counter = new Float64Array(memory.buffer, 0, 1);
    const [command, args] = self(import.meta.url, "child", memoryName, lockName);
    const child = spawn(command, args);
    const started = new Int32Array(memory.buffer, 8, 1);
    while (Atomics.load(started, 0) === 0) await new Promise((r) => setTimeout(r, 1));
    for (let i = 0; i < ROUNDS; i++) {
      using _permit = await lock.acquire({ timeout: 10_000 });
      counter[0] = counter[0]! + 1;
    }
    console.log(`parent: ${ROUNDS} increments done`);
    await child.status;
    const total = counter[0]!;
    const lost = 2 * ROUNDS - total;
    console.log(
      `counter = ${total} (2 processes × ${ROUNDS} increments, ${
        lost ? `${lost} lost` : "none lost"
      })`,
    );
  } finally {
    // The names go; the objects go once both processes have closed them.
    SharedMemory.unlink(memoryName);
    Semaphore.unlink(lockName);
  }
}

/**
 * RobustMutex (issue 14): a process-shared lock that survives its holder's death. A holder
 * on either runtime is killed with SIGKILL while it holds the lock; the survivor's next
 * lock reports `ownerDied`, repairs, and the mutex goes on working.
 */
import assert from "node:assert/strict";
import { spawn as nodeSpawn } from "node:child_process";
import { describe, it } from "node:test";
import { RobustMutex, SharedMemory } from "../mod.ts";
import { fixtureCommand, type RuntimeName, uniqueName } from "./helpers.ts";

/** Starts a holder and resolves once it holds the mutex. */
function holder(runtime: RuntimeName, name: string) {
  const [command, args] = fixtureCommand(runtime, "robust_mutex.ts", [name], [
    "--v8-flags=--expose-gc",
  ]);
  const child = nodeSpawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  const held = new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("held")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`holder exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return { child, held, exited };
}

function mutexIn(name: string) {
  const shm = SharedMemory.open(name, { create: true, exclusive: true, size: 4096 });
  const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
  return { shm, mutex, word: new Int32Array(shm.buffer, 64, 1) };
}

describe("RobustMutex", () => {
  for (const runtime of ["deno", "bun"] as const) {
    for (const form of ["lockSync", "lock"] as const) {
      it(`a ${runtime} holder killed with SIGKILL: ${form} gets ownerDied, repairs, and the lock works on`, async () => {
        const name = `/${uniqueName("mutex")}`;
        const { shm, mutex, word } = mutexIn(name);
        try {
          const h = holder(runtime, name);
          await h.held;
          assert.equal(mutex.tryLock(), null, "held by the other process");
          const waiting = form === "lock" ? mutex.lock({ timeout: 10_000 }) : null;
          h.child.kill("SIGKILL");
          await h.exited;
          const guard = waiting !== null ? await waiting : mutex.lockSync({ timeout: 10_000 });
          assert.equal(guard.ownerDied, true);
          assert.equal(word[0], 1, "the dead holder's half-done update is there to repair");
          word[0] = 0;
          guard.consistent();
          guard.release();
          using again = mutex.lockSync({ timeout: 1000 });
          assert.equal(again.ownerDied, false);
        } finally {
          shm.unlink();
          shm.close();
        }
      });
    }
  }
});

/**
 * The engine's wait for calls with no descriptor to poll: a helper thread makes the
 * blocking call (see ffi/wait/offload.ts). Exercised here on raw System V semaphores, as
 * the sem and mq modules use it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errno, IpcError, libc, runtime } from "../ffi/mod.ts";
import { EAGAIN } from "../ffi/libc.ts";
import { offload, type OffloadRequest } from "../ffi/wait/offload.ts";
import { runFixture, type RuntimeName, sleep } from "./helpers.ts";

const SYS_semget = 64, SYS_semop = 65, SYS_semctl = 66;
const IPC_NOWAIT = 0o4000, IPC_RMID = 0, GETVAL = 12, GETNCNT = 14;

/** A private System V semaphore at 0, removed on dispose. */
function semaphore() {
  const id = libc.syscall(SYS_semget, 0, 1, 0o1600, 0, 0, 0);
  assert.ok(id >= 0, `semget: errno ${errno()}`);
  const ops = (delta: number, flags = 0) => {
    const b = new Uint8Array(new ArrayBuffer(6));
    new DataView(b.buffer).setInt16(2, delta, true);
    new DataView(b.buffer).setInt16(4, flags, true);
    return b;
  };
  const down = ops(-1), downNowait = ops(-1, IPC_NOWAIT), up = ops(1);
  const post = () => libc.syscall(SYS_semop, id, runtime.addressOf(up), 1, 0, 0, 0);
  const request: OffloadRequest = {
    syscall: SYS_semop,
    args: [id, runtime.addressOf(down), 1],
    memory: [down],
    attempt() {
      if (libc.syscall(SYS_semop, id, runtime.addressOf(downNowait), 1, 0, 0, 0) === 0) return 0;
      const e = errno();
      if (e === EAGAIN) return undefined;
      throw new IpcError({ errno: e, syscall: "semop" });
    },
    late: post, // a unit taken after the wait was given up goes back
  };
  return {
    id,
    post,
    request,
    value: () => libc.syscall(SYS_semctl, id, 0, GETVAL, 0, 0, 0),
    waiters: () => libc.syscall(SYS_semctl, id, 0, GETNCNT, 0, 0, 0),
    [Symbol.dispose]: () => libc.syscall(SYS_semctl, id, 0, IPC_RMID, 0, 0, 0),
  };
}

const context = { syscall: "semop" };

describe("worker offload", () => {
  for (const poster of ["deno", "bun"] as RuntimeName[]) {
    it(`a wait completes when a ${poster} process posts, without blocking the event loop`, async () => {
      using sem = semaphore();
      // The wait starts first; only after a timer has fired (which a blocked event loop
      // could not do) does the other process start and post.
      const events: string[] = [];
      const waiting = offload(sem.request, { timeout: 30_000 }, context).then(() => {
        events.push("wait over");
      });
      await sleep(30);
      events.push("timer fired");
      const posted = await runFixture(poster, "sem_poster.ts", [String(sem.id), "1", "0"]);
      assert.equal(posted.code, 0, posted.stderr);
      await waiting;
      assert.deepEqual(events, ["timer fired", "wait over"]);
      assert.equal(sem.value(), 0);
    });
  }

  it("timeouts and aborts leave no waiter in the kernel and steal no unit", async () => {
    using sem = semaphore();
    await assert.rejects(
      offload(sem.request, { timeout: 30 }, context),
      (e) => e instanceof IpcError && e.code === "ETIMEDOUT",
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort("stop"), 20);
    await assert.rejects(
      offload(sem.request, { signal: controller.signal }, context),
      (e) => e === "stop",
    );
    assert.equal(sem.waiters(), 0, "the helper's semop was interrupted");
    sem.post();
    assert.equal(sem.value(), 1, "the given-up waits took nothing");
  });

  for (const poster of ["deno", "bun"] as RuntimeName[]) {
    it(`2,000 units from a ${poster} poster, waits given up at random: every unit accounted`, async () => {
      using sem = semaphore();
      const posting = runFixture(poster, "sem_poster.ts", [String(sem.id), "2000", "2"], 60_000);
      let taken = 0, gaveUp = 0;
      while (taken + sem.value() < 2000) {
        try {
          // Timeouts of 0–3 ms give waits up at every stage: spinning, parked, mid-call.
          await offload(sem.request, { timeout: Math.random() * 3 }, context);
          taken++;
        } catch (e) {
          if (!(e instanceof IpcError && e.code === "ETIMEDOUT")) throw e;
          gaveUp++;
        }
        if ((await Promise.race([posting, null])) !== null && sem.value() === 0) break;
      }
      const posted = await posting;
      assert.equal(posted.code, 0, posted.stderr);
      await sleep(20);
      assert.equal(taken + sem.value(), 2000, `taken ${taken}, left ${sem.value()}`);
      assert.ok(gaveUp > 0, "some waits were given up");
      assert.equal(sem.waiters(), 0);
    });
  }

  // Under `deno test` each new Worker type-checks its module first (≈ 0.7 s, several
  // seconds each on a busy host), and this test starts 8 of them.
  it("more concurrent waits than helper threads all complete", async () => {
    using sem = semaphore();
    // Under `deno test` each new helper type-checks its module as it starts (≈ 1.2 s on a
    // loaded 2-CPU machine, one after another): the 8 starts alone can take 10 s.
    const waits = Array.from(
      { length: 12 },
      () => offload(sem.request, { timeout: 60_000 }, context),
    );
    await sleep(50);
    for (let i = 0; i < 12; i++) sem.post();
    assert.deepEqual(await Promise.all(waits), new Array(12).fill(0));
    assert.equal(sem.value(), 0);
  });

  for (const runtimeName of ["deno", "bun"] as RuntimeName[]) {
    it(`${runtimeName}: helpers are reused, and the process exits on its own`, async () => {
      const t0 = performance.now();
      const result = await runFixture(runtimeName, "offload_exit.ts", [], 20_000);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { helpers: 1 });
      assert.ok(performance.now() - t0 < 15_000);
    });
  }
});

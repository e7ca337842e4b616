/**
 * POSIX named semaphores (sem/semaphore.ts): the API, waits and their timeouts, and the
 * same semaphore used by other processes: Deno and Bun fixtures, and a C program.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { IpcError, platform } from "../mod.ts";
import { Semaphore } from "../sem/mod.ts";
import { forceTrywaitFallback } from "../sem/semaphore.ts";
import {
  CURRENT,
  noLeak,
  OTHER,
  runFixture,
  type RuntimeName,
  sleep,
  tempDir,
  uniqueName,
} from "./helpers.ts";
import {
  countedWaiters,
  cPeer,
  exchangeWithPeer,
  runC,
  shareWithC,
  takeWhileGivingUp,
  type Units,
  unitsOf,
} from "./sem_helpers.ts";

/** A new semaphore with a unique name, closed and unlinked on dispose. */
function fresh(value = 0) {
  const name = `/${uniqueName("sem")}`;
  const sem = Semaphore.open(name, { create: true, exclusive: true, value });
  return {
    name,
    sem,
    [Symbol.dispose]() {
      sem.close();
      try {
        Semaphore.unlink(name);
      } catch {
        // the test unlinked it
      }
    },
  };
}

/** The semaphore as the shared test loops use it. */
function units(sem: Semaphore): Units {
  return {
    take: (options) => sem.acquire(options),
    takeSync: (options) => sem.acquireSync(options),
    give: () => sem.release(),
    value: () => sem.value,
  };
}

const isCode = (code: string) => (e: unknown) => e instanceof IpcError && e.code === code;

describe("Semaphore", () => {
  it("opens, creates exclusively, shares one counter between handles, unlinks", () => {
    using s = fresh(2);
    assert.equal(s.sem.value, 2);
    assert.equal(s.sem.name, s.name);
    assert.throws(
      () => Semaphore.open(s.name, { create: true, exclusive: true }),
      isCode("EEXIST"),
    );
    using again = Semaphore.open(s.name, { create: true, value: 9 }); // exists: value ignored
    assert.equal(again.value, 2);
    again.tryAcquire();
    assert.equal(s.sem.value, 1, "one counter");
    assert.equal(readFileSync(`/dev/shm/sem.${s.name.slice(1)}`).length, 32);
    s.sem.unlink();
    assert.throws(() => Semaphore.open(s.name), isCode("ENOENT"));
    assert.throws(() => Semaphore.unlink(s.name), isCode("ENOENT"));
    assert.equal(again.value, 1, "open handles outlive the name");
  });

  it("makes new semaphores with mode 0600 unless told otherwise", async () => {
    const { statSync } = await import("node:fs");
    using s = fresh();
    assert.equal(statSync(`/dev/shm/sem.${s.name.slice(1)}`).mode & 0o777, 0o600);
    const name = `/${uniqueName("sem-mode")}`;
    using other = Semaphore.open(name, { create: true, mode: 0o640 });
    assert.equal(statSync(`/dev/shm/sem.${name.slice(1)}`).mode & 0o777, 0o640);
    other.unlink();
  });

  it("hands out permits that release exactly once", () => {
    using s = fresh(1);
    {
      using permit = s.sem.acquireSync();
      assert.equal(s.sem.value, 0);
      assert.equal(permit.released, false);
      permit.release();
      permit.release();
      assert.equal(s.sem.value, 1);
    } // disposal after release: nothing more
    assert.equal(s.sem.value, 1);
    {
      using _permit = s.sem.tryAcquire();
      assert.equal(s.sem.tryAcquire(), null);
    }
    assert.equal(s.sem.value, 1);
    s.sem.release();
    assert.equal(s.sem.value, 2, "release() without a permit posts too");
  });

  it("times out: 0 fails at once with EAGAIN, 50 ms with ETIMEDOUT, sync and async", async () => {
    using s = fresh();
    await assert.rejects(s.sem.acquire({ timeout: 0 }), isCode("EAGAIN"));
    assert.throws(() => s.sem.acquireSync({ timeout: 0 }), isCode("EAGAIN"));
    let t0 = performance.now();
    await assert.rejects(s.sem.acquire({ timeout: 50 }), isCode("ETIMEDOUT"));
    assert.ok(performance.now() - t0 >= 50, `async waited ${performance.now() - t0} ms`);
    t0 = performance.now();
    assert.throws(() => s.sem.acquireSync({ timeout: 50 }), isCode("ETIMEDOUT"));
    assert.ok(performance.now() - t0 >= 50, `sync waited ${performance.now() - t0} ms`);
  });

  it("an aborted wait rejects with the reason; given-up waits leave no waiter and steal nothing", async () => {
    using s = fresh();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stop")), 20);
    await assert.rejects(s.sem.acquire({ signal: controller.signal }), /stop/);
    await assert.rejects(
      s.sem.acquire({ signal: AbortSignal.abort("early") }),
      (e) => e === "early",
    );
    await assert.rejects(s.sem.acquire({ timeout: 10 }), isCode("ETIMEDOUT"));
    assert.equal(countedWaiters(s.name), 0, "no waiter is counted any more");
    s.sem.release();
    await sleep(20);
    assert.equal(s.sem.value, 1, "the post is still there");
  });

  it("close() rejects pending acquires with EBADF and uncounts them", async () => {
    const s = fresh();
    const pending = [s.sem.acquire(), s.sem.acquire({ timeout: 5000 })];
    await sleep(20);
    assert.equal(countedWaiters(s.name), 2);
    s.sem.close();
    for (const p of pending) await assert.rejects(p, isCode("EBADF"));
    assert.equal(countedWaiters(s.name), 0);
    assert.throws(() => s.sem.value, isCode("EBADF"));
    assert.throws(() => s.sem.release(), isCode("EBADF"));
    assert.throws(() => s.sem.tryAcquire(), isCode("EBADF"));
    await assert.rejects(s.sem.acquire(), isCode("EBADF"));
    s.sem.close(); // idempotent
    assert.equal(s.sem.closed, true);
    s[Symbol.dispose]();
  });

  // Without the ring's FUTEX_WAIT (the poll backend) each wait takes a helper thread, 8 at
  // most, the rest poll: starting 8 Workers under `deno test` takes seconds on a busy host.
  it("many concurrent async acquires in one process all complete", async () => {
    using s = fresh();
    const waits = Array.from({ length: 10 }, () => s.sem.acquire({ timeout: 30_000 }));
    await sleep(20);
    for (let i = 0; i < 10; i++) s.sem.release();
    const permits = await Promise.all(waits);
    assert.equal(s.sem.value, 0);
    assert.equal(countedWaiters(s.name), 0);
    for (const p of permits) p.release();
    assert.equal(s.sem.value, 10);
  });

  it("on the sem_trywait fallback too: waits, times out, aborts", async () => {
    forceTrywaitFallback(true);
    try {
      using s = fresh();
      setTimeout(() => s.sem.release(), 30);
      (await s.sem.acquire({ timeout: 5000 })).release();
      assert.equal(s.sem.value, 1);
      s.sem.tryAcquire();
      await assert.rejects(s.sem.acquire({ timeout: 30 }), isCode("ETIMEDOUT"));
      await assert.rejects(
        s.sem.acquire({ signal: AbortSignal.timeout(20) }),
        (e) => e instanceof DOMException && e.name === "TimeoutError",
      );
      assert.equal(countedWaiters(s.name), 0, "the fallback never counts itself");
    } finally {
      forceTrywaitFallback(false);
    }
  });

  it("rejects bad arguments before any system call", async () => {
    for (const name of ["x", "/", "/a/b", "", "/.", 42, null, "/a\0b", `/${"n".repeat(251)}`]) {
      assert.throws(
        () => Semaphore.open(name as string, { create: true }),
        TypeError,
        String(name),
      );
    }
    const name = `/${uniqueName("sem-bad")}`;
    assert.throws(() => Semaphore.open(name, { value: 1 }), /value needs create/);
    assert.throws(() => Semaphore.open(name, { exclusive: true }), /exclusive needs create/);
    for (const value of [-1, 0x80000000]) {
      assert.throws(() => Semaphore.open(name, { create: true, value }), RangeError);
    }
    for (const value of [1.5, NaN]) {
      assert.throws(() => Semaphore.open(name, { create: true, value }), TypeError);
    }
    assert.throws(() => Semaphore.open(name, { create: true, value: "1" as never }), TypeError);
    assert.throws(() => Semaphore.open(name, { create: true, mode: 0o1000 }), RangeError);
    assert.throws(() => Semaphore.open(name), isCode("ENOENT"));
    using s = fresh();
    await assert.rejects(s.sem.acquire({ timeout: -1 }), RangeError);
    await assert.rejects(s.sem.acquire({ timeout: NaN }), RangeError);
    await assert.rejects(s.sem.acquire({ signal: "no" as never }), TypeError);
    assert.throws(() => s.sem.acquireSync({ timeout: -5 }), RangeError);
    assert.throws(() => s.sem.acquireSync(3 as never), TypeError);
  });

  it("reports EOVERFLOW at SEM_VALUE_MAX", () => {
    using s = fresh(0x7fffffff);
    assert.throws(() => s.sem.release(), isCode("EOVERFLOW"));
    assert.equal(s.sem.value, 0x7fffffff);
  });

  it("an async wait does not block the event loop", () =>
    noLeak(async () => {
      using s = fresh();
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      setTimeout(() => s.sem.release(), 80);
      const permit = await s.sem.acquire({ timeout: 5000 });
      clearInterval(ticker);
      assert.ok(ticks >= 5, `the event loop ran (${ticks} ticks)`);
      permit.release();
    }));
});

describe("Semaphore across processes", () => {
  for (const peer of ["deno", "bun"] as RuntimeName[]) {
    for (const mode of ["sync", "async"]) {
      it(`${CURRENT} waits (${mode}) for a ${peer} poster, and the reverse`, async () => {
        using s = fresh();
        await exchangeWithPeer(
          units(s.sem),
          mode,
          (action) => runFixture(peer, "sem_peer.ts", ["posix", s.name, action, "20", "3"]),
        );
      });
    }
  }

  it(
    "keeps mutual exclusion: 2 Deno and 2 Bun processes, 10,000 increments each",
    { timeout: 120_000 },
    async () => {
      using dir = tempDir();
      const file = join(dir.path, "counter");
      writeFileSync(file, new Uint8Array(4096));
      using s = fresh(1);
      const runs = (["deno", "deno", "bun", "bun"] as RuntimeName[]).map((r) =>
        runFixture(r, "sem_counter.ts", ["posix", s.name, file, "10000", "2"], 110_000)
      );
      for (const run of await Promise.all(runs)) assert.equal(unitsOf(run), 10000);
      assert.equal(readFileSync(file).readInt32LE(0), 40000);
      assert.equal(s.sem.value, 1);
      assert.equal(countedWaiters(s.name), 0);
    },
  );

  it("C's sem_post releases a sysipc waiter, and sysipc's releases a C waiter", {
    skip: cPeer.skip,
  }, async () => {
    using s = fresh();
    const posting = runC(["post", s.name, "50", "2000"]);
    for (let i = 0; i < 50; i++) {
      if (i % 2) s.sem.acquireSync({ timeout: 10_000 });
      else await s.sem.acquire({ timeout: 10_000 });
    }
    assert.equal(unitsOf(await posting), 50);
    const waiting = runC(["wait", s.name, "50", "10000"]);
    for (let i = 0; i < 50; i++) {
      await sleep(Math.random() * 2);
      s.sem.release();
    }
    assert.equal(unitsOf(await waiting), 50);
    assert.equal(s.sem.value, 0);
  });

  it("shares posts fairly with a blocked C waiter", { skip: cPeer.skip }, async () => {
    using s = fresh();
    const draining = runC(["drain", s.name, "1500"]);
    await sleep(100); // the C waiter is blocked by now
    const posting = runFixture(OTHER, "sem_peer.ts", ["posix", s.name, "post", "200", "4"]);
    await shareWithC(units(s.sem), draining, posting);
  });

  it(
    "accounts for every one of 2,000 units posted by C while waits are given up at random",
    { skip: cPeer.skip, timeout: 120_000 },
    async () => {
      using s = fresh();
      const posting = runC(["post", s.name, "2000", "2000"], 110_000);
      const { taken, gaveUp } = await takeWhileGivingUp(units(s.sem), posting);
      assert.equal(unitsOf(await posting), 2000);
      assert.equal(taken + s.sem.value, 2000, `taken ${taken}, left ${s.sem.value}`);
      assert.ok(gaveUp > 0, "some waits were given up");
      assert.equal(countedWaiters(s.name), 0);
    },
  );

  it(`a process waiting on a semaphore exits on its own once no wait is pending`, async () => {
    for (const r of ["deno", "bun"] as RuntimeName[]) {
      const result = await runFixture(r, "sem_lifetime.ts", [`/${uniqueName("life")}`], 30_000);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { helpers: 1 }, "one helper thread, reused");
    }
  });

  it("reports which wait it uses", () => {
    assert.equal(platform.semaphoreWait, "futex"); // glibc on x86_64, as tested here
  });
});

/**
 * System V semaphore sets (sem/sysv_semaphore_set.ts): every semctl command, atomic
 * operation lists, SEM_UNDO across SIGKILL, waits through the offload helper, and the
 * same set used by Deno, Bun, C and Perl processes and listed by `ipcs`.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { IpcError } from "../mod.ts";
import { type SemaphoreOperation, SysVSemaphoreSet } from "../sem/mod.ts";
import {
  CURRENT,
  fixtureCommand,
  hasCommand,
  noLeak,
  OTHER,
  runFixture,
  type RuntimeName,
  sleep,
  tempDir,
} from "./helpers.ts";
import {
  cPeer,
  exchangeWithPeer,
  runC,
  shareWithC,
  takeWhileGivingUp,
  type Units,
  unitsOf,
} from "./sem_helpers.ts";

const isCode = (code: string) => (e: unknown) => e instanceof IpcError && e.code === code;

/** A key no other test uses (random, in a range away from 0 and IPC_PRIVATE). */
function randomKey(): number {
  return 0x5e000000 + Math.floor(Math.random() * 0xffffff);
}

/** A new private set of `count` semaphores, removed on dispose. */
function fresh(count = 1, key: number | "private" = "private") {
  const set = SysVSemaphoreSet.get(key, { create: true, exclusive: true, count });
  return Object.assign(set, {
    [Symbol.dispose]() {
      try {
        SysVSemaphoreSet.fromId(set.id).remove();
      } catch {
        // the test removed it
      }
      set.close();
    },
  });
}

const down = (index = 0, extra: Partial<SemaphoreOperation> = {}) => [
  { index, delta: -1, ...extra },
];
const up = (index = 0) => [{ index, delta: 1 }];

/** Semaphore 0 of a set as the shared test loops use it. */
function units(set: SysVSemaphoreSet): Units {
  const take = down(), give = up();
  return {
    take: (options) => set.op(take, options),
    takeSync: (options) => set.opSync(take, options),
    give: () => set.opSync(give),
    value: () => set.getValue(0),
  };
}

/** Waits until `check` holds, polling every few ms (for states another thread reaches). */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

describe("SysVSemaphoreSet", () => {
  it("gets and creates sets by key, exclusively, with a count and a mode", () => {
    const key = randomKey();
    using set = fresh(3, key);
    assert.equal(set.count, 3);
    assert.throws(
      () => SysVSemaphoreSet.get(key, { create: true, exclusive: true }),
      isCode("EEXIST"),
    );
    using again = SysVSemaphoreSet.get(key);
    assert.equal(again.id, set.id);
    assert.equal(again.count, 3);
    using unsigned = SysVSemaphoreSet.get(key >>> 0);
    assert.equal(unsigned.id, set.id);
    assert.throws(() => SysVSemaphoreSet.get(key, { count: 4 }), isCode("EINVAL"));
    assert.throws(() => SysVSemaphoreSet.get(randomKey()), isCode("ENOENT"));
    const stat = set.stat();
    assert.equal(stat.key, key);
    assert.equal(stat.mode, 0o600);
    assert.equal(stat.count, 3);
    assert.equal(stat.uid, process.getuid?.());
    assert.equal(stat.lastOpTime, null);
    assert.ok(stat.changeTime instanceof Date);
    using moded = SysVSemaphoreSet.get("private", { create: true, mode: 0o640 });
    assert.equal(moded.stat().mode, 0o640);
    moded.remove();
  });

  it("implements GETVAL, SETVAL, GETALL, SETALL, GETPID, GETNCNT, GETZCNT", async () => {
    using set = fresh(3);
    assert.deepEqual(set.values(), [0, 0, 0]);
    set.setValues([1, 2, 32767]);
    assert.deepEqual(set.values(), [1, 2, 32767]);
    set.setValue(1, 7);
    assert.equal(set.getValue(1), 7);
    assert.equal(set.lastPid(0), process.pid, "SETALL counts as an operation");
    set.opSync(up(0));
    assert.equal(set.getValue(0), 2);
    assert.ok(set.stat().lastOpTime instanceof Date);
    set.setValues([0, 1, 0]);
    const taking = set.op(down(0), { timeout: 5000 });
    const zero = set.op([{ index: 1, delta: 0 }], { timeout: 5000 });
    await until(() => set.waitingCount(0) === 1 && set.zeroWaitingCount(1) === 1, "two waiters");
    set.opSync([{ index: 0, delta: 1 }, { index: 1, delta: -1 }]);
    await Promise.all([taking, zero]);
    assert.equal(set.waitingCount(0), 0);
    assert.equal(set.zeroWaitingCount(1), 0);
    assert.deepEqual(set.values(), [0, 0, 0]);
  });

  it("applies an operation list atomically: all or nothing", async () => {
    using set = fresh(2);
    set.setValues([1, 0]);
    const both = [{ index: 0, delta: -1 }, { index: 1, delta: -1 }];
    assert.equal(set.tryOp(both), false);
    assert.deepEqual(set.values(), [1, 0], "nothing was taken");
    const pending = set.op(both, { timeout: 5000 });
    await until(() => set.waitingCount(1) === 1, "the waiter");
    assert.deepEqual(set.values(), [1, 0]);
    set.setValue(1, 1);
    await pending;
    assert.deepEqual(set.values(), [0, 0]);
    set.opSync([{ index: 0, delta: 3 }, { index: 1, delta: 2 }]);
    assert.equal(set.tryOp([{ index: 0, delta: -3 }, { index: 1, delta: -2 }]), true);
  });

  it("waits for zero", async () => {
    using set = fresh();
    set.setValue(0, 2);
    let done = false;
    const zero = set.op([{ index: 0, delta: 0 }], { timeout: 5000 }).then(() => done = true);
    set.opSync(down());
    await sleep(20);
    assert.equal(done, false);
    set.opSync(down());
    await zero;
    set.opSync([{ index: 0, delta: 0 }], { timeout: 0 });
  });

  it("noWait makes the call fail with EAGAIN instead of waiting", async () => {
    using set = fresh(2);
    await assert.rejects(set.op(down(0, { noWait: true })), isCode("EAGAIN"));
    assert.throws(() => set.opSync(down(0, { noWait: true })), isCode("EAGAIN"));
    assert.throws(() => set.opSync(down(0, { noWait: true }), { timeout: 500 }), isCode("EAGAIN"));
    // Mixed: the kernel tries in order; the first that cannot proceed decides.
    set.setValues([0, 1]);
    const mixed = [{ index: 1, delta: -1 }, { index: 0, delta: -1, noWait: true }];
    await assert.rejects(set.op(mixed), isCode("EAGAIN"));
    set.setValues([1, 0]);
    const waiting = set.op(mixed, { timeout: 5000 });
    await until(() => set.waitingCount(1) === 1, "the waiter");
    set.opSync(up(1));
    await waiting;
    assert.deepEqual(set.values(), [0, 0]);
  });

  it("times out: 0 fails at once with EAGAIN, 50 ms with ETIMEDOUT, sync and async", async () => {
    using set = fresh();
    await assert.rejects(set.op(down(), { timeout: 0 }), isCode("EAGAIN"));
    assert.throws(() => set.opSync(down(), { timeout: 0 }), isCode("EAGAIN"));
    let t0 = performance.now();
    await assert.rejects(set.op(down(), { timeout: 50 }), isCode("ETIMEDOUT"));
    assert.ok(performance.now() - t0 >= 50, `async waited ${performance.now() - t0} ms`);
    t0 = performance.now();
    assert.throws(() => set.opSync(down(), { timeout: 50 }), isCode("ETIMEDOUT"));
    assert.ok(performance.now() - t0 >= 50, `sync waited ${performance.now() - t0} ms`);
  });

  it("an aborted op rejects with the reason; given-up ops leave no waiter and take nothing", async () => {
    using set = fresh();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stop")), 30);
    await assert.rejects(set.op(down(), { signal: controller.signal }), /stop/);
    await assert.rejects(
      set.op(down(), { signal: AbortSignal.abort("early") }),
      (e) => e === "early",
    );
    await assert.rejects(set.op(down(), { timeout: 10 }), isCode("ETIMEDOUT"));
    assert.equal(set.waitingCount(0), 0);
    set.opSync(up());
    await sleep(20);
    assert.equal(set.getValue(0), 1, "the unit is still there");
  });

  it("close() rejects pending ops with EBADF; remove() fails waiters with EIDRM", async () => {
    const set = fresh();
    const pending = set.op(down());
    await until(() => set.waitingCount(0) === 1, "the waiter");
    set.close();
    await assert.rejects(pending, isCode("EBADF"));
    assert.throws(() => set.getValue(0), isCode("EBADF"));
    await assert.rejects(set.op(up()), isCode("EBADF"));
    set.close();
    using other = SysVSemaphoreSet.fromId(set.id);
    assert.equal(other.waitingCount(0), 0, "the helper's semop was interrupted");
    const elsewhere = SysVSemaphoreSet.fromId(set.id);
    const waiting = elsewhere.op(down(), { timeout: 5000 });
    await until(() => other.waitingCount(0) === 1, "the waiter");
    other.remove();
    await assert.rejects(waiting, isCode("EIDRM"));
    assert.throws(() => other.values(), isCode("EIDRM"));
    assert.throws(() => other.remove(), isCode("EIDRM"));
    assert.throws(() => elsewhere.getValue(0), (e) => isCode("EINVAL")(e) || isCode("EIDRM")(e));
    assert.throws(() => SysVSemaphoreSet.fromId(set.id), isCode("EINVAL"));
    elsewhere.close();
  });

  it("rejects bad arguments before any system call", async () => {
    using set = fresh(2);
    for (const key of [1.5, NaN, "x", null, {}]) {
      assert.throws(() => SysVSemaphoreSet.get(key as never), TypeError, String(key));
    }
    assert.throws(() => SysVSemaphoreSet.get(2 ** 32), RangeError);
    assert.throws(() => SysVSemaphoreSet.get(-(2 ** 31) - 1), RangeError);
    for (const count of [0, -1, 32001]) {
      assert.throws(() => SysVSemaphoreSet.get("private", { create: true, count }), RangeError);
    }
    assert.throws(() => SysVSemaphoreSet.get("private", { exclusive: true }), TypeError);
    assert.throws(() => SysVSemaphoreSet.fromId(-1), RangeError);
    const bad: [unknown, ErrorConstructor][] = [
      [[], RangeError],
      ["ops", TypeError],
      [null, TypeError],
      [[null], TypeError],
      [[{ index: 2, delta: 1 }], RangeError],
      [[{ index: -1, delta: 1 }], RangeError],
      [[{ index: 0.5, delta: 1 }], TypeError],
      [[{ index: 0, delta: 32768 }], RangeError],
      [[{ index: 0, delta: -32768 }], RangeError],
      [[{ index: 0, delta: 1e10 }], RangeError],
      [[{ index: 0 }], TypeError],
      [[{ index: 0, delta: 1, undo: "yes" }], TypeError],
      [[{ index: 0, delta: 1, noWait: 1 }], TypeError],
    ];
    for (const [ops, type] of bad) {
      await assert.rejects(set.op(ops as never), type, JSON.stringify(ops));
      assert.throws(() => set.opSync(ops as never), type, JSON.stringify(ops));
      assert.throws(() => set.tryOp(ops as never), type, JSON.stringify(ops));
    }
    assert.throws(() => set.getValue(2), RangeError);
    assert.throws(() => set.setValue(0, -1), RangeError);
    assert.throws(() => set.setValue(0, 32768), RangeError);
    assert.throws(() => set.setValues([1]), RangeError);
    assert.throws(() => set.setValues([1, 40000]), RangeError);
    assert.throws(() => set.setValues("12" as never), TypeError);
    assert.throws(() => set.waitingCount(-1), RangeError);
    await assert.rejects(set.op(up(), { timeout: -1 }), RangeError);
    set.setValue(0, 32767);
    assert.throws(() => set.opSync(up()), isCode("ERANGE"));
    assert.deepEqual(set.values(), [32767, 0]);
  });

  it("is listed by ipcs -s with its mode", {
    skip: hasCommand("ipcs") ? false : "ipcs is not installed (apt-get install util-linux)",
  }, () => {
    using set = SysVSemaphoreSet.get("private", { create: true, count: 2, mode: 0o640 });
    try {
      const line = execFileSync("ipcs", ["-s"], { encoding: "utf8" }).split("\n")
        .map((l) => l.trim().split(/\s+/))
        .find((cols) => cols[1] === String(set.id));
      assert.ok(line, `ipcs -s lists semid ${set.id}`);
      assert.deepEqual([line[3], line[4]], ["640", "2"], "perms and nsems");
    } finally {
      set.remove();
    }
  });

  it("an async op does not block the event loop", () =>
    noLeak(async () => {
      using set = fresh();
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      setTimeout(() => set.opSync(up()), 80);
      await set.op(down(), { timeout: 5000 });
      clearInterval(ticker);
      assert.ok(ticks >= 5, `the event loop ran (${ticks} ticks)`);
    }));
});

const perl = hasCommand("perl") &&
  (() => {
    try {
      execFileSync("perl", ["-MIPC::Semaphore", "-e", "1"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

describe("SysVSemaphoreSet across processes", () => {
  for (const peer of ["deno", "bun"] as RuntimeName[]) {
    for (const mode of ["sync", "async"]) {
      it(`${CURRENT} waits (${mode}) for a ${peer} poster, and the reverse`, async () => {
        using set = fresh();
        const id = String(set.id);
        await exchangeWithPeer(
          units(set),
          mode,
          (action) => runFixture(peer, "sem_peer.ts", ["sysv", id, action, "20", "3"]),
        );
      });
    }
  }

  // One lock in 8 is taken with the async op: each of those goes through a helper thread,
  // which under contention costs two thread wake-ups per hand-off instead of one.
  it(
    "keeps mutual exclusion: 2 Deno and 2 Bun processes, 10,000 increments each",
    { timeout: 120_000 },
    async () => {
      using dir = tempDir();
      const file = join(dir.path, "counter");
      writeFileSync(file, new Uint8Array(4096));
      using set = fresh();
      set.setValue(0, 1);
      const runs = (["deno", "deno", "bun", "bun"] as RuntimeName[]).map((r) =>
        runFixture(r, "sem_counter.ts", ["sysv", String(set.id), file, "10000", "8"], 110_000)
      );
      for (const run of await Promise.all(runs)) assert.equal(unitsOf(run), 10000);
      assert.equal(readFileSync(file).readInt32LE(0), 40000);
      assert.equal(set.getValue(0), 1);
    },
  );

  for (const mode of ["undo", "keep"]) {
    it(`SIGKILL after a decrement ${mode === "undo" ? "with undo restores" : "without undo keeps"} the value`, async () => {
      using set = fresh();
      // The fixture's op waits in its helper thread first: undo must count for the process.
      const [command, args] = fixtureCommand(OTHER, "sem_undo.ts", [String(set.id), mode]);
      const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
      try {
        await until(() => set.waitingCount(0) === 1, "the child's wait", 20_000);
        set.opSync(up());
        const taken = new Promise<void>((resolve) =>
          child.stdout.on("data", (d) => String(d).includes("taken") && resolve())
        );
        await taken;
        assert.equal(set.getValue(0), 0);
      } finally {
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
      }
      assert.equal(set.getValue(0), mode === "undo" ? 1 : 0);
    });
  }

  it("C waits for sysipc and sysipc for C", { skip: cPeer.skip }, async () => {
    using set = fresh();
    const posting = runC(["sysv-post", String(set.id), "50", "2000"]);
    for (let i = 0; i < 50; i++) {
      if (i % 2) set.opSync(down(), { timeout: 10_000 });
      else await set.op(down(), { timeout: 10_000 });
    }
    assert.equal(unitsOf(await posting), 50);
    const draining = runC(["sysv-drain", String(set.id), "300"]);
    await sleep(30);
    for (let i = 0; i < 50; i++) {
      await sleep(Math.random() * 2);
      set.opSync(up());
    }
    assert.equal(unitsOf(await draining), 50);
  });

  it("Perl's IPC::Semaphore sees and changes a set made by sysipc", {
    skip: perl ? false : "Perl's IPC::Semaphore is not installed (apt-get install perl)",
  }, () => {
    const key = randomKey();
    using set = fresh(3, key);
    set.setValues([4, 5, 6]);
    const script = `
      use IPC::SysV qw(S_IRUSR);
      use IPC::Semaphore;
      my $sem = IPC::Semaphore->new(${key}, 3, 0) or die "open: $!";
      my @before = $sem->getall;
      $sem->setval(1, 9) or die "setval: $!";
      $sem->op(2, -6, 0) or die "op: $!";
      printf "%s %o %d\\n", join(",", @before), $sem->stat->mode & 0777, $sem->stat->nsems;`;
    const out = execFileSync("perl", ["-e", script], { encoding: "utf8" }).trim();
    assert.equal(out, "4,5,6 600 3");
    assert.deepEqual(set.values(), [4, 9, 0]);
  });

  it("shares units fairly with a blocked C waiter", { skip: cPeer.skip }, async () => {
    using set = fresh();
    const draining = runC(["sysv-drain", String(set.id), "1500"]);
    await until(() => set.waitingCount(0) === 1, "the C waiter");
    const posting = runFixture(OTHER, "sem_peer.ts", ["sysv", String(set.id), "post", "200", "4"]);
    await shareWithC(units(set), draining, posting);
  });

  it(
    "accounts for every one of 2,000 units posted by C while ops are given up at random",
    { skip: cPeer.skip, timeout: 120_000 },
    async () => {
      using set = fresh();
      const posting = runC(["sysv-post", String(set.id), "2000", "2000"], 110_000);
      const { taken, gaveUp } = await takeWhileGivingUp(units(set), posting);
      assert.equal(unitsOf(await posting), 2000);
      await sleep(20);
      assert.equal(taken + set.getValue(0), 2000, `taken ${taken}, left ${set.getValue(0)}`);
      assert.ok(gaveUp > 0, "some ops were given up");
      assert.equal(set.waitingCount(0), 0);
    },
  );
});

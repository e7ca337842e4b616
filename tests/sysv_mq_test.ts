/**
 * System V message queues (mq/sysv_message_queue.ts): selection by type (`MSG_EXCEPT`,
 * lowest type), `MSG_NOERROR`, `IPC_NOWAIT`, `msgctl`, waits in helper threads, messages
 * kept after a given-up receive, bad input, and the seed's ping-pong between runtimes.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { ftok, SysVMessageQueue } from "../mq/mod.ts";
import { CURRENT, OTHER, runFixture, sleep, tempDir } from "./helpers.ts";
import { isCode, peer, PEERS, startPeer, text } from "./mq_helpers.ts";

/** A private queue, removed on dispose. */
function fresh(options: { mode?: number } = {}) {
  const queue = SysVMessageQueue.get("private", { create: true, ...options });
  return Object.assign(queue, {
    [Symbol.dispose]() {
      try {
        queue.remove();
      } catch {
        // removed by the test
      }
      queue.close();
    },
  });
}

const typed = (list: ({ type: number; data: Uint8Array } | null)[]) =>
  list.map((m) => m && [m.type, text(m.data)]);

/** Calls `ready` without yielding to the event loop until it is true (at most 2 s). */
function spinUntil(ready: () => boolean): void {
  const end = performance.now() + 2000;
  while (!ready()) if (performance.now() > end) throw new Error("spinUntil: timed out");
}

describe("SysVMessageQueue: within one process", () => {
  it("gets by key and by id, with the mode asked for", () => {
    using dir = tempDir();
    writeFileSync(join(dir.path, "key"), "");
    const key = ftok(join(dir.path, "key"), 7);
    assert.throws(() => SysVMessageQueue.get(key), isCode("ENOENT", /msgget 'key 0x/));
    using q = SysVMessageQueue.get(key, { create: true, exclusive: true, mode: 0o640 });
    try {
      assert.equal(q.key, key);
      assert.throws(
        () => SysVMessageQueue.get(key, { create: true, exclusive: true }),
        isCode("EEXIST"),
      );
      const unsigned = SysVMessageQueue.get(key >>> 0);
      assert.equal(unsigned.id, q.id, "the unsigned spelling of the key is the same queue");
      const byId = SysVMessageQueue.fromId(q.id);
      assert.equal(byId.key, key);
      const stat = q.stat();
      assert.equal(stat.mode, 0o640);
      assert.equal(stat.key, key);
      assert.equal(stat.messages, 0);
      assert.equal(stat.uid, process.getuid?.());
      assert.ok(stat.changeTime instanceof Date);
      assert.equal(stat.lastSendTime, null);
      byId.sendSync(4, "hi");
      const after = q.stat();
      assert.equal(after.messages, 1);
      assert.equal(after.bytes, 2);
      assert.equal(after.lastSendPid, process.pid);
      assert.ok(after.lastSendTime instanceof Date);
    } finally {
      q.remove();
    }
    assert.throws(() => SysVMessageQueue.fromId(q.id), isCode("EINVAL", /no System V message/));
  });

  it("selects by type: any, exact, except, lowest ≤ |type|", async () => {
    using q = fresh();
    for (const [type, data] of [[3, "c1"], [1, "a1"], [2, "b1"], [1, "a2"], [3, "c2"]] as const) {
      q.sendSync(type, data);
    }
    assert.deepEqual(
      typed([
        q.tryReceive({ type: 2 }),
        q.tryReceive({ type: 1, except: true }),
        q.receiveSync({ type: -3 }),
        await q.receive({ type: -3 }),
        q.tryReceive({ type: 2 }),
        q.tryReceive({ type: -2 }),
        q.tryReceive(),
        q.tryReceive(),
      ]),
      [[2, "b1"], [3, "c1"], [1, "a1"], [1, "a2"], null, null, [3, "c2"], null],
    );
  });

  it("maxSize cuts a long message (MSG_NOERROR); without it, any size is whole", async () => {
    using q = fresh();
    q.sendSync(1, "hello world");
    q.sendSync(1, "second");
    q.sendSync(1, new Uint8Array(8192).fill(7));
    assert.equal(text(q.receiveSync({ maxSize: 5 }).data), "hello");
    assert.equal((await q.receive({ maxSize: 0 })).data.length, 0);
    const whole = q.receiveSync();
    assert.equal(whole.data.length, 8192);
    assert.ok(whole.data.every((b) => b === 7));
  });

  it("empty: try returns null, timeout 0 throws EAGAIN, timeouts throw ETIMEDOUT", async () => {
    using q = fresh();
    assert.equal(q.tryReceive(), null);
    assert.throws(() => q.receiveSync({ timeout: 0 }), isCode("EAGAIN"));
    await assert.rejects(q.receive({ timeout: 0 }), isCode("EAGAIN"));
    let t = performance.now();
    assert.throws(() => q.receiveSync({ timeout: 60 }), isCode("ETIMEDOUT", /msgrcv/));
    assert.ok(performance.now() - t >= 59, "the sync wait lasted its timeout");
    assert.ok(performance.now() - t < 2000, "and not much longer");
    t = performance.now();
    await assert.rejects(q.receive({ timeout: 60 }), isCode("ETIMEDOUT", /msgrcv/));
    assert.ok(performance.now() - t >= 59, "the async wait lasted its timeout");
  });

  it("a full queue: trySend is false, sends wait for room, in call order", async () => {
    using q = fresh();
    q.set({ maxBytes: 10 });
    assert.equal(q.stat().maxBytes, 10);
    assert.equal(q.trySend(1, "0123456789"), true);
    assert.equal(q.trySend(1, "x"), false);
    assert.throws(() => q.sendSync(1, "x", { timeout: 0 }), isCode("EAGAIN"));
    assert.throws(() => q.sendSync(1, "x", { timeout: 30 }), isCode("ETIMEDOUT"));
    await assert.rejects(q.send(1, "x", { timeout: 30 }), isCode("ETIMEDOUT"));
    let sent = 0;
    const sends = ["a", "b", "c"].map((m) => q.send(2, m).then(() => sent++));
    await sleep(50);
    assert.equal(sent, 0, "the sends wait while the queue is full");
    await assert.rejects(
      q.send(2, "z", { timeout: 0 }),
      isCode("EAGAIN"),
      "no waiting in line either",
    );
    assert.equal(text(q.receiveSync({ type: 1 }).data), "0123456789");
    const got: string[] = [];
    while (got.length < 3) got.push(text((await q.receive({ timeout: 5000 })).data));
    await Promise.all(sends);
    assert.deepEqual(got, ["a", "b", "c"], "the waiting sends kept their order");
  });

  it("refuses messages that can never fit, naming the limit", async () => {
    using q = fresh();
    assert.throws(
      () => q.sendSync(1, new Uint8Array(8193)),
      isCode("EMSGSIZE", /8193 bytes, and \/proc\/sys\/kernel\/msgmax is 8192/),
    );
    await assert.rejects(q.send(1, new Uint8Array(100_000)), isCode("EMSGSIZE", /msgmax/));
    q.set({ maxBytes: 50 });
    q.sendSync(1, "x"); // so the queue looks full to a 60-byte message
    assert.throws(() => q.sendSync(1, new Uint8Array(60)), isCode("EMSGSIZE", /at most 50/));
    await assert.rejects(q.send(1, new Uint8Array(60)), isCode("EMSGSIZE", /maxBytes/));
    assert.equal(q.stat().messages, 1);
  });

  it("waits in a helper thread without blocking the event loop", async () => {
    using q = fresh();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    setTimeout(() => q.sendSync(5, "late"), 100);
    const m = await q.receive({ type: 5, timeout: 5000 });
    clearInterval(ticker);
    assert.deepEqual(typed([m]), [[5, "late"]]);
    assert.ok(ticks >= 5, `timers ran while waiting: ${ticks} ticks`);
  });

  it("abort rejects with the reason; close rejects pending waits with EBADF", async () => {
    using q = fresh();
    const controller = new AbortController();
    setTimeout(() => controller.abort("stop"), 20);
    await assert.rejects(q.receive({ signal: controller.signal }), (e) => e === "stop");
    await assert.rejects(q.receive({ signal: AbortSignal.abort("early") }), (e) => e === "early");
    const other = SysVMessageQueue.fromId(q.id);
    const pending = other.receive();
    setTimeout(() => other.close(), 20);
    await assert.rejects(pending, isCode("EBADF", /closed/));
    q.sendSync(1, "after");
    assert.equal(text(q.receiveSync({ timeout: 1000 }).data), "after", "nothing was taken");
  });

  it("receives into the caller's buffer: data is a view of it; too long is E2BIG and stays", async () => {
    using q = fresh();
    const buffer = new Uint8Array(16);
    q.sendSync(1, "one");
    q.sendSync(2, "two");
    q.sendSync(3, "three");
    const got = [
      await q.receive({ into: buffer, type: 1 }),
      q.receiveSync({ into: buffer, type: 2 }),
      q.tryReceive({ into: buffer })!,
    ];
    for (const m of got) assert.equal(m.data.buffer, buffer.buffer);
    assert.deepEqual(typed([got[2]!]), [[3, "three"]]);
    assert.equal(q.tryReceive({ into: buffer }), null);
    // Longer than the buffer: refused as msgrcv refuses it, and still in the queue.
    q.sendSync(4, "seventeen bytes!!");
    const tooLong = (e: unknown) => isCode("E2BIG")(e) && /longer than into/.test(String(e));
    assert.throws(() => q.receiveSync({ into: buffer }), tooLong);
    assert.throws(() => q.tryReceive({ into: buffer }), tooLong);
    await assert.rejects(q.receive({ into: buffer }), tooLong);
    assert.equal(q.stat().messages, 1);
    // maxSize cuts it instead; into must hold maxSize.
    assert.throws(() => q.receiveSync({ into: buffer, maxSize: 17 }), RangeError);
    assert.deepEqual(typed([q.receiveSync({ into: buffer, maxSize: 7 })]), [[4, "sevente"]]);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => q.tryReceive({ into: "x" }), TypeError);
  });

  it("types up to Number.MAX_SAFE_INTEGER go out and come back exactly", () => {
    using q = fresh();
    const types = [
      1,
      255,
      256,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 40 + 5,
      2 ** 53 - 1,
    ];
    for (const type of types) q.sendSync(type, `t${type}`);
    const back = types.map(() => q.receiveSync());
    assert.deepEqual(back.map((m) => [m.type, text(m.data)]), types.map((t) => [t, `t${t}`]));
    // Selected by exact type, and as the lowest ≤ |type|.
    q.sendSync(2 ** 53 - 1, "top");
    q.sendSync(2 ** 40 + 5, "mid");
    assert.equal(text(q.receiveSync({ type: 2 ** 53 - 1 }).data), "top");
    assert.equal(q.receiveSync({ type: -(2 ** 41) }).type, 2 ** 40 + 5);
  });

  it("a message taken after its receive was given up is kept, and honours selections", async () => {
    using q = fresh();
    const controller = new AbortController();
    const pending = q.receive({ type: -5, signal: controller.signal });
    await sleep(30); // parked: the helper thread is in msgrcv
    q.sendSync(5, "taken late");
    spinUntil(() => q.stat().messages === 0); // the helper has it; this thread has not looked
    controller.abort("too late");
    await assert.rejects(pending, (e) => e === "too late");
    q.sendSync(6, "six");
    assert.equal(q.stat().messages, 1, "the late message is not in the queue");
    assert.deepEqual(typed([q.tryReceive({ type: 5, except: true })]), [[6, "six"]]);
    assert.deepEqual(typed([q.tryReceive({ type: 4 })]), [null], "kept, but not type 4");
    assert.deepEqual(typed([q.receiveSync({ type: -9, maxSize: 5 })]), [[5, "taken"]]);
    assert.equal(q.tryReceive(), null);
  });

  it("a kept message goes into the caller's buffer too, or stays when it does not fit", async () => {
    using q = fresh();
    const controller = new AbortController();
    const pending = q.receive({ signal: controller.signal });
    await sleep(30);
    q.sendSync(7, "kept message");
    spinUntil(() => q.stat().messages === 0);
    controller.abort("late");
    await assert.rejects(pending, (e) => e === "late");
    assert.throws(() => q.tryReceive({ into: new Uint8Array(4) }), isCode("E2BIG"));
    const buffer = new Uint8Array(32);
    const m = q.tryReceive({ into: buffer })!;
    assert.equal(m.data.buffer, buffer.buffer);
    assert.deepEqual(typed([m]), [[7, "kept message"]]);
  });

  it("close puts kept messages back at the end of the queue", async () => {
    using q = fresh();
    const handle = SysVMessageQueue.fromId(q.id);
    const pending = handle.receive({ timeout: 10_000 });
    await sleep(30);
    q.sendSync(3, "kept");
    spinUntil(() => q.stat().messages === 0);
    q.sendSync(1, "queued");
    handle.close();
    await assert.rejects(pending, isCode("EBADF"));
    assert.deepEqual(typed([q.tryReceive(), q.tryReceive()]), [[1, "queued"], [3, "kept"]]);
  });

  for (const runtime of PEERS) {
    it(`${runtime}: a handle never closed puts its kept messages back when collected`, async () => {
      using q = fresh();
      const result = await runFixture(
        runtime,
        "mq_peer.ts",
        ["sysv-forget", String(q.id)],
        20_000,
        {
          denoFlags: ["--v8-flags=--expose-gc"],
        },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { back: [5, "kept"] });
    });
  }

  it("remove destroys the queue: waiters fail with EIDRM, the handle is unusable", async () => {
    const q = SysVMessageQueue.get("private", { create: true });
    const other = SysVMessageQueue.fromId(q.id);
    const waiting = other.receive({ timeout: 10_000 });
    await sleep(30);
    q.remove();
    await assert.rejects(waiting, isCode("EIDRM", /no System V message queue has id/));
    assert.throws(() => q.tryReceive(), isCode("EIDRM", /was removed/));
    assert.throws(() => q.remove(), isCode("EIDRM"));
    assert.throws(() => other.trySend(1, "x"), isCode("EINVAL", /no System V message queue/));
    q.close();
    other.close();
  });
});

describe("SysVMessageQueue: bad input", () => {
  it("keys, ids and create options are checked", () => {
    for (const key of ["public", 1.5, NaN, 2 ** 32, -(2 ** 31) - 1, null]) {
      assert.throws(() => SysVMessageQueue.get(key as number), key === null ? TypeError : Error);
    }
    for (const id of [-1, 1.5, "3", 2 ** 31]) {
      assert.throws(() => SysVMessageQueue.fromId(id as number), /id must/);
    }
    assert.throws(() => SysVMessageQueue.get("private", { exclusive: true }), TypeError);
    assert.throws(() => SysVMessageQueue.get("private", { create: true, mode: -1 }), RangeError);
  });

  it("types, selections, data and options are checked before any system call", async () => {
    using q = fresh();
    for (const type of [0, -1, 1.5, NaN, 2 ** 53, "1"]) {
      assert.throws(() => q.sendSync(type as number, "x"), /type must/);
      assert.throws(() => q.trySend(type as number, "x"), /type must/);
      await assert.rejects(q.send(type as number, "x"), /type must/);
    }
    for (const data of [42, null, {}]) {
      assert.throws(() => q.sendSync(1, data as string), TypeError);
    }
    for (
      const selection of [{ type: 1.5 }, { type: -(2 ** 53) }, { maxSize: -1 }, {
        maxSize: 0.5,
      }]
    ) {
      assert.throws(() => q.tryReceive(selection), /type|maxSize/);
      await assert.rejects(q.receive(selection), /type|maxSize/);
    }
    assert.throws(() => q.tryReceive({ type: 0, except: true }), /except needs a positive type/);
    assert.throws(() => q.tryReceive({ type: -2, except: true }), TypeError);
    assert.throws(() => q.tryReceive({ except: "yes" as unknown as boolean }), TypeError);
    assert.throws(() => q.receiveSync({ timeout: -5 }), RangeError);
    await assert.rejects(q.receive({ timeout: NaN }), RangeError);
    assert.throws(() => q.set({ mode: 0o1000 }), RangeError);
    assert.throws(() => q.set({ maxBytes: -1 }), RangeError);
    assert.throws(() => q.set(null as unknown as { mode: number }), TypeError);
    assert.equal(q.stat().messages, 0, "nothing was sent");
  });

  it("every use after close is EBADF; close is idempotent", async () => {
    const q = fresh();
    q.close();
    q.close();
    assert.equal(q.closed, true);
    assert.throws(() => q.sendSync(1, "x"), isCode("EBADF", /SysVMessageQueue is closed/));
    assert.throws(() => q.trySend(1, "x"), isCode("EBADF"));
    assert.throws(() => q.receiveSync(), isCode("EBADF"));
    assert.throws(() => q.tryReceive(), isCode("EBADF"));
    assert.throws(() => q.stat(), isCode("EBADF"));
    assert.throws(() => q.set({ mode: 0o600 }), isCode("EBADF"));
    await assert.rejects(q.send(1, "x"), isCode("EBADF"));
    await assert.rejects(q.receive(), isCode("EBADF"));
    assert.throws(() => q.remove(), isCode("EBADF"));
    SysVMessageQueue.fromId(q.id).remove();
  });
});

describe("SysVMessageQueue: across processes", () => {
  for (const runtime of PEERS) {
    it(`${CURRENT} selects by type what a ${runtime} process sent before it started`, async () => {
      using q = fresh();
      await peer(runtime, ["sysv-send", String(q.id), "2:b1", "1:a1", "3:c1", "2:b2", "1:a2"]);
      assert.deepEqual(
        typed([
          await q.receive({ type: 2 }),
          q.receiveSync({ type: 2, except: true }),
          q.tryReceive({ type: -2 }),
          q.tryReceive(),
          q.tryReceive(),
        ]),
        [[2, "b1"], [1, "a1"], [1, "a2"], [3, "c1"], [2, "b2"]],
      );
    });

    for (const mode of ["sync", "async"]) {
      it(`a ${runtime} process selects by type (${mode})`, async () => {
        using q = fresh();
        const receiving = peer(runtime, ["sysv-receive", String(q.id), "2", mode, "7"]);
        q.sendSync(1, "not this");
        await sleep(50);
        await q.send(7, "seven");
        q.sendSync(7, "seven again");
        assert.deepEqual(await receiving, [[7, "seven"], [7, "seven again"]]);
        const excepting = peer(runtime, ["sysv-receive", String(q.id), "1", mode, "1", "except"]);
        q.sendSync(2, "two");
        assert.deepEqual(await excepting, [[2, "two"]]);
        assert.deepEqual(typed([q.tryReceive()]), [[1, "not this"]]);
      });

      it(`a full queue blocks a ${runtime} sender (${mode}) until room frees`, async () => {
        using q = fresh();
        q.set({ maxBytes: 8 });
        q.sendSync(1, "12345678");
        assert.equal(q.trySend(1, "9"), false);
        const sender = startPeer(runtime, ["sysv-send-waiting", String(q.id), "2", "later", mode]);
        await sender.said("waiting");
        await sleep(150);
        assert.equal(sender.exited(), false, "the sender waits while the queue is full");
        assert.equal(text(q.receiveSync().data), "12345678");
        assert.deepEqual(await sender.result, { sent: true });
        assert.deepEqual(typed([q.receiveSync({ timeout: 1000 })]), [[2, "later"]]);
      });
    }
  }

  it("the seed's ping-pong: types 10/11, 100 rounds, client and server in different runtimes", async () => {
    using dir = tempDir();
    writeFileSync(join(dir.path, "example"), "");
    const key = ftok(join(dir.path, "example"), 42);
    try {
      for (const mode of ["async", "sync"] as const) {
        // The other runtime serves; this one is the client.
        const server = runFixture(OTHER, "mq_peer.ts", ["ping-server", String(key), mode]);
        const q = SysVMessageQueue.get(key, { create: true, mode: 0o644 });
        let pongs = 0;
        for (let i = 0; i < 100; i++) {
          if (mode === "sync") q.sendSync(10, "ping");
          else await q.send(10, "ping");
          const m = mode === "sync"
            ? q.receiveSync({ type: 11, timeout: 10_000 })
            : await q.receive({ type: 11, timeout: 10_000 });
          if (text(m.data) === "pong") pongs++;
        }
        q.sendSync(10, "end");
        const served = await server;
        assert.equal(served.code, 0, served.stderr);
        assert.deepEqual(JSON.parse(served.stdout), { pings: 100 });
        assert.equal(pongs, 100);
        // This runtime serves; the other one is the client.
        const client = runFixture(OTHER, "mq_peer.ts", ["ping-client", String(key), "100", mode]);
        let pings = 0;
        while (true) {
          const m = mode === "sync"
            ? q.receiveSync({ type: 10, timeout: 10_000 })
            : await q.receive({ type: 10, timeout: 10_000 });
          if (text(m.data) === "end") break;
          pings++;
          await q.send(11, "pong");
        }
        const done = await client;
        assert.equal(done.code, 0, done.stderr);
        assert.deepEqual(JSON.parse(done.stdout), { pongs: 100 });
        assert.equal(pings, 100);
        assert.equal(q.stat().messages, 0);
        q.close();
      }
    } finally {
      try {
        SysVMessageQueue.get(key).remove();
      } catch {
        // not there
      }
    }
  });

  for (const runtime of PEERS) {
    it(`receives given up at random from a ${runtime} sender: none lost, none misselected`, async () => {
      using q = fresh();
      const total = 300;
      const specs = Array.from({ length: total }, (_, i) => `${(i % 2) + 1}:${i}`);
      const sending = peer(runtime, ["sysv-send", String(q.id), ...specs]);
      const seen: Record<number, number[]> = { 1: [], 2: [] };
      let gaveUp = 0;
      while (seen[1]!.length + seen[2]!.length < total) {
        const type = Math.random() < 0.5 ? 1 : 2;
        try {
          // Timeouts of 0–3 ms give receives up at every stage: trying, parked, mid-call.
          const m = await q.receive({ type, timeout: Math.random() * 3 });
          assert.equal(m.type, type, "a receive returns only what it selected");
          seen[type]!.push(Number(text(m.data)));
        } catch (e) {
          if (!(e instanceof Error && "code" in e && e.code === "ETIMEDOUT")) throw e;
          gaveUp++;
        }
      }
      await sending;
      assert.ok(gaveUp > 0, "some receives were given up");
      const expected = (t: number) => specs.map((_, i) => i).filter((i) => (i % 2) + 1 === t);
      assert.deepEqual(seen[1], expected(1), "every type 1 message, once, in order");
      assert.deepEqual(seen[2], expected(2), "every type 2 message, once, in order");
      assert.equal(q.stat().messages, 0);
    });
  }
});

/**
 * POSIX message queues (mq/message_queue.ts): priorities, attributes, non-blocking mode,
 * sync/async/try forms, the async iterator, limits and bad input, within one process and
 * with a Deno and a Bun peer process.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IpcError } from "../ffi/errors.ts";
import { MessageQueue } from "../mq/mod.ts";
import { CURRENT, noLeak, OTHER, sleep } from "./helpers.ts";
import { isCode, peer, PEERS, queueName, startPeer, text } from "./mq_helpers.ts";

/** A fresh queue, unlinked on dispose. */
function fresh(options: Parameters<typeof MessageQueue.open>[1] = {}) {
  const name = queueName();
  const queue = MessageQueue.open(name, {
    create: true,
    exclusive: true,
    maxMessages: 4,
    messageSize: 64,
    ...options,
  });
  return Object.assign(queue, {
    [Symbol.dispose]() {
      queue.close();
      try {
        MessageQueue.unlink(name);
      } catch {
        // unlinked by the test
      }
    },
  });
}

const messages = (list: { data: Uint8Array; priority: number }[]) =>
  list.map((m) => [text(m.data), m.priority]);

describe("MessageQueue: within one process", () => {
  it("opens with the given attributes, defaults and access", () =>
    noLeak(() => {
      using q = fresh({ maxMessages: 3, messageSize: 100 });
      assert.deepEqual(q.attributes(), {
        maxMessages: 3,
        messageSize: 100,
        currentMessages: 0,
        nonBlocking: false,
      });
      assert.ok(q.fd >= 0);
      assert.equal(q.closed, false);
      using again = MessageQueue.open(q.name);
      assert.equal(again.attributes().messageSize, 100, "attributes belong to the queue");
      assert.throws(
        () => MessageQueue.open(q.name, { create: true, exclusive: true }),
        isCode("EEXIST"),
      );
      const name = queueName();
      assert.throws(() => MessageQueue.open(name), isCode("ENOENT", /mq_open '\/mq-/));
      using dflt = MessageQueue.open(name, { create: true });
      assert.equal(dflt.attributes().maxMessages, 10, "the system's msg_default");
      assert.equal(dflt.attributes().messageSize, 8192, "the system's msgsize_default");
      dflt.unlink();
      using reader = MessageQueue.open(q.name, { readOnly: true });
      assert.throws(() => reader.trySend("x"), isCode("EBADF", /readOnly/));
      using writer = MessageQueue.open(q.name, { writeOnly: true });
      assert.throws(() => writer.tryReceive(), isCode("EBADF", /writeOnly/));
      assert.equal(writer.trySend("x"), true);
      assert.equal(text(reader.tryReceive()!.data), "x");
    }));

  it("receives by priority, oldest first within a priority", async () => {
    using q = fresh({ maxMessages: 8 });
    q.sendSync("low");
    q.sendSync("mid-1", { priority: 5 });
    await q.send("top", { priority: 32767 });
    q.trySend("mid-2", { priority: 5 });
    q.sendSync("low-2", { priority: 0 });
    const got = [
      q.receiveSync(),
      await q.receive(),
      q.tryReceive()!,
      q.receiveSync({ timeout: 0 }),
    ];
    got.push(await q.receive({ timeout: 0 }));
    assert.deepEqual(messages(got), [
      ["top", 32767],
      ["mid-1", 5],
      ["mid-2", 5],
      ["low", 0],
      ["low-2", 0],
    ]);
    assert.equal(q.tryReceive(), null);
  });

  it("carries binary, empty and full-size messages exactly", () => {
    using q = fresh();
    const full = new Uint8Array(64).map((_, i) => (i * 37) & 0xff);
    q.sendSync(full);
    q.sendSync(new Uint8Array(0));
    q.sendSync("héllo");
    assert.deepEqual(q.receiveSync().data, full);
    assert.equal(q.receiveSync().data.length, 0);
    assert.equal(text(q.receiveSync().data), "héllo");
  });

  it("receives into the caller's buffer: data is a view of it, nothing allocated", async () => {
    using queue = fresh();
    const buffer = new Uint8Array(64);
    queue.sendSync("first", { priority: 1 });
    queue.sendSync("second", { priority: 2 });
    queue.sendSync("third", { priority: 3 });
    const all = [
      await queue.receive({ into: buffer, timeout: 1000 }),
      queue.receiveSync({ into: buffer }),
    ];
    const last = queue.tryReceive({ into: buffer })!;
    for (const m of [...all, last]) assert.equal(m.data.buffer, buffer.buffer);
    assert.deepEqual([text(last.data), last.priority], ["first", 1]);
    assert.deepEqual(all.map((m) => m.priority), [3, 2]);
    // Views of one buffer: each receive overwrites the one before.
    assert.equal(text(all[0]!.data), "first"); // was "third"
    assert.equal(text(all[1]!.data), "firstd"); // was "second"
    assert.equal(queue.tryReceive({ into: buffer }), null);
    queue.sendSync("timed");
    assert.equal(text(queue.receiveSync({ into: buffer, timeout: 1000 }).data), "timed");
    // The buffer must hold any message of the queue.
    assert.throws(() => queue.receiveSync({ into: new Uint8Array(63) }), RangeError);
    await assert.rejects(queue.receive({ into: new Uint8Array(8) }), RangeError);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => queue.tryReceive({ into: [0, 0] }), TypeError);
    // A larger buffer, or a view into one, is fine.
    const big = new Uint8Array(256);
    queue.sendSync("view");
    const m = queue.receiveSync({ into: big.subarray(100) });
    assert.equal(m.data.byteOffset, 100);
    assert.equal(text(big.subarray(100, 104)), "view");
  });

  it("refuses a message longer than the queue's messageSize, naming both sizes", async () => {
    using q = fresh();
    const big = new Uint8Array(65);
    assert.throws(() => q.sendSync(big), isCode("EMSGSIZE", /65 bytes.*messageSize is 64/));
    assert.throws(() => q.trySend(big), isCode("EMSGSIZE"));
    await assert.rejects(q.send(big), isCode("EMSGSIZE"));
    assert.equal(q.attributes().currentMessages, 0);
  });

  it("empty: try returns null, timeout 0 throws EAGAIN, timeouts throw ETIMEDOUT", async () => {
    using q = fresh();
    assert.equal(q.tryReceive(), null);
    assert.throws(() => q.receiveSync({ timeout: 0 }), isCode("EAGAIN"));
    await assert.rejects(q.receive({ timeout: 0 }), isCode("EAGAIN"));
    let t = performance.now();
    assert.throws(() => q.receiveSync({ timeout: 60 }), isCode("ETIMEDOUT"));
    assert.ok(performance.now() - t >= 59, "the sync wait lasted its timeout");
    t = performance.now();
    await assert.rejects(q.receive({ timeout: 60 }), isCode("ETIMEDOUT", /mq_receive/));
    assert.ok(performance.now() - t >= 59, "the async wait lasted its timeout");
  });

  it("a full queue: trySend is false, sends wait for room, in call order", async () => {
    using q = fresh({ maxMessages: 2 });
    q.sendSync("a");
    q.sendSync("b");
    assert.equal(q.trySend("c"), false);
    assert.throws(() => q.sendSync("c", { timeout: 0 }), isCode("EAGAIN"));
    assert.throws(() => q.sendSync("c", { timeout: 30 }), isCode("ETIMEDOUT"));
    await assert.rejects(q.send("c", { timeout: 30 }), isCode("ETIMEDOUT"));
    let sent = 0;
    const sends = ["c", "d", "e"].map((m) => q.send(m).then(() => sent++));
    await sleep(50);
    assert.equal(sent, 0, "the sends wait while the queue is full");
    await assert.rejects(
      q.send("z", { timeout: 0 }),
      isCode("EAGAIN"),
      "no waiting in line either",
    );
    const got: string[] = [];
    while (got.length < 5) got.push(text((await q.receive({ timeout: 5000 })).data));
    await Promise.all(sends);
    assert.deepEqual(got, ["a", "b", "c", "d", "e"], "the waiting sends kept their order");
  });

  it("waits without blocking the event loop, and wakes on a message", () =>
    noLeak(async () => {
      using q = fresh();
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      setTimeout(() => q.sendSync("late", { priority: 3 }), 100);
      const m = await q.receive({ timeout: 5000 });
      clearInterval(ticker);
      assert.deepEqual(messages([m]), [["late", 3]]);
      assert.ok(ticks >= 5, `timers ran while waiting: ${ticks} ticks`);
    }));

  it("abort rejects with the reason; close rejects pending waits with EBADF", async () => {
    using q = fresh();
    const controller = new AbortController();
    setTimeout(() => controller.abort("stop"), 20);
    await assert.rejects(q.receive({ signal: controller.signal }), (e) => e === "stop");
    await assert.rejects(q.receive({ signal: AbortSignal.abort("early") }), (e) => e === "early");
    const pending = q.receive();
    setTimeout(() => q.close(), 20);
    await assert.rejects(pending, isCode("EBADF", /closed/));
    assert.throws(() => q.sendSync("x"), isCode("EBADF"));
  });

  it("nonBlocking makes sync calls fail with EAGAIN; async calls still wait", async () => {
    using q = fresh({ nonBlocking: true, maxMessages: 1 });
    assert.equal(q.nonBlocking, true);
    assert.throws(() => q.receiveSync(), isCode("EAGAIN"));
    assert.throws(() => q.receiveSync({ timeout: 1000 }), isCode("EAGAIN"));
    q.sendSync("one");
    assert.throws(() => q.sendSync("two"), isCode("EAGAIN"));
    setTimeout(() => q.tryReceive(), 30);
    await q.send("two", { timeout: 5000 });
    q.nonBlocking = false;
    assert.equal(q.nonBlocking, false);
    assert.equal(q.attributes().nonBlocking, false);
    assert.equal(text(q.receiveSync({ timeout: 1000 }).data), "two");
    assert.throws(() => (q.nonBlocking = 1 as unknown as boolean), TypeError);
  });

  it("iterates messages until the handle is closed; break stops it", async () => {
    using q = fresh();
    q.sendSync("one");
    q.sendSync("two");
    const seen: string[] = [];
    for await (const m of q) {
      seen.push(text(m.data));
      if (seen.length === 2) break;
    }
    setTimeout(() => q.sendSync("three"), 10);
    setTimeout(() => q.close(), 50);
    for await (const m of q) seen.push(text(m.data));
    assert.deepEqual(seen, ["one", "two", "three"]);
    await assert.rejects(q[Symbol.asyncIterator]().next(), isCode("EBADF"));
  });

  it("unlink removes the name; open handles keep working", () => {
    const name = queueName();
    using q = MessageQueue.open(name, { create: true, maxMessages: 2, messageSize: 16 });
    q.unlink();
    assert.throws(() => q.unlink(), isCode("ENOENT"));
    assert.throws(() => MessageQueue.unlink(name), isCode("ENOENT", /mq_unlink/));
    assert.throws(() => MessageQueue.open(name), isCode("ENOENT"));
    q.sendSync("still here");
    assert.equal(text(q.receiveSync().data), "still here");
  });

  it("the creation limits are named in the error", () => {
    const name = queueName();
    // Without CAP_SYS_RESOURCE (as here) msg_max applies; with it, 65536 is allowed.
    let created = false;
    try {
      MessageQueue.open(name, { create: true, maxMessages: 65536, messageSize: 64 }).close();
      created = true;
    } catch (e) {
      assert.ok(e instanceof IpcError);
      assert.equal(e.code, "EINVAL");
      assert.match(e.message, /maxMessages 65536 is above \/proc\/sys\/fs\/mqueue\/msg_max/);
    }
    if (created) MessageQueue.unlink(name);
  });
});

describe("MessageQueue: bad input", () => {
  it("names breaking the contract are TypeErrors", () => {
    for (
      const bad of ["jobs", "", "/", "/a/b", `/${"x".repeat(251)}`, "/a\0b", "/..", 42, null]
    ) {
      assert.throws(() => MessageQueue.open(bad as string, { create: true }), TypeError);
      assert.throws(() => MessageQueue.unlink(bad as string), TypeError);
    }
  });

  it("options are checked before any system call", () => {
    const name = queueName();
    const open = (options: unknown) => () =>
      MessageQueue.open(name, options as Parameters<typeof MessageQueue.open>[1]);
    for (const size of [0, -1, 1.5, NaN, 16 * 1024 * 1024 + 1, 2 ** 40]) {
      assert.throws(open({ create: true, messageSize: size }), /messageSize/);
    }
    for (const count of [0, -3, 2.5, Infinity, 65537]) {
      assert.throws(open({ create: true, maxMessages: count }), /maxMessages/);
    }
    assert.throws(open({ create: true, messageSize: "64" }), TypeError);
    assert.throws(open({ maxMessages: 4 }), /need create/);
    assert.throws(open({ exclusive: true }), /exclusive needs create/);
    assert.throws(open({ create: true, readOnly: true, writeOnly: true }), TypeError);
    assert.throws(open({ create: true, nonBlocking: "yes" }), TypeError);
    assert.throws(open({ create: true, mode: 0o1000 }), RangeError);
    assert.throws(open("create"), TypeError);
    assert.throws(() => MessageQueue.unlink(name), isCode("ENOENT"), "nothing was created");
  });

  it("priorities, data, timeouts and signals are checked", async () => {
    using q = fresh();
    for (const priority of [-1, 32768, 1.5, NaN, 2 ** 32]) {
      assert.throws(() => q.sendSync("x", { priority }), /priority/);
      assert.throws(() => q.trySend("x", { priority }), /priority/);
      await assert.rejects(q.send("x", { priority }), /priority/);
    }
    for (const data of [42, null, undefined, {}, [1, 2]]) {
      assert.throws(() => q.sendSync(data as string), TypeError);
      await assert.rejects(q.send(data as string), TypeError);
    }
    for (const timeout of [-1, NaN]) {
      assert.throws(() => q.receiveSync({ timeout }), RangeError);
      await assert.rejects(q.receive({ timeout }), RangeError);
    }
    await assert.rejects(q.receive({ signal: "no" as unknown as AbortSignal }), TypeError);
    assert.throws(() => q.sendSync("x", "fast" as unknown as { priority: number }), TypeError);
    assert.equal(q.attributes().currentMessages, 0, "nothing was sent");
  });

  it("every use after close is EBADF; close is idempotent", async () => {
    const q = fresh();
    q.close();
    q.close();
    assert.equal(q.closed, true);
    assert.equal(q.fd, -1);
    assert.throws(() => q.sendSync("x"), isCode("EBADF", /MessageQueue is closed/));
    assert.throws(() => q.trySend("x"), isCode("EBADF"));
    assert.throws(() => q.receiveSync(), isCode("EBADF"));
    assert.throws(() => q.tryReceive(), isCode("EBADF"));
    assert.throws(() => q.attributes(), isCode("EBADF"));
    assert.throws(() => q.nonBlocking, isCode("EBADF"));
    assert.throws(() => (q.nonBlocking = true), isCode("EBADF"));
    await assert.rejects(q.send("x"), isCode("EBADF"));
    await assert.rejects(q.receive(), isCode("EBADF"));
    q[Symbol.dispose]();
  });

  it("has no public constructor", () => {
    const Ctor = MessageQueue as unknown as new (...args: unknown[]) => unknown;
    assert.throws(() => new Ctor(Symbol("x"), 0), /no public constructor/);
  });
});

describe("MessageQueue: across processes", () => {
  for (const runtime of PEERS) {
    it(`${CURRENT} reads, by priority, what a ${runtime} process sent before it started`, async () => {
      using q = fresh({ maxMessages: 5 });
      q.close(); // the queue persists without any open handle
      const sent = await peer(runtime, [
        "posix-send",
        q.name,
        "1:first",
        "7:urgent",
        "1:second",
        "0:last",
        "7:urgent-2",
      ]);
      assert.deepEqual(sent, { sent: 5 });
      using reader = MessageQueue.open(q.name, { readOnly: true });
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await reader.receive({ timeout: 5000 }));
      assert.deepEqual(messages(got), [
        ["urgent", 7],
        ["urgent-2", 7],
        ["first", 1],
        ["second", 1],
        ["last", 0],
      ]);
    });

    for (const mode of ["sync", "async"]) {
      it(`a ${runtime} process receives by priority (${mode})`, async () => {
        using q = fresh();
        const receiving = peer(runtime, ["posix-receive", q.name, "4", mode]);
        q.sendSync("b", { priority: 2 });
        q.sendSync("a", { priority: 9 });
        q.sendSync("c", { priority: 2 });
        // The fourth comes once the peer waits on an empty queue (or before: either way).
        await sleep(50);
        await q.send("d");
        assert.deepEqual(await receiving, [["a", 9], ["b", 2], ["c", 2], ["d", 0]]);
      });

      it(`a full queue blocks a ${runtime} sender (${mode}) until room frees`, async () => {
        using q = fresh({ maxMessages: 2 });
        q.sendSync("1");
        q.sendSync("2");
        assert.equal(q.trySend("x"), false);
        const sender = startPeer(runtime, ["posix-send-waiting", q.name, "3", mode]);
        await sender.said("waiting");
        await sleep(150);
        assert.equal(sender.exited(), false, "the sender waits while the queue is full");
        assert.equal(q.attributes().currentMessages, 2);
        assert.equal(text(q.receiveSync().data), "1");
        assert.deepEqual(await sender.result, { sent: true });
        assert.deepEqual([q.receiveSync(), q.receiveSync()].map((m) => text(m.data)), ["2", "3"]);
      });
    }
  }

  it(`${CURRENT} and ${OTHER} exchange messages through one queue both ways`, async () => {
    using q = fresh({ maxMessages: 4 });
    const echo = peer(OTHER, ["posix-receive", q.name, "2", "async"]);
    await q.send("to the other runtime", { priority: 1 });
    await q.send("and more", { priority: 1 });
    assert.deepEqual(await echo, [["to the other runtime", 1], ["and more", 1]]);
    await peer(OTHER, ["posix-send", q.name, "4:back"]);
    assert.deepEqual(messages([await q.receive({ timeout: 5000 })]), [["back", 4]]);
  });
});

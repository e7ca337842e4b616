/**
 * EventFd (sem/eventfd.ts): counter and semaphore modes, waits and their timeouts, and an
 * eventfd handed to Deno and Bun child processes.
 */
import assert from "node:assert/strict";
import { readlinkSync } from "node:fs";
import { describe, it } from "node:test";
import { IpcError } from "../mod.ts";
import { pipe, spawn } from "../pipe/mod.ts";
import { EventFd } from "../sem/mod.ts";
import { fixtureCommand, noLeak, readAll, type RuntimeName, sleep } from "./helpers.ts";

const isCode = (code: string) => (e: unknown) => e instanceof IpcError && e.code === code;

describe("EventFd", () => {
  it("counts: a wait takes the whole count in counter mode, 1 in semaphore mode", () =>
    noLeak(async () => {
      using counter = new EventFd({ initial: 5 });
      assert.match(readlinkSync(`/proc/self/fd/${counter.fd}`), /eventfd/);
      counter.signal(2);
      counter.signal();
      assert.equal(counter.waitSync(), 8);
      counter.signal(Number.MAX_SAFE_INTEGER);
      assert.equal(await counter.wait(), Number.MAX_SAFE_INTEGER);
      using tokens = new EventFd({ initial: 2, semaphore: true });
      assert.equal(tokens.waitSync({ timeout: 0 }), 1);
      assert.equal(await tokens.wait({ timeout: 0 }), 1);
      assert.throws(() => tokens.waitSync({ timeout: 0 }), isCode("EAGAIN"));
      tokens.signal(0);
      await assert.rejects(tokens.wait({ timeout: 0 }), isCode("EAGAIN"));
    }));

  it("opens close-on-exec and blocking", async () => {
    using event = new EventFd();
    const { readFileSync } = await import("node:fs");
    const flags = readFileSync(`/proc/self/fdinfo/${event.fd}`, "utf8").match(/flags:\s+(\d+)/)!;
    const value = parseInt(flags[1]!, 8);
    assert.ok(value & 0o2000000, "O_CLOEXEC");
    assert.equal(value & 0o4000, 0, "not O_NONBLOCK");
  });

  it("times out: 0 fails at once with EAGAIN, 50 ms with ETIMEDOUT, sync and async", async () => {
    using event = new EventFd();
    let t0 = performance.now();
    await assert.rejects(event.wait({ timeout: 50 }), isCode("ETIMEDOUT"));
    assert.ok(performance.now() - t0 >= 50);
    t0 = performance.now();
    assert.throws(() => event.waitSync({ timeout: 50 }), isCode("ETIMEDOUT"));
    assert.ok(performance.now() - t0 >= 50);
    const controller = new AbortController();
    setTimeout(() => controller.abort("stop"), 20);
    await assert.rejects(event.wait({ signal: controller.signal }), (e) => e === "stop");
    event.signal(3);
    assert.equal(event.waitSync({ timeout: 0 }), 3, "the given-up waits took nothing");
  });

  it("an async wait does not block the event loop; close() rejects it with EBADF", () =>
    noLeak(async () => {
      const event = new EventFd();
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      setTimeout(() => event.signal(), 80);
      assert.equal(await event.wait({ timeout: 5000 }), 1);
      clearInterval(ticker);
      assert.ok(ticks >= 5, `the event loop ran (${ticks} ticks)`);
      const pending = event.wait();
      await sleep(10);
      event.close();
      await assert.rejects(pending, isCode("EBADF"));
      assert.throws(() => event.signal(), isCode("EBADF"));
      assert.throws(() => event.waitSync(), isCode("EBADF"));
      event.close();
    }));

  it("several waits at once on one eventfd: each post goes to one of them, an aborted one takes none", () =>
    noLeak(async () => {
      using tokens = new EventFd({ semaphore: true });
      const controller = new AbortController();
      const waits = [0, 1, 2, 3].map((i) =>
        tokens.wait({ timeout: 10_000, signal: i === 2 ? controller.signal : undefined })
      );
      await sleep(60); // all four have parked
      controller.abort("gone");
      await assert.rejects(waits[2]!, (e) => e === "gone");
      tokens.signal(3);
      assert.deepEqual(await Promise.all([waits[0], waits[1], waits[3]]), [1, 1, 1]);
      assert.throws(() => tokens.waitSync({ timeout: 0 }), isCode("EAGAIN"), "no unit left over");

      using counter = new EventFd();
      const settled: number[] = [];
      const both = [counter.wait({ timeout: 10_000 }), counter.wait({ timeout: 10_000 })];
      for (const w of both) void w.then((n) => settled.push(n));
      await sleep(30);
      counter.signal(5);
      await sleep(60);
      assert.deepEqual(settled, [5], "one wait takes the whole count, the other waits on");
      counter.signal(2);
      await Promise.all(both);
      assert.deepEqual(settled, [5, 2]);
    }));

  it("fromFd wraps a descriptor, closing it only when owned", () =>
    noLeak(() => {
      using original = new EventFd();
      const borrowed = EventFd.fromFd(original.fd, { own: false });
      borrowed.signal(4);
      borrowed.close();
      assert.equal(original.waitSync(), 4, "the borrowed handle left the fd open");
      assert.throws(() => EventFd.fromFd(-1), RangeError);
      assert.throws(() => EventFd.fromFd(1.5), TypeError);
    }));

  it("rejects bad arguments before any system call", async () => {
    for (const initial of [-1, 2 ** 32]) assert.throws(() => new EventFd({ initial }), RangeError);
    assert.throws(() => new EventFd({ initial: 0.5 }), TypeError);
    assert.throws(() => new EventFd({ semaphore: 1 as never }), TypeError);
    assert.throws(() => new EventFd(7 as never), TypeError);
    using event = new EventFd();
    for (const n of [-1, 2 ** 53]) assert.throws(() => event.signal(n), RangeError);
    for (const n of [NaN, 1.5, "1"]) assert.throws(() => event.signal(n as number), TypeError);
    await assert.rejects(event.wait({ timeout: -1 }), RangeError);
    assert.throws(() => event.waitSync({ timeout: NaN }), RangeError);
  });

  for (const peer of ["deno", "bun"] as RuntimeName[]) {
    for (const mode of ["sync", "async"]) {
      it(`a ${peer} child waits (${mode}) on an inherited eventfd, and posts back`, async () => {
        using event = new EventFd({ semaphore: true });
        const [command, args] = fixtureCommand(peer, "sem_peer.ts", [
          "eventfd",
          "-",
          `wait-${mode}`,
          "20",
        ]);
        const [out, outWriter] = pipe();
        const child = spawn(command, args, { fds: { 3: event }, stdout: outWriter });
        outWriter.close();
        for (let i = 0; i < 20; i++) {
          await sleep(Math.random() * 3);
          event.signal();
        }
        assert.deepEqual(JSON.parse(await readAll(out)), { units: 20 });
        assert.deepEqual(await child.status, { code: 0, signal: null });
        out.close();
        const posting = spawn(
          ...fixtureCommand(peer, "sem_peer.ts", ["eventfd", "-", "post", "20", "2"]),
          { fds: { 3: event }, stdout: "null" },
        );
        for (let i = 0; i < 20; i++) await event.wait({ timeout: 10_000 });
        assert.deepEqual(await posting.status, { code: 0, signal: null });
      });
    }
  }
});

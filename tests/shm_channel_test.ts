/**
 * ShmChannel: the protocol within one process, waits (timeouts, aborts, close, no CPU
 * while idle, wake-ups only when a waiter is recorded), exchanges with Deno, Bun and C
 * processes, peers that die holding a slot, corrupted segments, bad input, allocation, and
 * the stress test: 2 Deno and 2 Bun processes moving 1,000,000 messages (set
 * SYSIPC_SHM_STRESS_MESSAGES to change the count).
 */
import assert from "node:assert/strict";
import { spawn as nodeSpawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { IpcError } from "../ffi/errors.ts";
import { platform } from "../ffi/platform.ts";
import { waitEngine } from "../ffi/wait/mod.ts";
import { SharedMemory, ShmChannel, ShmMessage, ShmSlot } from "../shm/mod.ts";
import { isPattern, pattern } from "./fixtures/shm_pattern.ts";
import {
  compileC,
  CURRENT,
  fixtureCommand,
  hasCommand,
  isCode,
  noLeak,
  OTHER,
  runFixture,
  type RuntimeName,
  sleep,
  tempDir,
  uniqueName,
} from "./helpers.ts";

const PEERS: RuntimeName[] = [CURRENT, OTHER];
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const H = { tail: 16, head: 32, dataWaiters: 48, dataSeq: 49, spaceSeq: 65, lost: 72 };

/** A new channel with a unique name, unlinked at the end of the scope. */
function channel(slots: number, slotSize: number): ShmChannel {
  const ch = ShmChannel.create(`/${uniqueName("chan")}`, { slots, slotSize });
  const close = ch.close.bind(ch);
  Object.defineProperty(ch, Symbol.dispose, {
    value() {
      close();
      try {
        ShmChannel.unlink(ch.name);
      } catch {
        // unlinked by the test
      }
    },
  });
  return ch;
}

/** The channel's segment as 32-bit words, to look at (or damage) its header. */
function words(ch: ShmChannel): { view: Int32Array } & Disposable {
  const shm = SharedMemory.open(ch.name);
  return { view: new Int32Array(shm.buffer), [Symbol.dispose]: () => shm.close() };
}

/** Starts a fixture with a piped stdout; resolves its exit code and what it printed. */
function start(runtime: RuntimeName, fixture: string, args: string[]) {
  const [command, argv] = fixtureCommand(runtime, fixture, args);
  const child = nodeSpawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => stdout += d);
  child.stderr!.on("data", (d) => stderr += d);
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  );
  return {
    child,
    exit,
    output: () => ({ stdout, stderr }),
    /** Resolves once the child printed `line`. */
    printed: (line: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => stdout.split("\n").includes(line) && resolve();
        child.stdout!.on("data", check);
        check();
        void exit.then(() => reject(new Error(`exited before "${line}": ${stderr}`)));
      }),
  };
}

describe("ShmChannel within one process", () => {
  it("delivers messages of 0 to slotSize bytes in order, through every form", () =>
    noLeak(async () => {
      using a = channel(4, 100);
      using b = ShmChannel.open(a.name);
      assert.deepEqual([b.name, b.slots, b.slotSize, b.lost, b.closed], [a.name, 4, 100, 0, false]);
      a.sendSync(new Uint8Array(0));
      a.sendSync(new Uint8Array(100).fill(7));
      await a.send("héllo");
      assert.equal(a.trySend(new Uint8Array([1, 2])), true);
      assert.equal(a.trySend("full"), false, "4 slots");
      assert.equal(a.tryReserve(), null);
      assert.deepEqual(b.receiveSync(), new Uint8Array(0));
      assert.deepEqual(await b.receive(), new Uint8Array(100).fill(7));
      const into = new Uint8Array(16);
      assert.equal(b.tryReceiveInto(into), 6);
      assert.equal(decode(into.subarray(0, 6)), "héllo");
      using view = b.tryReceiveView()!;
      assert.ok(view instanceof ShmMessage);
      assert.deepEqual([...view.bytes], [1, 2]);
      view.release();
      assert.equal(view.bytes.length, 0, "released");
      assert.equal(b.tryReceive(), null);
      assert.equal(b.tryReceiveView(), null);
      assert.equal(b.tryReceiveInto(into), null);
      for (let i = 0; i < 1000; i++) { // many laps round the ring
        a.sendSync(pattern(i, 100));
        assert.ok(isPattern(i, b.receiveSync(), 100), `message ${i}`);
      }
    }));

  it("reservations write in place; a cancelled one is skipped; views hold their slot", () =>
    noLeak(async () => {
      using ch = channel(2, 64);
      const slot = ch.reserveSync();
      assert.ok(slot instanceof ShmSlot);
      assert.equal(slot.bytes.length, 64);
      const n = new TextEncoder().encodeInto("in place", slot.bytes).written;
      const cancelled = await ch.reserve();
      assert.equal(ch.tryReserve(), null, "both slots reserved");
      cancelled.cancel();
      slot.commit(n);
      assert.throws(() => slot.commit(1), isCode("EBADF"));
      cancelled.cancel(); // idempotent
      assert.equal(decode(ch.receiveSync()), "in place");
      assert.equal(ch.tryReceive(), null, "the cancelled one is skipped");
      {
        using later = ch.tryReserve()!;
        later.bytes[0] = 1; // never committed: given up at the end of the scope
      }
      ch.sendSync("after");
      const held = ch.receiveViewSync();
      assert.equal(decode(held.bytes), "after", "the given-up one was skipped");
      ch.sendSync("x");
      assert.equal(ch.trySend("y"), false, "the held view's slot is still taken");
      held.release();
      held.release();
      ch.sendSync("y");
      assert.equal(decode(ch.receiveSync()), "x");
      assert.equal(decode(ch.receiveSync()), "y");
      const big = ch.reserveSync();
      assert.throws(() => big.commit(65), RangeError);
      assert.throws(() => big.commit(-1), RangeError);
      assert.throws(() => big.commit(1.5), TypeError);
      big.commit(64);
      assert.equal(ch.receiveSync().length, 64);
    }));

  it("a sync wait on a slot this thread holds fails with EDEADLK instead of hanging", () =>
    noLeak(() => {
      using ch = channel(1, 8);
      const slot = ch.reserveSync();
      assert.throws(() => ch.receiveSync(), isCode("EDEADLK"));
      assert.throws(() => ch.sendSync("x"), isCode("EDEADLK"));
      slot.commit(0);
      const view = ch.receiveViewSync();
      assert.throws(() => ch.sendSync("x"), isCode("EDEADLK"));
      view.release();
      ch.sendSync("x");
    }));

  it("a message larger than into stays queued", () =>
    noLeak(async () => {
      using ch = channel(2, 64);
      ch.sendSync(new Uint8Array(10));
      assert.throws(() => ch.tryReceiveInto(new Uint8Array(9)), RangeError);
      assert.throws(() => ch.receiveIntoSync(new Uint8Array(9)), RangeError);
      await assert.rejects(ch.receiveInto(new Uint8Array(9)), RangeError);
      assert.equal(ch.receiveIntoSync(new Uint8Array(10)), 10);
    }));

  it("timeouts, zero timeouts, aborts; the event loop runs while waiting", () =>
    noLeak(async () => {
      using ch = channel(1, 8);
      assert.throws(() => ch.receiveSync({ timeout: 0 }), isCode("EAGAIN"));
      await assert.rejects(ch.receive({ timeout: 0 }), isCode("EAGAIN"));
      assert.throws(() => ch.receiveSync({ timeout: 30 }), isCode("ETIMEDOUT"));
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      const t0 = performance.now();
      await assert.rejects(ch.receive({ timeout: 150 }), isCode("ETIMEDOUT"));
      clearInterval(ticker);
      assert.ok(performance.now() - t0 >= 140);
      assert.ok(ticks >= 10, `timers ran while waiting: ${ticks} ticks`);
      const controller = new AbortController();
      setTimeout(() => controller.abort("stop"), 30);
      await assert.rejects(ch.receiveView({ signal: controller.signal }), (e) => e === "stop");
      await assert.rejects(
        ch.receive({ signal: AbortSignal.abort("early") }),
        (e) => e === "early",
      );
      ch.sendSync("1");
      assert.throws(() => ch.sendSync("2", { timeout: 0 }), isCode("EAGAIN"));
      assert.throws(() => ch.reserveSync({ timeout: 20 }), isCode("ETIMEDOUT"));
      await assert.rejects(ch.send("2", { timeout: 20 }), isCode("ETIMEDOUT"));
      setTimeout(() => ch.receiveSync(), 30);
      await ch.send("2", { timeout: 5000 }); // waits for the room the receive makes
      assert.equal(decode(ch.receiveSync()), "2");
      using w = words(ch);
      assert.equal(w.view[H.dataWaiters], 0, "no waiter left counted");
    }));

  it("a receive waiting when a message comes gets it; close() rejects pending waits", () =>
    noLeak(async () => {
      using ch = channel(4, 8);
      const waiting = ch.receive();
      setTimeout(() => ch.sendSync("late"), 40);
      assert.equal(decode(await waiting), "late");
      const other = ShmChannel.open(ch.name);
      const pending = other.receive();
      const pendingView = other.receiveView();
      other.sendSync("x");
      const held = other.receiveViewSync(); // x
      const reserved = other.reserveSync();
      await sleep(20);
      other.close();
      await assert.rejects(pending, isCode("EBADF"));
      await assert.rejects(pendingView, isCode("EBADF"));
      assert.equal(held.bytes.length, 0, "unmapped");
      held.release(); // harmless after close
      assert.throws(() => reserved.commit(0), isCode("EBADF"));
      assert.throws(() => other.trySend("y"), isCode("EBADF"));
      assert.throws(() => other.lost, isCode("EBADF"));
      // close() gave the view's and the reservation's slots back: the channel works on.
      for (let i = 0; i < 8; i++) {
        ch.sendSync(`${i}`);
        assert.equal(decode(ch.receiveSync()), `${i}`);
      }
      using w = words(ch);
      assert.equal(w.view[H.dataWaiters], 0, "close() uncounted its waiters");
    }));

  it("makes no wake-up system call while nobody waits, and at most two per parked wait", () =>
    noLeak(async () => {
      using ch = channel(8, 64);
      using w = words(ch);
      for (let i = 0; i < 10_000; i++) {
        ch.trySend("x");
        ch.tryReceive();
      }
      assert.equal(w.view[H.dataSeq], 0, "no receiver waited: no wake-up");
      assert.equal(w.view[H.spaceSeq], 0, "no sender waited: no wake-up");
      const waiting = ch.receive();
      await sleep(30); // spun, then parked
      assert.equal(w.view[H.dataWaiters], 1);
      ch.sendSync("wake");
      await waiting;
      const wakes = w.view[H.dataSeq]!;
      assert.ok(wakes >= 1 && wakes <= 2, `${wakes} wake-ups (on claim, and on publish)`);
    }));

  it("an idle receiver costs no CPU", async () => {
    using ch = channel(4, 8);
    const before = process.cpuUsage();
    await assert.rejects(ch.receive({ timeout: 500 }), isCode("ETIMEDOUT"));
    const used = process.cpuUsage(before);
    const ms = (used.user + used.system) / 1000;
    // The spin before parking is at most 1 ms by default; the rest is the runtime's own.
    assert.ok(ms < 100, `${ms.toFixed(1)} ms of CPU over a 500 ms wait`);
  });

  it("allocates nothing per message in steady state (measured on Deno's V8 heap)", async () => {
    const r = await runFixture("deno", "shm_alloc.ts", [], 60_000, {
      denoFlags: ["--v8-flags=--expose-gc"],
    });
    assert.equal(r.code, 0, r.stderr);
    const perMessage = JSON.parse(r.stdout) as Record<string, number>;
    for (const form of ["trySend+tryReceiveInto", "sendSync+receiveIntoSync", "64 KiB"]) {
      assert.ok(perMessage[form]! < 4, `${form}: ${perMessage[form]} bytes per message`);
    }
  });
});

describe("ShmChannel across processes", () => {
  for (const runtime of PEERS) {
    for (
      const [sendForm, receiveForm] of [["sync", "async"], ["async", "sync"], [
        "reserve",
        "view",
      ], ["try", "into"]]
    ) {
      it(`this process sends (${sendForm}), a ${runtime} process receives (${receiveForm})`, async () => {
        using ch = channel(8, 300);
        const peer = start(runtime, "shm_channel_peer.ts", [
          "receive",
          ch.name,
          "2000",
          receiveForm!,
        ]);
        for (let i = 0; i < 2000; i++) {
          if (sendForm === "sync") ch.sendSync(pattern(i, 300), { timeout: 30_000 });
          else await ch.send(pattern(i, 300), { timeout: 30_000 });
        }
        const exit = await peer.exit;
        assert.deepEqual(exit, { code: 0, signal: null }, peer.output().stderr);
        assert.deepEqual(JSON.parse(peer.output().stdout), { received: 2000, bad: [] });
      });

      it(`a ${runtime} process sends (${sendForm}), this one receives (${receiveForm})`, async () => {
        using ch = channel(8, 300);
        const peer = start(runtime, "shm_channel_peer.ts", ["send", ch.name, "2000", sendForm!]);
        const into = new Uint8Array(300);
        for (let i = 0; i < 2000; i++) {
          let bytes: Uint8Array;
          if (receiveForm === "sync") bytes = ch.receiveSync({ timeout: 30_000 });
          else if (receiveForm === "async") bytes = await ch.receive({ timeout: 30_000 });
          else if (receiveForm === "into") {
            bytes = into.subarray(0, await ch.receiveInto(into, { timeout: 30_000 }));
          } else {
            using m = await ch.receiveView({ timeout: 30_000 });
            bytes = m.bytes.slice();
          }
          assert.ok(isPattern(i, bytes, 300), `message ${i}`);
        }
        assert.deepEqual(await peer.exit, { code: 0, signal: null }, peer.output().stderr);
      });
    }
  }

  it(
    "a C program that speaks the documented layout exchanges messages with sysipc",
    { skip: hasCommand("gcc") ? false : "gcc is not installed (apt-get install gcc libc6-dev)" },
    async () => {
      using dir = tempDir();
      const exe = compileC("shm_channel_peer.c", dir.path);
      using toC = channel(4, 1000);
      const fromName = `/${uniqueName("from-c")}`;
      const c = nodeSpawn(exe, [toC.name, fromName, "3000", "4", "1000"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      c.stdout!.on("data", (d) => out += d);
      c.stderr!.on("data", (d) => err += d);
      const exit = new Promise((r) => c.on("exit", r));
      try {
        while (!out.includes("ready\n")) {
          if (c.exitCode !== null) assert.fail(`the C peer exited: ${err}`);
          await sleep(5);
        }
        using fromC = ShmChannel.open(fromName);
        assert.deepEqual([fromC.slots, fromC.slotSize], [4, 1000], "the C peer's header");
        // First both at once (async), so that each side waits for the other both ways; then
        // in lock step with the sync forms (a sync call blocks this thread, so it must not
        // wait on a message this thread has yet to send).
        const sending = (async () => {
          for (let i = 0; i < 1500; i++) await toC.send(pattern(i, 1000), { timeout: 30_000 });
        })();
        for (let i = 0; i < 1500; i++) {
          const reply = await fromC.receive({ timeout: 30_000 });
          assert.ok(isPattern(i, reply.reverse(), 1000), `reply ${i}`);
        }
        await sending;
        for (let i = 1500; i < 3000; i++) {
          toC.sendSync(pattern(i, 1000), { timeout: 30_000 });
          const reply = fromC.receiveSync({ timeout: 30_000 });
          assert.ok(isPattern(i, reply.reverse(), 1000), `reply ${i}`);
        }
        assert.equal(await exit, 0, err);
        assert.match(out, /done 3000/);
      } finally {
        c.kill();
        try {
          ShmChannel.unlink(fromName);
        } catch {
          // the C peer never made it
        }
      }
    },
  );
});

describe("ShmChannel with peers that die holding a slot", () => {
  for (const runtime of PEERS) {
    for (const form of ["sync", "async"]) {
      it(`a ${runtime} sender dies mid-write: a ${form} receive gets EOWNERDEAD once, then the rest`, async () => {
        using ch = channel(4, 64);
        ch.sendSync("before");
        const peer = start(runtime, "shm_channel_peer.ts", ["die-writing", ch.name]);
        await peer.printed("holding");
        ch.sendSync("after"); // queued behind the slot the dying sender holds
        assert.equal(decode(ch.receiveSync()), "before");
        // Sync: the dead peer stays a zombie (this thread blocks the event loop that would
        // reap it), which the check must see through.
        const t0 = performance.now();
        if (form === "sync") {
          assert.throws(() => ch.receiveSync({ timeout: 10_000 }), isCode("EOWNERDEAD"));
        } else {
          await assert.rejects(ch.receive({ timeout: 10_000 }), isCode("EOWNERDEAD"));
        }
        assert.ok(performance.now() - t0 < 5000, "found within seconds");
        assert.equal(decode(ch.receiveSync({ timeout: 1000 })), "after");
        assert.equal(ch.lost, 1);
        assert.equal((await peer.exit).signal, "SIGKILL");
      });

      it(`a ${runtime} receiver dies holding a message: a ${form} send takes its slot back`, async () => {
        using ch = channel(2, 64);
        ch.sendSync("taken by the peer");
        ch.sendSync("second");
        const peer = start(runtime, "shm_channel_peer.ts", ["die-reading", ch.name]);
        await peer.printed("holding");
        if (form === "sync") ch.sendSync("third", { timeout: 10_000 });
        else await ch.send("third", { timeout: 10_000 });
        assert.equal(decode(ch.receiveSync()), "second");
        assert.equal(decode(ch.receiveSync()), "third");
        assert.equal(ch.lost, 1);
        await peer.exit;
      });
    }
  }

  it("waits already parked when the peer claims its slot and dies are woken and recover", async () => {
    using ch = channel(1, 64);
    const receiving = ch.receive({ timeout: 10_000 }); // parked on an empty channel
    await sleep(30);
    const writer = start(OTHER, "shm_channel_peer.ts", ["die-writing", ch.name]);
    await assert.rejects(receiving, isCode("EOWNERDEAD"));
    await writer.exit;
    ch.sendSync("full");
    const sending = ch.send("waits for room", { timeout: 10_000 }); // parked: full
    await sleep(30);
    const reader = start(OTHER, "shm_channel_peer.ts", ["die-reading", ch.name]);
    await sending; // the reader took "full" and died holding it: its slot came back
    await reader.exit;
    assert.equal(decode(ch.receiveSync()), "waits for room");
    assert.equal(ch.lost, 2);
  });

  it("trySend and tryReceive take slots back too, when polled for long enough", async () => {
    using ch = channel(1, 64);
    const peer = start(OTHER, "shm_channel_peer.ts", ["die-writing", ch.name]);
    await peer.printed("holding");
    await peer.exit;
    const t0 = performance.now();
    while (true) {
      try {
        assert.equal(ch.tryReceive(), null);
      } catch (e) {
        isCode("EOWNERDEAD")(e);
        break;
      }
      assert.ok(performance.now() - t0 < 5000, "found within seconds");
      await sleep(5);
    }
    ch.sendSync("held");
    const peer2 = start(OTHER, "shm_channel_peer.ts", ["die-reading", ch.name]);
    await peer2.printed("holding");
    await peer2.exit;
    while (!ch.trySend("next")) {
      assert.ok(performance.now() - t0 < 10_000, "found within seconds");
      await sleep(5);
    }
    assert.equal(decode(ch.receiveSync()), "next");
    assert.equal(ch.lost, 2);
  });
});

describe("ShmChannel refuses what is not a channel, and corrupted state", () => {
  it("segments that are not channels, other versions, corrupted headers", () =>
    noLeak(() => {
      const name = `/${uniqueName("notchan")}`;
      const plain = SharedMemory.open(name, { create: true, size: 4096 });
      try {
        assert.throws(() => ShmChannel.open(name), (e) => {
          isCode("EPROTO")(e);
          assert.match(String(e), /Not a ShmChannel/);
          return true;
        });
        plain.close();
        SharedMemory.unlink(name);
        SharedMemory.open(name, { create: true, size: 10 }).close();
        assert.throws(() => ShmChannel.open(name), /has 10 bytes/);
      } finally {
        plain.close();
        SharedMemory.unlink(name);
      }
      assert.throws(() => ShmChannel.open(`/${uniqueName("missing")}`), isCode("ENOENT"));
      const damage: [number, number, RegExp][] = [
        [0, 0x12345678, /Not a ShmChannel \(magic 0x12345678\)/],
        [2, 2, /layout version 2; this sysipc speaks version 1/],
        [4, 0, /corrupted: 0 slots/],
        [5, -1, /corrupted: slot size -1/],
        [6, 64, /corrupted: cell size 64/],
        [7, 5, /corrupted: 5 laps/],
        [H.tail, -7, /corrupted: tail position -7/],
        [H.head, 2 ** 30, /corrupted: head position/],
      ];
      for (const [index, value, message] of damage) {
        using ch = channel(4, 100);
        using w = words(ch);
        w.view[index] = value;
        assert.throws(() => ShmChannel.open(ch.name), (e) => {
          isCode("EPROTO")(e);
          assert.match(String(e), message);
          return true;
        });
      }
    }));

  it("a slot state or length damaged while open fails with EPROTO, never hangs", () =>
    noLeak(() => {
      using ch = channel(4, 100);
      using w = words(ch);
      const cell0 = 320 / 4;
      ch.sendSync("x");
      w.view[cell0 + 1] = 5000; // length beyond the slot
      assert.throws(() => ch.tryReceive(), isCode("EPROTO"));
      w.view[cell0] = (77 << 2) | 2; // FULL, on a lap that cannot be
      assert.throws(() => ch.tryReceive(), isCode("EPROTO"));
      w.view[cell0 + w.view[6]! / 4] = 5 << 2; // the next cell (at tail): EMPTY, wrong lap
      assert.throws(() => ch.trySend("y"), isCode("EPROTO"));
      w.view[H.head] = -3;
      assert.throws(() => ch.tryReceive(), isCode("EPROTO"));
    }));

  it("bad input: names, options, data, buffers", () =>
    noLeak(async () => {
      for (const name of ["", "x", "/a/b", `/${"n".repeat(251)}`, 5 as unknown as string]) {
        assert.throws(() => ShmChannel.create(name, { slots: 1, slotSize: 1 }), TypeError);
        assert.throws(() => ShmChannel.open(name), TypeError);
      }
      const name = `/${uniqueName("bad")}`;
      for (
        const [options, error] of [
          [undefined, TypeError],
          [{ slots: 0, slotSize: 1 }, RangeError],
          [{ slots: -1, slotSize: 1 }, RangeError],
          [{ slots: 1.5, slotSize: 1 }, TypeError],
          [{ slots: 2 ** 20 + 1, slotSize: 1 }, RangeError],
          [{ slots: 1, slotSize: 0 }, RangeError],
          [{ slots: 1, slotSize: 2 ** 30 + 1 }, RangeError],
          [{ slots: 1, slotSize: "8" }, TypeError],
          [{ slots: 1, slotSize: 1, mode: 0o1000 }, RangeError],
        ] as const
      ) {
        assert.throws(
          () => ShmChannel.create(name, options as never),
          error,
          JSON.stringify(options),
        );
      }
      // 2^50 bytes: more than Bun maps (RangeError, before any system call); Deno would map
      // it, and the kernel refuses (the segment it made is removed).
      assert.throws(
        () => ShmChannel.create(name, { slots: 2 ** 20, slotSize: 2 ** 30 }),
        (e) => e instanceof (platform.maxMapping < 2 ** 50 ? RangeError : IpcError),
      );
      assert.throws(() => ShmChannel.open(name), isCode("ENOENT"), "nothing was left behind");
      using ch = channel(2, 8);
      assert.throws(() => ch.trySend(new Uint8Array(9)), RangeError);
      assert.throws(() => ch.sendSync("123456789"), RangeError);
      await assert.rejects(ch.send(new Uint8Array(9)), RangeError);
      assert.throws(() => ch.trySend(42 as never), TypeError);
      assert.throws(() => ch.trySend(new Uint16Array(2) as never), TypeError);
      assert.throws(() => ch.tryReceiveInto("buf" as never), TypeError);
      assert.throws(() => ch.receiveSync({ timeout: -1 }), RangeError);
      await assert.rejects(ch.receive({ timeout: NaN }), RangeError);
      await assert.rejects(ch.receive({ signal: "no" as never }), TypeError);
      assert.equal(ch.tryReceive(), null, "nothing was sent by the failed calls");
      ch.close();
      assert.throws(() => ch.tryReceive(), isCode("EBADF"));
      await assert.rejects(ch.send("x"), isCode("EBADF"));
      ch.close(); // idempotent
    }));
});

const STRESS = Number(process.env.SYSIPC_SHM_STRESS_MESSAGES ?? 1_000_000);

describe("ShmChannel stress", () => {
  it(`2 Deno and 2 Bun processes move ${STRESS.toLocaleString("en")} messages, each exactly once and intact`, async () => {
    using dir = tempDir();
    using ch = channel(64, 512);
    const half = Math.floor(STRESS / 2);
    const counts = [half, STRESS - half];
    const roles: [RuntimeName, string[]][] = [
      ["deno", ["producer", ch.name, "0", `${counts[0]}`, "sync", "7"]],
      ["bun", ["producer", ch.name, "1", `${counts[1]}`, "async", "11"]],
      ["deno", ["consumer", ch.name, "0", join(dir.path, "c0"), "async"]],
      ["bun", ["consumer", ch.name, "1", join(dir.path, "c1"), "sync"]],
    ];
    const t0 = performance.now();
    const results = await Promise.all(
      roles.map(([runtime, args]) => runFixture(runtime, "shm_stress.ts", args, 600_000)),
    );
    const seconds = (performance.now() - t0) / 1000;
    results.forEach((r, i) => assert.equal(r.code, 0, `${roles[i]![1][0]} ${i}: ${r.stderr}`));
    const consumers = results.slice(2).map((r) => JSON.parse(r.stdout));
    assert.deepEqual(consumers.map((c) => c.corrupt), [0, 0], "every checksum matched");
    assert.deepEqual(consumers.map((c) => c.end).sort(), [0, 1], "one end marker each");
    const seen = [new Uint8Array(counts[0]!), new Uint8Array(counts[1]!)];
    let duplicates = 0;
    let disorder = 0;
    for (const file of ["c0", "c1"]) {
      const log = new Uint32Array(readFileSync(join(dir.path, file)).buffer.slice(0));
      const last = [-1, -1];
      for (const entry of log) {
        const producer = Math.floor(entry / 2 ** 24);
        const seq = entry % 2 ** 24;
        assert.ok(producer <= 1 && seq < counts[producer]!, `bad entry ${entry}`);
        const marks = seen[producer]!;
        if (marks[seq]! > 0) duplicates++;
        marks[seq] = 1;
        if (seq <= last[producer]!) disorder++; // each consumer sees each producer in order
        last[producer] = seq;
      }
    }
    assert.equal(duplicates, 0, "no message arrived twice");
    assert.equal(disorder, 0, "each producer's messages arrive in order");
    const missing = seen.reduce((n, s) => n + s.filter((x) => x === 0).length, 0);
    assert.equal(missing, 0, "every message arrived");
    assert.equal(ch.lost, 0);
    console.log(
      `stress: ${STRESS} messages in ${seconds.toFixed(1)} s ` +
        `(${waitEngine()} backend, consumers ${consumers.map((c) => c.received).join(" + ")})`,
    );
  });
});

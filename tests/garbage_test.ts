/**
 * Garbage from a peer (issue 14): a process that writes garbage into shared memory sysipc
 * uses (a ShmChannel's header, positions, slot states and lengths; a RobustMutex's bytes),
 * or sends malformed messages (larger than the receiver takes, more descriptors than it
 * asked for), cannot make sysipc read or write outside its mappings, crash, or hang: each
 * call ends in a result or a clear `IpcError` (`EPROTO`: "corrupted") within its timeout,
 * and nothing leaks.
 *
 * `SYSIPC_GARBAGE_SEED` replays a run (the seed is printed).
 */
import assert from "node:assert/strict";
import { spawn as nodeSpawn } from "node:child_process";
import process from "node:process";
import { setImmediate } from "node:timers";
import { after, describe, it } from "node:test";
import { libc } from "../ffi/libc.ts";
import {
  IpcError,
  RobustMutex,
  SharedMemory,
  ShmChannel,
  socketpair,
  UnixDatagram,
} from "../mod.ts";
import {
  CURRENT,
  fixtureCommand,
  isCode,
  noLeak,
  OTHER,
  runFixture,
  uniqueName,
  within,
} from "./helpers.ts";

const SEED = Number(process.env.SYSIPC_GARBAGE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const tally = { seed: SEED, calls: 0, garbageWrites: 0, outcomes: {} as Record<string, number> };
const saw = (what: string) => (tally.outcomes[what] = (tally.outcomes[what] ?? 0) + 1);

/** Runs one call on a channel under attack; records what it ended in. */
async function survive(what: string, call: () => unknown): Promise<void> {
  tally.calls++;
  try {
    await within(Promise.resolve().then(call), 5_000, what);
    saw(`channel ${what}: ok`);
  } catch (e) {
    if (e instanceof IpcError) {
      assert.ok(
        ["EPROTO", "ETIMEDOUT", "EAGAIN", "EOWNERDEAD", "EDEADLK"].includes(e.code),
        `${what}: ${e}`,
      );
      if (e.code === "EPROTO") assert.match(e.message, /corrupted|Not a ShmChannel/);
      saw(`channel ${what}: ${e.code}`);
    } else if (e instanceof RangeError) saw(`channel ${what}: RangeError`);
    else throw e;
  }
}

describe(`garbage from a peer (seed ${SEED})`, () => {
  after(() => console.log(`garbage tally (${CURRENT}): ${JSON.stringify(tally)}`));

  for (const runtime of [CURRENT, OTHER]) {
    it(`ShmChannel: a ${runtime} peer scribbles over the segment; every call ends cleanly`, () =>
      noLeak(async () => {
        const name = `/${uniqueName("garbage-chan")}`;
        using channel = ShmChannel.create(name, { slots: 8, slotSize: 128 });
        try {
          const [command, argv] = fixtureCommand(runtime, "garbage_peer.ts", [
            name,
            `${SEED}`,
            "400",
          ]);
          const peer = nodeSpawn(command, argv, { stdio: ["ignore", "pipe", "inherit"] });
          let out = "";
          const exited = new Promise<number | null>((resolve) => peer.on("exit", resolve));
          await new Promise<void>((resolve, reject) => {
            peer.stdout!.on("data", (d) => {
              out += d;
              if (out.includes("ready")) resolve();
            });
            void exited.then(() => reject(new Error("the peer exited early")));
          });
          let alive = true;
          void exited.then(() => (alive = false));
          const into = new Uint8Array(64);
          const timeout = 5;
          for (let i = 0; alive; i++) {
            // Calls that fail at once settle in microtasks: let the peer's exit through.
            await new Promise((resolve) => setImmediate(resolve));
            switch (i % 8) {
              case 0:
                await survive("trySend", () => channel.trySend("m".repeat(i % 129)));
                break;
              case 1:
                await survive("tryReceive", () => channel.tryReceive());
                break;
              case 2:
                await survive("sendSync", () => channel.sendSync("sync", { timeout }));
                break;
              case 3:
                await survive("receiveSync", () => channel.receiveSync({ timeout }));
                break;
              case 4:
                await survive("send", () => channel.send("async", { timeout }));
                break;
              case 5:
                await survive("receive", () => channel.receive({ timeout }));
                break;
              case 6:
                await survive("receiveInto", () => channel.receiveInto(into, { timeout }));
                break;
              default:
                await survive("reserve", async () => {
                  using slot = await channel.reserve({ timeout });
                  slot.commit(3);
                });
                await survive("receiveView", async () => {
                  using view = await channel.receiveView({ timeout });
                  view.release();
                });
            }
          }
          assert.equal(await exited, 0);
          tally.garbageWrites += Number(/wrote (\d+)/.exec(out)?.[1]);
          // The channel is garbage now; opening it again is refused or works, never worse.
          try {
            ShmChannel.open(name).close();
          } catch (e) {
            assert.ok(isCode("EPROTO")(e));
          }
        } finally {
          ShmChannel.unlink(name);
        }
      }));
  }

  it("RobustMutex: a kind the C library would abort on is refused with EPROTO", async () => {
    const name = `/${uniqueName("garbage-mutex")}`;
    using shm = SharedMemory.open(name, { create: true, exclusive: true, size: 4096 });
    using peer = SharedMemory.open(name);
    shm.unlink();
    const words = new Int32Array(peer.buffer, 0, 10);
    const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
    // 0x40: "priority protect", whose ceiling (garbage) fails an assertion in glibc.
    for (const kind of [0, 1, 0x40, 0x50, 0xc0, -1, 0x7fffffff]) {
      words[4] = kind;
      assert.throws(() => mutex.tryLock(), /EPROTO.*corrupted: kind/);
      assert.throws(() => mutex.lockSync({ timeout: 10 }), /EPROTO.*corrupted: kind/);
      await assert.rejects(mutex.lock({ timeout: 10 }), /EPROTO.*corrupted: kind/);
    }
    RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
    mutex.tryLock()!.release();
  });

  it("RobustMutex: what a peer overwrites in a held mutex is put back; release says so", () => {
    const name = `/${uniqueName("garbage-mutex")}`;
    using shm = SharedMemory.open(name, { create: true, exclusive: true, size: 4096 });
    using peer = SharedMemory.open(name);
    shm.unlink();
    const at = (offset: number) => shm.bytes.subarray(offset, offset + RobustMutex.SIZE);
    const a = RobustMutex.init(at(0));
    const b = RobustMutex.init(at(64));
    const view = new DataView(peer.buffer);
    for (
      const [what, offset, damage] of [
        ["robust-list pointer 1", 32, () => view.setBigUint64(32, 0x4141414141414141n, true)],
        ["robust-list pointer 0", 24, () => view.setBigUint64(24, 8n, true)],
        ["owner word", 0, () => view.setInt32(0, 12345, true)],
        ["kind", 16, () => view.setInt32(16, 0x40, true)],
      ] as const
    ) {
      // Two held at once: their list pointers point at each other.
      const ga = a.lockSync({ timeout: 1000 });
      const gb = b.lockSync({ timeout: 1000 });
      damage();
      assert.throws(() => ga.release(), new RegExp(`EPROTO.*corrupted: ${what}.*put back`), what);
      gb.release();
      assert.equal(view.getInt32(offset, true) === 0x40, false, `${what} restored`);
      // Both still work, and the thread's robust list is whole.
      a.tryLock()!.release();
      b.tryLock()!.release();
    }
  });

  for (const runtime of [CURRENT, OTHER]) {
    it(`RobustMutex: random garbage over its bytes, 300 rounds (${runtime}): no crash`, async () => {
      const { code, stdout, stderr } = await runFixture(runtime, "garbage_mutex.ts", [
        `${SEED}`,
        "300",
      ], 60_000);
      assert.equal(code, 0, stderr);
      const outcomes = JSON.parse(stdout) as Record<string, number>;
      assert.ok((outcomes["release: EPROTO"] ?? 0) > 0, "some garbage was caught on release");
      assert.ok((outcomes["lock: ok"] ?? 0) > 0, "the mutex works again after init");
      for (const [what, n] of Object.entries(outcomes)) {
        tally.calls += n;
        tally.outcomes[`mutex ${what}`] = (tally.outcomes[`mutex ${what}`] ?? 0) + n;
      }
    });
  }

  it("seqpacket and datagram: an oversized message is cut and flagged; the next is whole", () =>
    noLeak(async () => {
      const [a, b] = socketpair("seqpacket");
      using _a = a;
      using _b = b;
      a.sendSync(new Uint8Array(5000).fill(1));
      a.sendSync("next");
      const cut = b.receiveSync({ maxSize: 100 })!;
      assert.deepEqual([cut.data.length, cut.truncated], [100, true]);
      const next = (await b.receive({ timeout: 1000 }))!;
      assert.deepEqual([new TextDecoder().decode(next.data), next.truncated], ["next", false]);
      const abstract = uniqueName("garbage-dgram");
      using inbox = UnixDatagram.bind({ abstract });
      using sender = UnixDatagram.bind();
      sender.sendToSync({ abstract }, new Uint8Array(3000).fill(2));
      const got = inbox.receiveFromSync({ maxSize: 10 });
      assert.deepEqual([got.data.length, got.truncated], [10, true]);
    }));

  it("descriptors beyond maxFds, or sent to a plain read, are closed, never leaked", () =>
    noLeak(() => {
      const [a, b] = socketpair("seqpacket");
      using _a = a;
      using _b = b;
      const flood = Array<number>(200).fill(0); // fd 0, 200 times
      a.sendSync("fds", { fds: flood });
      const got = b.receiveSync({ maxFds: 3 })!;
      assert.ok(got.fds.length <= 3 && got.fdsTruncated, `${got.fds.length} fds`);
      for (const fd of got.fds) libc.close(fd);
      a.sendSync("none", { fds: flood });
      const none = b.receiveSync({ maxFds: 0 })!;
      assert.deepEqual([none.fds.length, none.fdsTruncated], [0, true]);
      const [s, t] = socketpair("stream");
      using _s = s;
      using _t = t;
      s.sendSync("abc", { fds: flood });
      const buf = new Uint8Array(8);
      assert.equal(t.readSync(buf), 3, "read() takes the bytes; the kernel drops the fds");
    }));
});

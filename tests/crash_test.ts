/**
 * Crashed peers (issue 14): a peer (tests/fixtures/crash_peer.ts, on Deno and on Bun) is
 * killed with SIGKILL at a random moment while it holds a semaphore or a lock, sends on a
 * queue, writes or reads a ShmChannel, accepts or sends on a socket. The survivor — this
 * process, working on the same object at the same time — must never hang: it either
 * carries on (the kernel released what the peer held: `SEM_UNDO`, closed descriptors, end
 * of stream; the ShmChannel and the RobustMutex took the slot or the lock back) or gets a
 * clear error within its timeout. Every message it received is checked (sequence number,
 * length, checksum): a peer's death loses at most the message it was in the middle of,
 * and never corrupts one.
 *
 * Every wait of the survivor is bounded (`within`), and a victim that has not printed
 * `ready` in 20 s is killed, so a hang fails the test rather than the run.
 *
 * `SYSIPC_CRASH_SEED` replays a run (the seed is printed); `SYSIPC_CRASH_ROUNDS` sets how
 * many kills each scenario gets per victim runtime (1 in CI; `npm run soak` runs more).
 */
import assert from "node:assert/strict";
import { spawn as nodeSpawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { setImmediate } from "node:timers";
import { after, describe, it } from "node:test";
import {
  connect,
  IpcError,
  listen,
  MessageQueue,
  RobustMutex,
  Semaphore,
  SharedMemory,
  ShmChannel,
  SysVMessageQueue,
  SysVSemaphoreSet,
  type UnixConnection,
} from "../mod.ts";
import { FRAME_HEADER, Ledger, readU32, seeded, writeFrame } from "./fixtures/frames.ts";
import {
  CURRENT,
  fixtureCommand,
  type RuntimeName,
  sleep,
  tempDir,
  uniqueName,
  within,
} from "./helpers.ts";

const SEED = Number(process.env.SYSIPC_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.SYSIPC_CRASH_ROUNDS ?? "1");
const random = seeded(SEED);
/** How long after `ready` the kill may come, ms. */
const MAX_DELAY = 40;
/** The survivor's own timeout on each wait, ms. */
const WAIT = 400;
/** How much longer than its timeout a wait may take before it counts as hung, ms. */
const SLACK = 5000;

/** What the runs saw, printed at the end (the README quotes a long run's figures). */
const tally = {
  seed: SEED,
  cases: 0,
  kills: 0,
  messages: 0,
  /** Outcomes the kill produced, by name: which windows the kills hit. */
  outcomes: {} as Record<string, number>,
};
function saw(outcome: string): void {
  tally.outcomes[outcome] = (tally.outcomes[outcome] ?? 0) + 1;
}

/** One event-loop turn: lets the victim's exit event through a loop that never waits. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The errno name of an `IpcError`; anything else is rethrown. */
function codeOf(e: unknown): string {
  if (e instanceof IpcError) return e.code;
  throw e;
}

/** A victim process: resolves `ready` once it is busy; `kill()` kills it at a random moment. */
function victim(runtime: RuntimeName, args: string[]) {
  const [command, argv] = fixtureCommand(runtime, "crash_peer.ts", args);
  const child = nodeSpawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<string | null>((resolve) =>
    child.on("exit", (_code, signal) => resolve(signal))
  );
  let alive = true;
  void exited.then(() => (alive = false));
  const limit = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const waitFor = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const look = () => out.split("\n").includes(word) && resolve();
      child.stdout!.on("data", (d) => {
        out += d;
        look();
      });
      look();
      void exited.then(() =>
        reject(new Error(`${runtime} victim ${args.join(" ")} exited early:\n${err}`))
      );
    });
  const ready = waitFor("ready");
  return {
    ready,
    waitFor,
    get alive() {
      return alive;
    },
    /** Waits for `ready`, then a random 0–MAX_DELAY ms, kills it, and waits for its end. */
    async kill(): Promise<void> {
      await ready;
      await sleep(random() * MAX_DELAY);
      child.kill("SIGKILL");
      const signal = await within(exited, 10_000, "the victim's exit");
      clearTimeout(limit);
      assert.equal(signal, "SIGKILL", `the victim died on its own:\n${err}`);
      tally.kills++;
    },
  };
}

type Scenario = (runtime: RuntimeName, seed: number) => Promise<void>;

/** Semaphores and the robust mutex: the survivor takes and gives back while the victim does. */
async function contend(
  take: (timeout: number) => Promise<() => void>,
  v: ReturnType<typeof victim>,
  afterDeath: (code: string | null) => void,
): Promise<void> {
  await v.ready;
  const killed = v.kill();
  while (v.alive) {
    // A few ms, not one turn: after a sync wait blocked this thread, the runtimes report
    // a child's exit only once the event loop has polled for a while.
    await sleep(5);
    try {
      const give = await within(take(WAIT), WAIT + SLACK, "a wait on the held object");
      give();
    } catch (e) {
      const code = codeOf(e);
      assert.ok(code === "ETIMEDOUT", `while the victim lives: ${code}`);
    }
  }
  await killed;
  let code: string | null = null;
  try {
    const give = await within(take(WAIT), WAIT + SLACK, "the wait after the kill");
    give();
  } catch (e) {
    code = codeOf(e);
  }
  afterDeath(code);
}

const SCENARIOS: Record<string, Scenario> = {
  "POSIX semaphore: the holder dies; the survivor's acquire succeeds or times out": async (
    runtime,
    seed,
  ) => {
    const name = `/${uniqueName("crash-sem")}`;
    using sem = Semaphore.open(name, { create: true, exclusive: true, value: 1 });
    try {
      const v = victim(runtime, ["posix-sem", `${seed}`, name]);
      await contend(
        async (timeout) => {
          const permit = await sem.acquire({ timeout });
          return () => permit.release();
        },
        v,
        (code) => {
          // No undo for POSIX semaphores: a holder's death keeps its unit.
          assert.ok(code === null || code === "ETIMEDOUT", `${code}`);
          saw(code === null ? "sem: free after the kill" : "sem: died holding, ETIMEDOUT");
        },
      );
    } finally {
      sem.unlink();
    }
  },
  "System V semaphore with SEM_UNDO: the holder dies; the kernel gives its unit back": async (
    runtime,
    seed,
  ) => {
    using set = SysVSemaphoreSet.get("private", { count: 1, create: true });
    try {
      set.setValue(0, 1);
      const v = victim(runtime, ["sysv-sem", `${seed}`, `${set.id}`, "1"]);
      await contend(
        async (timeout) => {
          await set.op([{ index: 0, delta: -1, undo: true }], { timeout });
          return () => set.opSync([{ index: 0, delta: 1, undo: true }]);
        },
        v,
        (code) => {
          assert.equal(code, null, "SEM_UNDO gave the unit back");
          assert.equal(set.getValue(0), 1);
          saw("sysv sem undo: free after the kill");
        },
      );
    } finally {
      set.remove();
    }
  },
  "System V semaphore without undo: the holder dies; the survivor succeeds or times out": async (
    runtime,
    seed,
  ) => {
    using set = SysVSemaphoreSet.get("private", { count: 1, create: true });
    try {
      set.setValue(0, 1);
      const v = victim(runtime, ["sysv-sem", `${seed}`, `${set.id}`, "0"]);
      await contend(
        (timeout) => {
          // The sync form, blocking this thread while it waits.
          set.opSync([{ index: 0, delta: -1 }], { timeout });
          return Promise.resolve(() => set.opSync([{ index: 0, delta: 1 }]));
        },
        v,
        (code) => {
          assert.ok(code === null || code === "ETIMEDOUT", `${code}`);
          saw(code === null ? "sysv sem: free after the kill" : "sysv sem: died holding");
        },
      );
    } finally {
      set.remove();
    }
  },
  "RobustMutex: the holder dies; the next lock gets ownerDied and the lock works on": async (
    runtime,
    seed,
  ) => {
    const name = `/${uniqueName("crash-mutex")}`;
    using shm = SharedMemory.open(name, { create: true, exclusive: true, size: 4096 });
    try {
      const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
      const v = victim(runtime, ["mutex", `${seed}`, name]);
      let diedHolding = false;
      await contend(
        async (timeout) => {
          const guard = await mutex.lock({ timeout });
          if (guard.ownerDied) {
            diedHolding = true;
            guard.consistent();
          }
          return () => guard.release();
        },
        v,
        (code) => {
          assert.equal(code, null, "the lock is never lost");
          saw(diedHolding ? "mutex: died holding, ownerDied" : "mutex: free after the kill");
        },
      );
    } finally {
      shm.unlink();
    }
  },
  "POSIX queue: the sender dies mid-send; every message whole and in order": async (
    runtime,
    seed,
  ) => {
    const name = `/${uniqueName("crash-mq")}`;
    using queue = MessageQueue.open(name, {
      create: true,
      exclusive: true,
      maxMessages: 8,
      messageSize: 256,
    });
    try {
      await drainWhileSending(
        "POSIX queue",
        victim(runtime, ["mq-send", `${seed}`, name]),
        async (timeout) => {
          return (await queue.receive({ timeout })).data;
        },
      );
    } finally {
      queue.unlink();
    }
  },
  "System V queue: the sender dies mid-send; every message whole and in order": async (
    runtime,
    seed,
  ) => {
    using queue = SysVMessageQueue.get("private", { create: true });
    try {
      queue.set({ maxBytes: 2048 });
      await drainWhileSending(
        "System V queue",
        victim(runtime, ["sysv-send", `${seed}`, `${queue.id}`]),
        async (timeout) => (await queue.receive({ timeout })).data,
      );
    } finally {
      queue.remove();
    }
  },
  "ShmChannel: the sender dies mid-write; the receiver gets EOWNERDEAD at most once, then times out":
    async (runtime, seed) => {
      const name = `/${uniqueName("crash-chan")}`;
      using channel = ShmChannel.create(name, { slots: 4, slotSize: 256 });
      try {
        await drainWhileSending(
          "channel",
          victim(runtime, ["shm-send", `${seed}`, name]),
          (timeout) => channel.receive({ timeout }),
        );
        assert.ok(channel.lost <= 1, `lost ${channel.lost}`);
      } finally {
        channel.unlink();
      }
    },
  "ShmChannel: the receiver dies mid-read; the sender takes the slot back and goes on": async (
    runtime,
    seed,
  ) => {
    const name = `/${uniqueName("crash-chan")}`;
    using channel = ShmChannel.create(name, { slots: 4, slotSize: 256 });
    try {
      const v = victim(runtime, ["shm-receive", `${seed}`, name]);
      const frame = new Uint8Array(FRAME_HEADER + 200);
      let seq = 0;
      const send = async () => {
        await within(
          channel.send(frame.subarray(0, writeFrame(frame, 0, seq, 200)), { timeout: WAIT }),
          WAIT + SLACK,
          "a send",
        );
        seq++;
      };
      // The victim's first receive needs a message to make it ready.
      await send();
      const killed = v.kill();
      while (v.alive) {
        await turn();
        try {
          await send();
        } catch (e) {
          assert.equal(codeOf(e), "ETIMEDOUT");
        }
      }
      await killed;
      // Nobody receives now: the channel fills (taking back a dead reader's slot on the
      // way), then the send times out.
      let code = null;
      for (let i = 0; i < 10 && code === null; i++) {
        try {
          await send();
        } catch (e) {
          code = codeOf(e);
        }
      }
      assert.equal(code, "ETIMEDOUT", "a full channel with no receiver times out");
      assert.ok(channel.lost <= 1, `lost ${channel.lost}`);
      saw(
        channel.lost === 1 ? "channel: reader died holding a slot" : "channel: reader died between",
      );
      // What is left is whole, in order (the victim took the ones before), and the
      // channel works on.
      const ledger = new Ledger("increasing");
      for (let m; (m = channel.tryReceive()) !== null;) ledger.add(m);
      assert.deepEqual(ledger.problems, []);
      assert.equal(ledger.count, 4, "the survivor's sends fill every slot");
      tally.messages += seq;
      assert.equal(channel.trySend("after"), true);
      assert.equal(new TextDecoder().decode(channel.tryReceive()!), "after");
    } finally {
      channel.unlink();
    }
  },
};

for (const type of ["stream", "seqpacket"] as const) {
  SCENARIOS[
    `${type} socket: the server dies mid-accept or mid-echo; clients get EOF or a clear error`
  ] = async (runtime, seed) => {
    using dir = tempDir();
    const path = join(dir.path, "s.sock");
    const v = victim(runtime, ["uds-server", `${seed}`, path, type]);
    await v.waitFor("listening");
    const killed = v.kill();
    const frame = new Uint8Array(64);
    frame.fill(7);
    const answer = new Uint8Array(64);
    const allowed = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EOF"]);
    let last = "";
    let afterDeath = 0;
    while (true) {
      await turn();
      const wasAlive = v.alive;
      let conn: UnixConnection | undefined;
      try {
        conn = await within(
          connect({ path, type, timeout: WAIT }),
          WAIT + SLACK,
          "a connect",
        );
        await within(conn.write(frame, { timeout: WAIT }), WAIT + SLACK, "a write");
        const n = await within(read(conn, answer), WAIT + SLACK, "an echo");
        if (n === null) last = "EOF";
        else {
          assert.deepEqual(answer.subarray(0, n), frame.subarray(0, n));
          last = "echoed";
        }
      } catch (e) {
        last = codeOf(e);
      } finally {
        conn?.close();
      }
      assert.ok(last === "echoed" || allowed.has(last), last);
      if (!wasAlive) {
        assert.notEqual(last, "echoed", "an echo from a dead server");
        if (last === "ECONNREFUSED") break;
        // The kernel may finish tearing down the dead server's socket just after its exit
        // is reported: a connect in that moment is queued, then reset. Soon every connect
        // is refused.
        assert.ok(++afterDeath < 200, `still ${last} a second after the server's death`);
        if (afterDeath === 1) saw(`${type} server: ${last} just after its exit, then refused`);
        await sleep(5);
      }
    }
    await killed;
    assert.equal(last, "ECONNREFUSED", "nothing listens after the kill");
    saw(`${type} server killed`);
  };
  SCENARIOS[
    `${type} socket: a client dies mid-message; the server reads whole messages, then EOF`
  ] = async (runtime, seed) => {
    using dir = tempDir();
    const path = join(dir.path, "s.sock");
    using listener = listen({ path, type });
    const v = victim(runtime, ["uds-client", `${seed}`, path, type]);
    const killed = v.kill();
    const ledger = new Ledger("exact");
    let truncated = 0;
    while (true) {
      await turn();
      const wasAlive = v.alive;
      let conn: UnixConnection;
      try {
        conn = await within(listener.accept({ timeout: WAIT }), WAIT + SLACK, "an accept");
      } catch (e) {
        assert.equal(codeOf(e), "ETIMEDOUT");
        if (!wasAlive) break;
        continue;
      }
      try {
        if (type === "seqpacket") {
          for (let m; (m = await within(conn.receive(), SLACK, "a receive")) !== null;) {
            ledger.add(m.data);
          }
        } else {
          truncated += await readFrames(conn, ledger);
        }
      } finally {
        conn.close();
      }
    }
    await killed;
    assert.deepEqual(ledger.problems, []);
    assert.ok(truncated <= 1, "only the last connection's last frame may be cut short");
    tally.messages += ledger.count;
    saw(truncated === 1 ? `${type} client died mid-frame` : `${type} client killed`);
  };
}

/** One read of at most `into.length` bytes, or `null` at end of stream. */
function read(conn: UnixConnection, into: Uint8Array): Promise<number | null> {
  return conn.read(into, { timeout: WAIT });
}

/** Reads length-framed messages until end of stream; returns 1 when the last is cut short. */
async function readFrames(conn: UnixConnection, ledger: Ledger): Promise<number> {
  let buf = new Uint8Array(1024);
  let have = 0;
  while (true) {
    const n = await within(conn.read(buf.subarray(have)), SLACK, "a read");
    if (n === null) return have > 0 ? 1 : 0;
    have += n;
    let at = 0;
    while (have - at >= FRAME_HEADER) {
      const size = FRAME_HEADER + readU32(buf, at + 8);
      if (size > 1024) {
        ledger.problem(`frame of ${size} bytes`);
        return 0;
      }
      if (have - at < size) break;
      ledger.add(buf.subarray(at, at + size));
      at += size;
    }
    buf.copyWithin(0, at, have);
    have -= at;
    if (buf.length - have < 256) buf = new Uint8Array(buf.length);
  }
}

/**
 * Queues: the survivor receives while the victim sends, through the kill, until a receive
 * times out; every message is checked, and the sequence has no gap but the one message a
 * ShmChannel writer died in the middle of (`EOWNERDEAD`, after which nothing comes).
 */
async function drainWhileSending(
  label: string,
  v: ReturnType<typeof victim>,
  receive: (timeout: number) => Promise<Uint8Array>,
): Promise<void> {
  const ledger = new Ledger("exact");
  await v.ready;
  const killed = v.kill();
  let ownerDead = 0;
  while (true) {
    await turn();
    const wasAlive = v.alive;
    try {
      const data = await within(receive(WAIT), WAIT + SLACK, "a receive");
      assert.equal(ownerDead, 0, "nothing after EOWNERDEAD: the writer was dead");
      ledger.add(data);
    } catch (e) {
      const code = codeOf(e);
      if (code === "EOWNERDEAD") {
        ownerDead++;
        continue;
      }
      assert.equal(code, "ETIMEDOUT");
      if (!wasAlive) break;
    }
  }
  await killed;
  assert.deepEqual(ledger.problems, []);
  assert.ok(ownerDead <= 1, `EOWNERDEAD ${ownerDead} times`);
  tally.messages += ledger.count;
  saw(ownerDead ? `${label}: died mid-write, EOWNERDEAD` : `${label}: sender killed`);
}

describe(`crashed peers (seed ${SEED}, ${ROUNDS} round${ROUNDS === 1 ? "" : "s"})`, () => {
  after(() => console.log(`crash tally (${CURRENT}): ${JSON.stringify(tally)}`));
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    for (const runtime of ["deno", "bun"] as const) {
      it(`${name} (${runtime} victim)`, async () => {
        for (let round = 0; round < ROUNDS; round++) {
          tally.cases++;
          await scenario(runtime, Math.floor(random() * 2 ** 31));
        }
      });
    }
  }
});

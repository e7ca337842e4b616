/**
 * Hostile input (issue 14): the sweep and the seeded fuzz run of `tests/fixtures/hostile.ts`
 * over the table of `tests/surface.ts`, each in a process of its own with a time limit (a
 * crash or a hang fails the test instead of the runner), a check that the table covers
 * every export, and regression tests for the defects they found.
 *
 * `SYSIPC_FUZZ_SEED` replays a seed; `SYSIPC_FUZZ_CALLS` sets the number of calls (10,000
 * by default; `npm run fuzz` runs 200,000 on both runtimes).
 */
import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import * as sysipc from "../mod.ts";
import * as ffi from "../ffi/mod.ts";
import { CURRENT, runFixture } from "./helpers.ts";
import { NOT_CALLED, NOT_CALLED_MEMBERS, SURFACE } from "./surface.ts";

const MODULES = [
  "mod.ts",
  "pipe/mod.ts",
  "fifo/mod.ts",
  "shm/mod.ts",
  "signal/mod.ts",
  "uds/mod.ts",
  "mq/mod.ts",
  "sem/mod.ts",
  "ffi/mod.ts",
];

interface Report {
  cases: number;
  failures: string[];
  outcomes: Record<string, number>;
  leakedFds: string[];
  leakedObjects: string[];
}

async function run(args: string[], timeoutMs: number): Promise<Report> {
  const result = await runFixture(CURRENT, "hostile.ts", args, timeoutMs);
  const tail = result.stderr.trim().split("\n").slice(-5).join("\n");
  assert.equal(
    result.code,
    0,
    `hostile.ts ${args.join(" ")} crashed or hung (exit ${result.code}); last lines:\n${tail}`,
  );
  return JSON.parse(result.stdout.trim().split("\n").pop()!);
}

/** Every public member name the table must cover: `fn`, `Class.static`, `Class#member`. */
async function publicMembers(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const file of MODULES) {
    const ns = await import(`../${file}`);
    for (const [name, value] of Object.entries(ns)) {
      if (name in NOT_CALLED) continue;
      if (typeof value !== "function") {
        names.add(name); // data the table must list in NOT_CALLED
        continue;
      }
      if (!/^class\b/.test(Function.prototype.toString.call(value))) {
        names.add(name);
        continue;
      }
      names.add(`new ${name}`);
      for (const key of Object.getOwnPropertyNames(value)) {
        if (!["length", "name", "prototype"].includes(key)) names.add(`${name}.${key}`);
      }
      for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(value.prototype))) {
        if (key === "constructor") continue;
        if (d.get) names.add(`${name}#get ${key}`);
        if (d.set) names.add(`${name}#set ${key}`);
        if (!d.get && !d.set) names.add(`${name}#${key}`);
      }
    }
  }
  return names;
}

describe("hostile input", () => {
  it("the table lists every public function, method and accessor", async () => {
    const listed = new Set(SURFACE.map((e) => e.id));
    const subclasses: Record<string, string[]> = {
      FdHandle: [
        "PipeReader",
        "PipeWriter",
        "SharedMemory",
        "MappedFile",
        "PidFd",
        "UnixConnection",
        "UnixListener",
        "UnixDatagram",
        "MessageQueue",
        "EventFd",
      ],
      MappedFd: ["SharedMemory", "MappedFile"],
    };
    const missing = [...await publicMembers()].filter((id) => {
      if (listed.has(id) || id in NOT_CALLED_MEMBERS) return false;
      if (id === "ftok" && listed.has("ftok (ffi)")) return false;
      // A base class's member is covered on its subclasses.
      const [cls, member] = id.split("#");
      if (member !== undefined && cls! in subclasses) {
        return !subclasses[cls!]!.some((sub) => listed.has(`${sub}#${member}`));
      }
      return true;
    });
    assert.deepEqual(missing, [], "public members the table of tests/surface.ts does not cover");
  });

  it(`${CURRENT}: every argument refuses every hostile value, naming it; closed and removed handles give IpcError`, async () => {
    const report = await run(["sweep"], 120_000);
    assert.deepEqual(report.failures, []);
    assert.ok(report.cases > 4500, `${report.cases} cases`);
    assert.deepEqual(report.leakedFds, [], "descriptors left open");
    assert.deepEqual(report.leakedObjects, [], "kernel objects left behind");
  });

  it(`${CURRENT}: a seeded fuzz run ends in clean errors only, and leaks nothing`, async () => {
    const seed = Number(process.env.SYSIPC_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const calls = Number(process.env.SYSIPC_FUZZ_CALLS ?? 10_000);
    // The seed is printed so that a failure can be replayed with SYSIPC_FUZZ_SEED.
    console.log(`fuzz: ${CURRENT}, seed ${seed}, ${calls} calls`);
    const report = await run(["fuzz", String(seed), String(calls)], 60_000 + calls * 5);
    assert.deepEqual(report.failures, [], `seed ${seed}`);
    assert.ok(report.cases >= calls * 0.95, `${report.cases} calls made`);
    assert.deepEqual(report.leakedFds, [], `seed ${seed}: descriptors left open`);
    assert.deepEqual(report.leakedObjects, [], `seed ${seed}: kernel objects left behind`);
  });
});

describe("hostile input: regressions", () => {
  it("constructors that took addresses, ids or mappings cannot be called from outside", () => {
    const forged = [
      sysipc.Semaphore,
      sysipc.Permit,
      sysipc.SysVSemaphoreSet,
      sysipc.SysVSharedMemory,
      sysipc.ShmChannel,
      sysipc.ShmSlot,
      sysipc.ShmMessage,
      sysipc.SignalReceiver,
      sysipc.FdHandle,
      sysipc.MappedFd,
    ];
    for (const C of forged) {
      const Ctor = C as unknown as new (...a: unknown[]) => unknown;
      // new Semaphore("/x", 8n).release() once called sem_post at address 8.
      assert.throws(() => new Ctor("/x", 8n, 1, 2), TypeError, C.name);
    }
    assert.throws(() => new sysipc.IpcError(1 as never), /init must be an object/);
    assert.throws(() => new sysipc.IpcError({ errno: 1.5, syscall: "x" }), /init.errno/);
  });

  it("a view of a detached buffer is refused, not sent or filled as empty", () => {
    const [r, w] = sysipc.pipe({ nonBlocking: true });
    using _r = r;
    using _w = w;
    const buffer = new ArrayBuffer(8);
    const view = new Uint8Array(buffer);
    buffer.transfer();
    assert.throws(() => w.writeSync(view), /data is a view of a detached ArrayBuffer/);
    assert.throws(() => r.readSync(view), /into is a view of a detached ArrayBuffer/);
    assert.equal(w.writeSync(new Uint8Array(0)), 0, "an empty array is still fine");
  });

  it("options that are not objects are refused where they were ignored", () => {
    const [a, b] = sysipc.socketpair("stream");
    using _a = a;
    using _b = b;
    assert.throws(() => a.sendSync("x", 1 as never), /options must be an object/);
    assert.throws(() => a.receiveSync("x" as never), /options must be an object/);
    assert.throws(
      () => sysipc.kill(process.pid, 0, { group: 1 as never }),
      /group must be a boolean/,
    );
    assert.throws(() => sysipc.spawn("true", [], { fds: 1 as never }), /fds must be an object/);
    assert.throws(
      () => sysipc.spawn("true", [], { blockSignals: null as never }),
      /blockSignals must be an array/,
    );
    assert.throws(
      () => sysipc.spawn("true", [], { blockSignals: ["SIGNOPE" as never] }),
      /blockSignals\[0\]/,
    );
    assert.throws(
      () => sysipc.UnixDatagram.bind({ mode: 0o1000 }),
      /mode applies to socket files only/,
    );
    assert.throws(
      () => new sysipc.EventFd({ initial: null as never }),
      /initial must be an integer/,
    );
    assert.throws(() => sysipc.SignalReceiver.listen(["SIGKILL"]), /signals\[0\]/);
  });

  it("the raw layer's helpers check what a caller gives them", () => {
    assert.throws(() => ffi.retryWithDeadline(() => 0, NaN, "x"), /timeout must be >= 0/);
    assert.throws(() => ffi.retryWithTimer(() => 0, 0, "x"), /timeout must be > 0 and finite/);
    assert.throws(() => ffi.setWaitSpin(Symbol() as never), /microseconds must be a number/);
    assert.throws(() => ffi.checkCode(1.5, "x"), /code must be 0 or an errno value/);
    assert.throws(() => ffi.stableCString(1 as never), /text must be a string/);
    assert.throws(() => ffi.errnoName(-1), /errno must be between 0 and 4095/);
  });
});

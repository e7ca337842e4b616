/**
 * Regression tests for the defects a review found in the foundation (issue 5): what users
 * do, not only what the code expects. Scenarios that once hung the event loop run in a
 * second process with a time limit, so a regression fails its test by timeout instead of
 * stalling the suite.
 */
import assert from "node:assert/strict";
import { spawn as nodeSpawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import * as ffi from "../ffi/mod.ts";
import { IpcError } from "../ffi/errors.ts";
import { EAGAIN, EINTR, errno, libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { retryWithDeadline } from "../ffi/wait/mod.ts";
import { mkfifo, openFifoReader, openFifoWriter } from "../fifo/mod.ts";
import { platform } from "../mod.ts";
import { SysVMessageQueue } from "../mq/mod.ts";
import { pipe, PipeReader, PipeWriter, spawn } from "../pipe/mod.ts";
import { Semaphore, SysVSemaphoreSet } from "../sem/mod.ts";
import {
  fixtureCommand,
  hasCommand,
  noLeak,
  readAll,
  runFixture,
  type RuntimeName,
  sleep,
  tempDir,
} from "./helpers.ts";

const RUNTIMES: RuntimeName[] = ["deno", "bun"];

function isCode(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof IpcError, `expected IpcError ${code}, got ${e}`);
    assert.equal(e.code, code);
    return true;
  };
}

/** Runs a fixture and parses the JSON of its last line. */
async function fixtureJson(
  runtime: RuntimeName,
  fixture: string,
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string>; denoFlags?: string[] } = {},
): Promise<Record<string, unknown>> {
  const result = await runFixture(runtime, fixture, args, options.timeoutMs ?? 30_000, {
    env: options.env,
    denoFlags: options.denoFlags,
  });
  assert.equal(result.code, 0, `${fixture} on ${runtime} failed or timed out:\n${result.stderr}`);
  const last = result.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last);
}

describe("async transfers never block the event loop", () => {
  for (const runtime of RUNTIMES) {
    for (const scenario of ["fifo-then-pipe", "fifo-big", "fifo-readers"]) {
      it(`${runtime}: ${scenario}`, async () => {
        using dir = tempDir();
        const out = await fixtureJson(runtime, "transfers.ts", [scenario, dir.path]);
        if (scenario === "fifo-then-pipe") {
          assert.equal(out.fifo, true, "the FIFO round trip");
          assert.equal(out.pipe, true, "4 MiB through a pipe after FIFO I/O");
        } else if (scenario === "fifo-big") {
          assert.equal(out.fifo, true, "4 MiB through a FIFO read in the same process");
        } else {
          assert.equal(out.jobs, 2000, "every job read");
          assert.equal(out.unique, true, "each job exactly once");
        }
        // A blocked thread would stop the 5 ms ticker for as long as it is blocked.
        assert.ok((out.maxGapMs as number) < 1000, `the event loop stalled ${out.maxGapMs} ms`);
      });
    }
  }

  it("a FIFO end reads and writes through a private non-blocking description", () =>
    noLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "f");
      mkfifo(path);
      const [r, w] = await Promise.all([openFifoReader(path), openFifoWriter(path)]);
      // The shared descriptions stay blocking: other processes sharing them see no change.
      const flags = (fd: number) => libc.fcntl(fd, ffi.C.F_GETFL, 0);
      assert.equal(flags(r.fd) & ffi.C.O_NONBLOCK, 0);
      const writing = w.write(new Uint8Array(300_000).fill(7));
      const buf = new Uint8Array(50_000);
      let total = 0;
      while (total < 300_000) total += (await r.read(buf)) ?? 0;
      assert.equal(await writing, 300_000);
      assert.equal(total, 300_000);
      assert.equal(flags(r.fd) & ffi.C.O_NONBLOCK, 0);
      assert.equal(flags(w.fd) & ffi.C.O_NONBLOCK, 0);
      w.close();
      r.close();
    }));
});

/** Resolves with the next stdout line of `child` that equals `line`. */
function lineWaiter(child: ReturnType<typeof nodeSpawn>) {
  let buffered = "";
  const waiters: { line: string; resolve: () => void }[] = [];
  child.stdout!.on("data", (d: Uint8Array) => {
    buffered += new TextDecoder().decode(d);
    for (const w of [...waiters]) {
      if (buffered.split("\n").includes(w.line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  return {
    until: (line: string) =>
      new Promise<void>((resolve) => {
        if (buffered.split("\n").includes(line)) resolve();
        else waiters.push({ line, resolve });
      }),
    text: () => buffered,
  };
}

/**
 * Starts a fixture whose stdout lines the test waits for; it is killed after 20 s, or
 * when the test leaves its scope first. `exited` resolves with its exit code, `stderr()`
 * gives what it wrote there.
 */
function jobFixture(runtime: RuntimeName, fixture: string, args: string[]) {
  const [command, argv] = fixtureCommand(runtime, fixture, args);
  const child = nodeSpawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => stderr += d);
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return {
    pid: child.pid!,
    lines: lineWaiter(child),
    exited,
    stderr: () => stderr,
    [Symbol.dispose]: () => {
      clearTimeout(killer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

async function stopAndContinue(pid: number) {
  process.kill(pid, "SIGSTOP");
  await sleep(50);
  process.kill(pid, "SIGCONT");
  await sleep(50);
}

describe("job control during a pending wait", () => {
  for (const runtime of RUNTIMES) {
    it(`${runtime}: a FIFO open and a read survive SIGSTOP and SIGCONT (Ctrl-Z, fg)`, async () => {
      using dir = tempDir();
      const path = join(dir.path, "f");
      mkfifo(path);
      using child = jobFixture(runtime, "stop_wait.ts", [path]);
      const { lines } = child;
      await lines.until("open-pending");
      await sleep(150); // the open is in the kernel now
      await stopAndContinue(child.pid);
      const writer = await openFifoWriter(path, { timeout: 10_000 });
      await lines.until("read-pending");
      await sleep(150); // the read has parked
      await stopAndContinue(child.pid);
      await writer.write("hello after fg");
      writer.close();
      assert.equal(await child.exited, 0, child.stderr());
      assert.equal(lines.text().trim().split("\n").pop(), '{"text":"hello after fg"}');
    });
  }
});

describe("job control during a wait with no descriptor", () => {
  for (const runtime of RUNTIMES) {
    it(`${runtime}: semaphore, System V set and queue waits survive SIGSTOP and SIGCONT`, async () => {
      const name = `/sysipc-stop-${process.pid}-${runtime}`;
      // Made one by one inside the try, so that whatever was made is removed on any failure.
      let sem: Semaphore | undefined;
      let set: SysVSemaphoreSet | undefined;
      let queue: SysVMessageQueue | undefined;
      try {
        sem = Semaphore.open(name, { create: true, exclusive: true });
        set = SysVSemaphoreSet.get("private", { create: true, count: 1 });
        queue = SysVMessageQueue.get("private", { create: true });
        using child = jobFixture(runtime, "stop_wait_ipc.ts", [
          name,
          String(set.id),
          String(queue.id),
        ]);
        const { lines } = child;
        // Each wait has parked (futex, helper thread) before the stop.
        await lines.until("sem-pending");
        await sleep(150);
        await stopAndContinue(child.pid);
        sem.release();
        await lines.until("set-pending");
        await sleep(150);
        await stopAndContinue(child.pid);
        set.opSync([{ index: 0, delta: 1 }]);
        await lines.until("queue-pending");
        await sleep(150);
        await stopAndContinue(child.pid);
        queue.sendSync(7, "after fg");
        assert.equal(await child.exited, 0, child.stderr());
        assert.equal(lines.text().trim().split("\n").pop(), '{"type":7,"text":"after fg"}');
        // Each post went to exactly that wait: nothing is left over.
        assert.equal(sem.value, 0);
        assert.equal(set.getValue(0), 0);
        assert.equal(queue.stat().messages, 0);
      } finally {
        sem?.unlink();
        sem?.close();
        set?.remove();
        queue?.remove();
      }
    });
  }
});

describe("spawn", () => {
  for (const runtime of RUNTIMES) {
    it(`${runtime}: out of descriptors, spawn throws EMFILE and leaves no child behind`, async () => {
      const out = await fixtureJson(runtime, "spawn_emfile.ts", []);
      assert.equal(out.code, "EMFILE", String(out.message));
      assert.match(String(out.message), /could not open its pidfd \(EMFILE\), so it was killed/);
      assert.deepEqual(out.children, [], "the started child was killed and reaped");
    });

    it(`${runtime}: unref() lets the parent exit; status still settles while it runs`, async () => {
      const t0 = performance.now();
      const gone = await fixtureJson(runtime, "spawn_unref.ts", ["exit"], { timeoutMs: 10_000 });
      const took = performance.now() - t0;
      assert.ok(existsSync(`/proc/${gone.pid}`), "the unref'd child still runs");
      process.kill(gone.pid as number, "SIGKILL");
      assert.ok(took < 8000, `the parent exited after ${took} ms, not at once`);
      const settled = await fixtureJson(runtime, "spawn_unref.ts", ["settle"]);
      assert.deepEqual(settled.status, { code: 0, signal: null });
    });
  }

  it("looks the command up in env.PATH when env is given", async () => {
    using dir = tempDir();
    const script = join(dir.path, "only-here");
    writeFileSync(script, "#!/bin/sh\necho found in env.PATH\n");
    chmodSync(script, 0o755);
    const [out, outWriter] = pipe();
    const child = spawn("only-here", [], { env: { PATH: dir.path }, stdout: outWriter });
    outWriter.close();
    assert.equal(await readAll(out), "found in env.PATH\n");
    out.close();
    assert.deepEqual(await child.status, { code: 0, signal: null });
    // Not in the parent's PATH, so without env it is not found.
    assert.throws(() => spawn("only-here"), /ENOENT: Command not found in PATH/);
  });

  it("names the real cause: a missing cwd, a bad stdio value", () => {
    assert.throws(
      () => spawn("true", [], { cwd: "/nonexistent" }),
      /ENOENT: Cannot use cwd: .*'\/nonexistent'/,
    );
    assert.throws(() => spawn("true", [], { cwd: "/etc/hostname" }), /ENOTDIR: cwd is a regular/);
    assert.throws(
      // @ts-expect-error: wrong value on purpose
      () => spawn("true", [], { stdin: "piped" }),
      /stdin must be "inherit", "null", a file descriptor number or a handle with an fd .* got string "piped"/,
    );
  });
});

describe("sync waits and io_uring completions", () => {
  it("a sync call with a timeout runs its whole timeout despite EINTR from completions", async () => {
    // A private System V semaphore at 0: semtimedop(-1) can only time out.
    const SYS_semget = 64, SYS_semop = 220, SYS_semctl = 66, IPC_RMID = 0;
    const id = libc.syscall(SYS_semget, 0, 1, 0o1600, 0, 0, 0);
    assert.ok(id >= 0, `semget: errno ${errno()}`);
    const sops = new Uint8Array(new ArrayBuffer(6));
    new DataView(sops.buffer).setInt16(2, -1, true);
    const ts = new BigInt64Array(new ArrayBuffer(16));
    const semtimedop = (ms: number) => {
      ts[0] = BigInt(Math.floor(ms / 1000));
      ts[1] = BigInt(Math.floor((ms % 1000) * 1e6));
      return libc.syscall(SYS_semop, id, runtime.addressOf(sops), 1, runtime.addressOf(ts), 0, 0);
    };
    try {
      // An async read that another process completes 100 ms from now, while this thread
      // sits in a blocking call.
      const interrupt = () => {
        const [r, w] = pipe();
        const reading = r.read(new Uint8Array(4)).finally(() => r.close());
        nodeSpawn("sh", ["-c", `sleep 0.1; printf x > /proc/${process.pid}/fd/${w.fd}`]);
        return { reading, w };
      };
      if (platform.waitEngine === "io_uring") {
        // What the helper is for: the raw call is cut short.
        const { reading, w } = interrupt();
        await sleep(20); // let the read park in the kernel
        const t0 = performance.now();
        const raw = semtimedop(1000);
        const e = errno();
        const took = performance.now() - t0;
        await reading;
        w.close();
        assert.equal(raw, -1);
        assert.equal(e, EINTR, `the raw call ended with errno ${e} after ${took} ms`);
        assert.ok(took < 900, `the raw call ran ${took} ms`);
      }
      const { reading, w } = interrupt();
      await sleep(20);
      const t0 = performance.now();
      assert.throws(
        () => retryWithDeadline((left) => semtimedop(left ?? 1e9), 400, "semtimedop"),
        (err) => err instanceof IpcError && err.errno === EAGAIN,
      );
      const took = performance.now() - t0;
      await reading;
      w.close();
      assert.ok(took >= 395, `the call gave up after ${took} ms of 400`);
    } finally {
      libc.syscall(SYS_semctl, id, 0, IPC_RMID, 0, 0, 0);
    }
  });
});

describe("workers", () => {
  for (const runtime of RUNTIMES) {
    it(`${runtime}: 20 short-lived Workers that each park an async read leak nothing`, async () => {
      const out = await fixtureJson(runtime, "workers.ts", ["20"]);
      assert.deepEqual(out.said, ["parked"]);
      const grown = (out.after as number) - (out.before as number);
      assert.ok(grown <= 3, `descriptors grew by ${grown} over 20 Workers`);
    });
  }
});

describe("the io_uring backend when other code breaks it", () => {
  // Forced on, also in the suite's run with the polling backend: these are its faults.
  const env = { SYSIPC_WAIT_ENGINE: "io_uring" };
  for (const runtime of RUNTIMES) {
    it(`${runtime}: the doorbell's fd closed under pending waits: they move to a new ring`, async () => {
      assert.deepEqual(
        await fixtureJson(runtime, "engine_faults.ts", ["doorbell-closed"], { env }),
        {
          scenario: "doorbell-closed",
          first: "data",
          next: "data",
          pending: "late",
        },
      );
      const alone = await fixtureJson(runtime, "engine_faults.ts", ["doorbell-closed-alone"], {
        env,
      });
      assert.equal(alone.pending, "late");
      assert.ok((alone.heardWithinMs as number) < 1000, `heard after ${alone.heardWithinMs} ms`);
    });
    it(`${runtime}: the ring's fd closed: later waits get a new ring`, async () => {
      assert.deepEqual(await fixtureJson(runtime, "engine_faults.ts", ["ring-closed"], { env }), {
        scenario: "ring-closed",
        first: "data",
        next: "data",
        again: "data",
      });
    });
    it(`${runtime}: out of descriptors, even while the ring is made, waits still work`, async () => {
      const out = await fixtureJson(runtime, "engine_faults.ts", ["emfile"], { env });
      assert.deepEqual(
        [out.noneLeft, out.oneLeft, out.ringMapsWhileFull, out.after],
        ["none", "one", 0, "data"],
      );
      assert.ok((out.ringMapsAfter as number) > 0, "a ring is made once descriptors are back");
    });
  }
});

describe("descriptor ownership", () => {
  for (const runtime of RUNTIMES) {
    it(`${runtime}: the garbage collector closes only what sysipc opened`, async () => {
      const out = await fixtureJson(runtime, "finalizer.ts", [], {
        denoFlags: ["--v8-flags=--expose-gc"],
      });
      assert.deepEqual(out, { adoptedStillOpen: true, borrowedStillOpen: true, ownedClosed: true });
    });
  }

  it("fromFd(fd, { own: false }) never closes fd; fromFd(fd) closes it on close()", () => {
    const raw = new Int32Array(2);
    libc.pipe2(raw, ffi.C.O_CLOEXEC);
    const isOpen = (fd: number) => libc.fcntl(fd, ffi.C.F_GETFD, 0) >= 0;
    const borrowed = PipeWriter.fromFd(raw[1]!, { own: false });
    borrowed.writeSync("x");
    borrowed.close();
    assert.ok(isOpen(raw[1]!));
    const adopted = PipeReader.fromFd(raw[0]!);
    adopted.close();
    assert.ok(!isOpen(raw[0]!));
    libc.close(raw[1]!);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => PipeReader.fromFd(3, { own: "yes" }), /own must be a boolean/);
  });

  it("the constructors are not public", () => {
    const Reader = PipeReader as unknown as new (fd: number) => unknown;
    const Writer = PipeWriter as unknown as new (fd: number) => unknown;
    assert.throws(() => new Reader(-5), /PipeReader has no public constructor: use pipe\(\)/);
    assert.throws(() => new Writer(1), /PipeWriter has no public constructor/);
  });
});

describe("writes on one writer never mix", () => {
  it("concurrent writes are queued whole; writeSync during one throws EBUSY", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const a = w.write(new Uint8Array(200_000).fill(97)); // "a"
      const b = w.write(new Uint8Array(200_000).fill(98)); // "b"
      assert.throws(() => w.writeSync("c"), isCode("EBUSY"));
      const reading = readAll(r);
      assert.deepEqual(await Promise.all([a, b]), [200_000, 200_000]);
      w.close();
      const text = await reading;
      assert.equal(text, "a".repeat(200_000) + "b".repeat(200_000));
      r.close();
    }));

  it("a queued write honours its own abort and timeout, and the queue goes on", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const first = w.write(new Uint8Array(100_000).fill(1)); // fills the pipe, then waits
      const controller = new AbortController();
      const second = w.write("never", { signal: controller.signal });
      const third = w.write("late", { timeout: 30 });
      controller.abort("changed my mind");
      await assert.rejects(second, (e) => e === "changed my mind");
      await assert.rejects(third, isCode("ETIMEDOUT"));
      const fourth = w.write("!");
      const reading = readAll(r);
      await Promise.all([first, fourth]);
      w.close();
      const text = await reading;
      assert.equal(text.length, 100_001);
      assert.ok(text.endsWith("!") && !text.includes("never") && !text.includes("late"));
      r.close();
    }));
});

describe("aborts and partial writes", () => {
  it("an already-aborted signal rejects even when data is there", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      w.writeSync("ready");
      await assert.rejects(r.read(new Uint8Array(8), { signal: AbortSignal.abort("no") }), (e) =>
        e === "no");
      await assert.rejects(w.write("x", { signal: AbortSignal.abort("no") }), (e) =>
        e === "no");
      assert.equal(r.readSync(new Uint8Array(8)), 5, "nothing was read or written");
      r.close();
      w.close();
    }));

  it("aborting a write after part of it went through says how much", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const controller = new AbortController();
      const writing = w.write(new Uint8Array(1 << 20), { signal: controller.signal });
      setTimeout(() => controller.abort(new DOMException("took too long", "TimeoutError")), 20);
      await assert.rejects(writing, (e) => {
        assert.ok(e instanceof IpcError && e.code === "ECANCELED", String(e));
        assert.equal(e.bytesWritten, 65536);
        assert.match(e.message, /Aborted after 65536 of 1048576 bytes were written/);
        assert.equal((e.cause as DOMException).name, "TimeoutError");
        return true;
      });
      r.close();
      w.close();
    }));
});

describe("the public surface", () => {
  it("test hooks are not exported", () => {
    assert.ok(!("setWaitEngine" in ffi) && !("engineFds" in ffi));
  });

  it("options of the wrong type are refused", () => {
    using dir = tempDir();
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => mkfifo(join(dir.path, "f"), "x"), /options must be an object/);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => pipe({ packet: "yes" }), /packet must be a boolean/);
  });
});

describe("the polling backend", () => {
  const strace = hasCommand("strace");
  for (const runtime of RUNTIMES) {
    it(
      `${runtime}: 1,000 waits share one poll() per tick`,
      { skip: strace ? false : "strace is not installed (apt-get install strace)" },
      async () => {
        using dir = tempDir();
        const log = join(dir.path, "strace.txt");
        const [command, args] = fixtureCommand(runtime, "poll_many.ts");
        const result = await new Promise<{ code: number | null; out: string; err: string }>(
          (resolve) => {
            const child = nodeSpawn(
              "strace",
              ["-f", "-qq", "-e", "trace=poll", "-o", log, command, ...args],
              { env: { ...process.env, SYSIPC_WAIT_ENGINE: "poll" } },
            );
            let out = "", err = "";
            child.stdout.on("data", (d) => out += d);
            child.stderr.on("data", (d) => err += d);
            const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
            child.on("close", (code) => {
              clearTimeout(killer);
              resolve({ code, out, err });
            });
          },
        );
        assert.equal(result.code, 0, result.err);
        assert.deepEqual(JSON.parse(result.out.trim()), { engine: "poll", reads: 1000 });
        const calls = readFileSync(log, "utf8").split("\n").filter((l) => /\bpoll\(/.test(l));
        // One poll() per wait per tick would be tens of thousands in 300 ms.
        assert.ok(calls.length < 200, `${calls.length} poll() calls for 1,000 waits`);
      },
    );
  }
});

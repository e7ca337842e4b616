/**
 * Tests of the signal module: sending, process groups and receiving, within one process
 * (with signals whose default action is to be ignored, so that a failure cannot kill the
 * test runner), between processes on both runtimes and across them, and with C, Python
 * and the shell as peers. Whatever could hang or kill runs in a child process with a time
 * limit.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn as nodeSpawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { after, describe, it } from "node:test";
import { readFileSync, writeFileSync } from "node:fs";
import { libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import {
  getpgid,
  kill,
  killGroup,
  PidFd,
  type SignalInfo,
  signalName,
  signalNumber,
  SignalReceiver,
  sigqueue,
} from "../signal/mod.ts";
import { spawn } from "../pipe/mod.ts";
import { platform } from "../mod.ts";
import {
  cliCommand,
  compileC,
  fixtureCommand,
  hasCommand,
  isCode,
  noLeak,
  runFixture,
  type RuntimeName,
  sleep,
  tempDir,
} from "./helpers.ts";

const RUNTIMES: RuntimeName[] = ["deno", "bun"];
const UID = libc.getuid();
const SIGRTMIN = signalNumber("SIGRTMIN");

function statusLines(): string {
  return readFileSync("/proc/self/status", "utf8").split("\n")
    .filter((l) => /^Sig(Blk|Ign|Cgt):/.test(l)).join(" ");
}

/** A started process whose stdout is watched for a `ready <pid>` line. */
interface Started {
  /** Resolves with the pid it printed in its `ready` line. */
  ready: Promise<number>;
  /** Writes to its stdin. */
  write(text: string): void;
  /** Resolves once it has ended. */
  done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

/** Starts a command, killing it (and failing) after `timeoutMs`. */
function start(
  command: string,
  args: string[],
  options: { timeoutMs?: number; detached?: boolean; env?: Record<string, string> } = {},
): Started {
  const child = nodeSpawn(command, args, {
    stdio: ["pipe", "pipe", "pipe"],
    detached: options.detached,
    env: { ...process.env, ...options.env },
  });
  let stdout = "";
  let stderr = "";
  let onReady: (pid: number) => void;
  let onFail: (e: Error) => void;
  const ready = new Promise<number>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  ready.catch(() => {});
  child.stdout!.on("data", (d: Uint8Array) => {
    stdout += new TextDecoder().decode(d);
    const m = /^ready(?: (\d+))?$/m.exec(stdout);
    if (m) onReady(Number(m[1] ?? child.pid));
  });
  child.stderr!.on("data", (d: Uint8Array) => stderr += new TextDecoder().decode(d));
  const timer = setTimeout(() => {
    try {
      process.kill(options.detached ? -child.pid! : child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs ?? 30_000);
  const done = new Promise<Awaited<Started["done"]>>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      onFail(new Error(`${command} ended before it was ready:\n${stdout}\n${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { ready, write: (text) => child.stdin!.write(text), done };
}

/** Starts a fixture on a runtime. */
function startFixture(runtime: RuntimeName, fixture: string, args: string[]): Started {
  const [command, argv] = fixtureCommand(runtime, fixture, args);
  return start(command, argv);
}

/** The last line of a finished process's stdout as JSON, after checking it exited with 0. */
async function jsonOf(started: Started, what: string): Promise<Record<string, unknown>> {
  const r = await started.done;
  assert.equal(r.code, 0, `${what} failed (${r.signal ?? r.code}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

type Row = [string, number, number, number, string];

/**
 * Rows sorted by signal, then value. Signals that arrive at once may be reported in
 * another order than they were sent: the kernel can run the handler for them on several
 * threads at the same time.
 */
function byValue(rows: Row[]): Row[] {
  return rows.toSorted((x, y) => x[0].localeCompare(y[0]) || x[3] - y[3]);
}

/** Runs the sender fixture; returns its pid. */
async function send(runtime: RuntimeName, args: string[]): Promise<number> {
  const r = await runFixture(runtime, "signal_sender.ts", args);
  assert.equal(r.code, 0, `signal_sender.ts on ${runtime} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim()).pid;
}

describe("signal: bad input is refused before any system call", () => {
  it("platform facts", () => {
    assert.equal(platform.signalReceiver, platform.arch === "x64");
    assert.equal(platform.pidfd, true, "this kernel (6.x) has pidfds");
  });

  it("names and numbers", () => {
    assert.equal(signalNumber("SIGRTMIN+1"), SIGRTMIN + 1);
    assert.equal(signalName(SIGRTMIN + 3), "SIGRTMIN+3");
    assert.throws(() => signalNumber("SIGNOPE"), TypeError);
    assert.throws(() => signalNumber(65), RangeError);
    assert.throws(() => signalNumber("SIGRTMIN+31"), RangeError);
  });

  it("SignalReceiver.listen", () => {
    assert.throws(() => SignalReceiver.listen([]), TypeError);
    assert.throws(() => SignalReceiver.listen("SIGUSR1" as never), TypeError);
    assert.throws(() => SignalReceiver.listen(["SIGNOPE" as "SIGHUP"]), /Unknown signal name/);
    assert.throws(() => SignalReceiver.listen([0]), RangeError);
    assert.throws(() => SignalReceiver.listen([65]), RangeError);
    assert.throws(() => SignalReceiver.listen(["SIGKILL"]), /SIGKILL cannot be received/);
    assert.throws(() => SignalReceiver.listen(["SIGSTOP"]), /SIGSTOP cannot be received/);
    for (const fault of ["SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS"] as const) {
      assert.throws(() => SignalReceiver.listen([fault]), TypeError, fault);
    }
    assert.throws(() => SignalReceiver.listen([32]), /reserved by the C library/);
    assert.throws(() => SignalReceiver.listen(["SIGRTMAX"]), /wait engine/);
    for (const n of runtime.reservedSignals) {
      assert.throws(() => SignalReceiver.listen([n]), /runtime uses it/);
    }
    // Nothing was changed by the refused calls: another receiver may take the signals.
    SignalReceiver.listen(["SIGURG", "SIGWINCH"]).close();
  });

  it("one receiver per signal", () => {
    using first = SignalReceiver.listen(["SIGURG"]);
    assert.throws(() => SignalReceiver.listen(["SIGWINCH", "SIGURG"]), isCode("EBUSY"));
    first.close();
    SignalReceiver.listen(["SIGWINCH", "SIGURG"]).close();
  });

  it("sending: more than one process only when asked; ranges; unknown targets", () => {
    assert.throws(() => kill(0, "SIGURG"), /pid 0 signals every process in this process group/);
    assert.throws(() => kill(-1, "SIGURG"), /everyone: true/);
    assert.throws(() => kill(-4242, "SIGURG"), /group: true/);
    assert.throws(() => kill(1.5, "SIGURG"), TypeError);
    assert.throws(() => kill("1" as never, "SIGURG"), TypeError);
    assert.throws(() => kill(process.pid, "SIGNOPE" as "SIGHUP"), TypeError);
    assert.throws(() => kill(process.pid, 33), /reserved by the C library/);
    assert.throws(() => kill(process.pid, 99), RangeError);
    assert.throws(() => killGroup(-1, "SIGURG"), RangeError);
    assert.throws(() => sigqueue(0, "SIGURG", 1), RangeError);
    assert.throws(() => sigqueue(-1, "SIGURG", 1), RangeError);
    assert.throws(() => sigqueue(process.pid, "SIGURG", 2 ** 31), RangeError);
    assert.throws(() => sigqueue(process.pid, "SIGURG", 1.5), TypeError);
    assert.throws(() => PidFd.open(0), RangeError);
    // pid_max is at most 2^22: this pid never exists.
    assert.throws(() => kill(4_194_305, "SIGTERM"), isCode("ESRCH"));
    assert.throws(() => sigqueue(4_194_305, "SIGRTMIN", 1), isCode("ESRCH"));
    assert.throws(() => PidFd.open(4_194_305), isCode("ESRCH"));
    kill(process.pid, 0); // exists, and may be signalled
    sigqueue(process.pid, 0, 0);
  });

  it("a closed receiver says so", async () => {
    const receiver = SignalReceiver.listen(["SIGURG"]);
    receiver.close();
    receiver.close();
    assert.equal(receiver.closed, true);
    assert.throws(() => receiver.tryReceive(), isCode("EBADF"));
    assert.throws(() => receiver.receiveSync(), isCode("EBADF"));
    await assert.rejects(receiver.receive(), isCode("EBADF"));
    await assert.rejects(receiver.receive({ timeout: -1 }), RangeError);
  });
});

// SIGURG and SIGWINCH are ignored by default: if receiving failed, the test would fail,
// but the runner would survive.
describe("signal: receiving within one process", () => {
  it("kill and sigqueue to oneself: sender, uid, value and code", () =>
    noLeak(async () => {
      using receiver = SignalReceiver.listen(["SIGURG", "SIGWINCH"]);
      assert.deepEqual(receiver.signals, ["SIGURG", "SIGWINCH"]);
      assert.equal(receiver.tryReceive(), null);
      kill(process.pid, "SIGURG");
      sigqueue(process.pid, "SIGWINCH", -5);
      // Both at once: the kernel may run the handler for them on two threads, in any order.
      const both = [
        await receiver.receive({ timeout: 2000 }),
        receiver.receiveSync({ timeout: 2000 }),
      ]
        .sort((a, b) => a.number - b.number);
      const expected: SignalInfo[] = [
        { signal: "SIGURG", number: 23, pid: process.pid, uid: UID, value: 0, code: "SI_USER" },
        {
          signal: "SIGWINCH",
          number: 28,
          pid: process.pid,
          uid: UID,
          value: -5,
          code: "SI_QUEUE",
        },
      ];
      assert.deepEqual(both, expected);
      assert.equal(receiver.dropped, 0);
    }));

  it("SIGCHLD: the child's pid and how it ended; spawn still reaps it", async () => {
    using receiver = SignalReceiver.listen(["SIGCHLD"]);
    const child = spawn("sh", ["-c", "exit 3"]);
    assert.deepEqual(await child.status, { code: 3, signal: null });
    const info = await receiver.receive({ timeout: 2000 });
    assert.deepEqual(
      { signal: info.signal, pid: info.pid, code: info.code },
      { signal: "SIGCHLD", pid: child.pid, code: "CLD_EXITED" },
    );
  });

  it("timeouts, zero timeouts and aborts", async () => {
    using receiver = SignalReceiver.listen(["SIGURG"]);
    await assert.rejects(receiver.receive({ timeout: 0 }), isCode("EAGAIN"));
    assert.throws(() => receiver.receiveSync({ timeout: 0 }), isCode("EAGAIN"));
    const t0 = performance.now();
    await assert.rejects(receiver.receive({ timeout: 30 }), isCode("ETIMEDOUT"));
    assert.throws(() => receiver.receiveSync({ timeout: 30 }), isCode("ETIMEDOUT"));
    assert.ok(performance.now() - t0 >= 55, "both waited their timeout");
    const controller = new AbortController();
    const pending = receiver.receive({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop")), 10);
    await assert.rejects(pending, /stop/);
    await assert.rejects(receiver.receive({ signal: AbortSignal.abort("no") }), (e) => e === "no");
    // Nothing was lost by the abandoned waits.
    kill(process.pid, "SIGURG");
    assert.equal((await receiver.receive({ timeout: 2000 })).signal, "SIGURG");
  });

  it("a pending receive leaves the event loop running; signals arrive in order", async () => {
    using receiver = SignalReceiver.listen(["SIGURG"]);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const pending = receiver.receive({ timeout: 5000 });
    await sleep(60);
    sigqueue(process.pid, "SIGURG", 1);
    assert.equal((await pending).value, 1);
    clearInterval(ticker);
    assert.ok(ticks >= 5, `the event loop ran ${ticks} ticks while waiting`);
  });

  it("two receivers wait at once, each for its own signals", async () => {
    using urg = SignalReceiver.listen(["SIGURG"]);
    using winch = SignalReceiver.listen(["SIGWINCH"]);
    const a = urg.receive({ timeout: 5000 });
    const b = winch.receive({ timeout: 5000 });
    const c = winch.receive({ timeout: 5000 });
    await sleep(10);
    sigqueue(process.pid, "SIGWINCH", 1);
    sigqueue(process.pid, "SIGWINCH", 2); // a standard signal: may merge with the first
    await sleep(20);
    sigqueue(process.pid, "SIGURG", 3);
    assert.equal((await a).value, 3);
    const first = (await b).value;
    sigqueue(process.pid, "SIGWINCH", 4);
    const second = (await c).value;
    // In order (1, 2); merged (1, then 4); or, when the kernel ran the handler on two threads
    // at once, the other way round (2, 1), as SignalReceiver's documentation says.
    assert.ok(
      [[1, 2], [1, 4], [2, 1]].some(([x, y]) => x === first && y === second),
      `SIGWINCH values ${first}, then ${second}`,
    );
  });

  it("close() rejects pending receives with EBADF, ends iterators and restores the process", async () => {
    const before = statusLines();
    const receiver = SignalReceiver.listen(["SIGURG", "SIGWINCH"]);
    assert.notEqual(statusLines(), before, "the handler is installed");
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const info of receiver) seen.push(info.signal);
    })();
    kill(process.pid, "SIGWINCH");
    await sleep(50);
    const pending = receiver.receive(); // waits behind the iterator's own receive
    receiver.close();
    await assert.rejects(pending, isCode("EBADF"));
    await iterating;
    assert.deepEqual(seen, ["SIGWINCH"]);
    assert.equal(statusLines(), before, "dispositions and mask as before listen()");
  });
});

describe("signal: between processes", () => {
  const modes = ["async", "sync", "iterate", "async"];
  RUNTIMES.flatMap((s) => RUNTIMES.map((r) => [s, r] as const)).forEach(([sender, receiver], i) => {
    it(`1,000 sigqueue signals, ${sender} → ${receiver} (${modes[i]} receive): each arrives once, with its value and sender`, async () => {
      const started = startFixture(receiver, "signal_receiver.ts", [
        "--signals",
        "SIGRTMIN+1",
        "--count",
        "1000",
        "--mode",
        modes[i]!,
      ]);
      const pid = await started.ready;
      const from = await send(sender, [String(pid), "SIGRTMIN+1", "1000"]);
      const out = await jsonOf(started, "signal_receiver.ts");
      const rows = byValue(out.received as Row[]);
      assert.equal(rows.length, 1000);
      const expected = rows.map((_, v): Row => ["SIGRTMIN+1", from, UID, v, "SI_QUEUE"]);
      assert.deepEqual(rows, expected);
      assert.equal(out.dropped, 0);
    });
  });

  for (const [sender, receiver] of [["deno", "bun"], ["bun", "deno"]] as const) {
    it(`kill and PidFd sends, ${sender} → ${receiver}`, async () => {
      const started = startFixture(receiver, "signal_receiver.ts", [
        "--signals",
        "SIGTERM,SIGRTMIN",
        "--count",
        "4",
      ]);
      const pid = await started.ready;
      const a = await send(sender, [String(pid), "SIGTERM", "1", "--kill"]);
      const b = await send(sender, [String(pid), "SIGRTMIN", "2", "--pidfd", "--start", "7"]);
      const c = await send(sender, [String(pid), "SIGRTMIN", "1", "--pidfd", "--kill"]);
      const out = await jsonOf(started, "signal_receiver.ts");
      assert.deepEqual(byValue(out.received as Row[]), [
        ["SIGRTMIN", c, UID, 0, "SI_USER"],
        ["SIGRTMIN", b, UID, 7, "SI_QUEUE"],
        ["SIGRTMIN", b, UID, 8, "SI_QUEUE"],
        ["SIGTERM", a, UID, 0, "SI_USER"],
      ]);
    });
  }

  for (const runtime of RUNTIMES) {
    it(`${runtime}: signals sent while every thread blocks them wait; standard ones merge, real-time ones queue`, async () => {
      // The launcher starts the program with both signals blocked in every thread; the
      // receiver reports them once it listens.
      const [command, argv] = fixtureCommand(runtime, "signal_receiver.ts", [
        "--signals",
        "SIGUSR1,SIGRTMIN",
        "--hold",
      ]);
      const [launcher, launcherArgs] = cliCommand(runtime);
      const started = start(launcher, [
        ...launcherArgs,
        "run",
        "--block",
        "SIGUSR1,SIGRTMIN",
        "--",
        command,
        ...argv,
      ]);
      const pid = await started.ready;
      for (let i = 0; i < 5; i++) kill(pid, "SIGUSR1");
      for (let i = 0; i < 5; i++) sigqueue(pid, "SIGRTMIN", i);
      started.write("go\n");
      const out = await jsonOf(started, "signal_receiver.ts");
      const me = process.pid;
      assert.deepEqual(
        byValue(out.received as Row[]),
        [
          ["SIGRTMIN", me, UID, 0, "SI_QUEUE"],
          ["SIGRTMIN", me, UID, 1, "SI_QUEUE"],
          ["SIGRTMIN", me, UID, 2, "SI_QUEUE"],
          ["SIGRTMIN", me, UID, 3, "SI_QUEUE"],
          ["SIGRTMIN", me, UID, 4, "SI_QUEUE"],
          ["SIGUSR1", me, UID, 0, "SI_USER"],
        ],
      );
      // Blocked before listen(), unblocked while listening, blocked again after close().
      const state = out.state as Record<string, string>;
      const blocked = (s: string) => BigInt("0x" + /SigBlk:\s*(\w+)/.exec(s)![1]);
      const bits = (1n << 9n) | (1n << BigInt(SIGRTMIN - 1));
      assert.equal(blocked(state.before!) & bits, bits);
      assert.equal(blocked(state.during!) & bits, 0n);
      assert.equal(state.after, state.before);
    });
  }

  for (const runtime of RUNTIMES) {
    it(`${runtime}: a burst of standard signals merges: between 1 and all of them arrive`, async () => {
      const started = startFixture(runtime, "signal_receiver.ts", ["--signals", "SIGUSR2"]);
      const pid = await started.ready;
      for (let i = 0; i < 200; i++) kill(pid, "SIGUSR2");
      const out = await jsonOf(started, "signal_receiver.ts");
      const rows = out.received as Row[];
      assert.ok(rows.length >= 1 && rows.length <= 200, `${rows.length} arrived`);
      for (const row of rows) assert.deepEqual(row, ["SIGUSR2", process.pid, UID, 0, "SI_USER"]);
    });
  }

  for (const runtime of RUNTIMES) {
    it(`${runtime}: process groups (setpgid, getpgid, killGroup)`, async () => {
      const r = await runFixture(runtime, "signal_group.ts", []);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim());
      assert.equal(out.before, getpgid(), "started in the test's group");
      assert.equal(out.after, out.pid, "setpgid() made it a group leader");
      assert.equal(out.childGroup, out.pid, "its child joined the group");
      assert.deepEqual(out.received, ["SIGTERM", out.pid, "SI_USER"]);
      assert.deepEqual(out.child, { code: null, signal: "SIGTERM" });
    });
  }

  it("PidFd: signals the process it holds; ESRCH once it has ended", async () => {
    const child = spawn("sleep", ["30"]);
    using held = PidFd.open(child.pid);
    assert.equal(held.pid, child.pid);
    held.kill(0);
    held.kill("SIGTERM");
    assert.deepEqual(await child.status, { code: null, signal: "SIGTERM" });
    assert.throws(() => held.kill("SIGTERM"), isCode("ESRCH"));
    assert.throws(() => held.sigqueue("SIGRTMIN", 1), isCode("ESRCH"));
    held.close();
    assert.throws(() => held.kill(0), isCode("EBADF"));
  });
});

describe("signal: the seed's ping-pong", () => {
  for (const [server, client] of [["deno", "bun"], ["bun", "deno"]] as const) {
    it(`${server} server, ${client} client: 100 rounds of SIGUSR2/SIGUSR1 to the group, then SIGQUIT`, async () => {
      using dir = tempDir();
      const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
      const cmd = (runtime: RuntimeName, role: string) => {
        const [c, a] = fixtureCommand(runtime, "signal_pingpong.ts", [role, "100"]);
        return [c, ...a].map(q).join(" ");
      };
      const script = join(dir.path, "run.sh");
      const out = (name: string) => q(join(dir.path, name));
      writeFileSync(
        script,
        [
          "trap '' USR1 USR2 QUIT",
          `${cmd(server, "server")} > ${out("server")} 2>&1 &`,
          "server=$!",
          "i=0",
          `until grep -q '^ready$' ${out("server")}; do`,
          "  i=$((i + 1)); [ $i -gt 600 ] && exit 90; sleep 0.05",
          "done",
          `${cmd(client, "client")} > ${out("client")} 2>&1`,
          "client=$?",
          'wait "$server"',
          'echo "exit $client $?"',
        ].join("\n") + "\n",
      );
      // A new session and process group, so that kill(0, …) reaches only the two sides
      // and the runner script.
      const run = start("sh", [script], { detached: true, timeoutMs: 60_000 });
      const result = await run.done;
      const read = (name: string) => readFileSync(join(dir.path, name), "utf8");
      const detail = `${result.stdout}${result.stderr}\nserver:\n${read("server")}\nclient:\n${
        read("client")
      }`;
      assert.equal(result.stdout.trim(), "exit 0 0", detail);
      const lines = (text: string) => text.trim().split("\n");
      const serverOut = lines(read("server"));
      const clientOut = lines(read("client"));
      const s = JSON.parse(serverOut.pop()!);
      const c = JSON.parse(clientOut.pop()!);
      assert.equal(s.pings, 100);
      assert.equal(c.pongs, 100);
      assert.equal(serverOut.filter((l) => l === "Server: ping").length, 100);
      assert.equal(clientOut.filter((l) => l === "Client: pong").length, 100);
      assert.equal(s.senders.length, 1, "every ping and the SIGQUIT came from the client");
      assert.equal(c.senders.length, 1, "every pong came from the server");
    });
  }
});

describe("signal: interop with C, Python and the shell", () => {
  const gcc = hasCommand("gcc");
  const python = hasCommand("python3");
  let peer: string | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  after(() => dir?.[Symbol.dispose]());
  const compiled = () => {
    dir ??= tempDir();
    return peer ??= compileC("signal_peer.c", dir.path);
  };

  if (!gcc) {
    it(
      "with a C program: skipped, gcc is not installed",
      { skip: "gcc is not installed" },
      () => {},
    );
  }
  for (const runtime of gcc ? RUNTIMES : []) {
    it(`C's sigqueue(pid, SIGRTMIN+1, 42 …) reaches a ${runtime} receiver: 1,000 values and the C pid`, async () => {
      const started = startFixture(runtime, "signal_receiver.ts", [
        "--signals",
        "SIGRTMIN+1",
        "--count",
        "1000",
      ]);
      const pid = await started.ready;
      const from = Number(
        execFileSync(compiled(), ["queue", String(pid), "1", "42", "1000"], { encoding: "utf8" }),
      );
      const out = await jsonOf(started, "signal_receiver.ts");
      const rows = byValue(out.received as Row[]);
      assert.deepEqual(rows[0], ["SIGRTMIN+1", from, UID, 42, "SI_QUEUE"]);
      assert.deepEqual(
        rows,
        rows.map((_, i): Row => ["SIGRTMIN+1", from, UID, 42 + i, "SI_QUEUE"]),
      );
    });

    it(`${runtime}'s sigqueue reaches a C program in sigwaitinfo`, async () => {
      const waiter = start(compiled(), ["wait", "1", "20"]);
      const pid = await waiter.ready;
      const from = await send(runtime, [String(pid), "SIGRTMIN+1", "1", "--start", "42"]);
      const r = await waiter.done;
      assert.equal(r.code, 0, r.stderr);
      const [signo, code, sender, uid, value] = r.stdout.trim().split("\n").pop()!.split(" ")
        .map(Number);
      assert.deepEqual({ signo, code, sender, uid, value }, {
        signo: SIGRTMIN + 1,
        code: -1, // SI_QUEUE
        sender: from,
        uid: UID,
        value: 42,
      });
    });
  }

  if (!python) {
    it(
      "with Python: skipped, python3 is not installed",
      { skip: "python3 is not installed" },
      () => {},
    );
  }
  for (const runtime of python ? RUNTIMES : []) {
    it(`${runtime}'s sigqueue reaches Python's signal.sigwaitinfo with its pid and SI_QUEUE`, async () => {
      const waiter = start("python3", [
        "-c",
        [
          "import os, signal, sys",
          "sig = signal.SIGRTMIN + 1",
          "signal.pthread_sigmask(signal.SIG_BLOCK, {sig})",
          "print('ready', os.getpid(), flush=True)",
          "info = signal.sigtimedwait({sig}, 20)",
          "print(info.si_signo, info.si_code, info.si_pid, info.si_uid)",
        ].join("\n"),
      ]);
      const pid = await waiter.ready;
      const from = await send(runtime, [String(pid), "SIGRTMIN+1", "1", "--start", "5"]);
      const r = await waiter.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split("\n").pop(), `${SIGRTMIN + 1} -1 ${from} ${UID}`);
    });
  }

  for (const runtime of RUNTIMES) {
    it(`${runtime}: a signal the parent shell ignores is received while listening, ignored again after close()`, async () => {
      const [command, argv] = fixtureCommand(runtime, "signal_receiver.ts", [
        "--signals",
        "SIGUSR2",
        "--count",
        "1",
      ]);
      const started = start("sh", ["-c", `trap '' USR2; exec "$@"`, "sh", command, ...argv]);
      const pid = await started.ready;
      kill(pid, "SIGUSR2");
      const out = await jsonOf(started, "signal_receiver.ts");
      assert.deepEqual(out.received, [["SIGUSR2", process.pid, UID, 0, "SI_USER"]]);
      const state = out.state as Record<string, string>;
      const ignored = (s: string) => BigInt("0x" + /SigIgn:\s*(\w+)/.exec(s)![1]) & (1n << 11n);
      assert.equal(ignored(state.before!), 1n << 11n, "ignored before listen()");
      assert.equal(ignored(state.during!), 0n, "handled while listening");
      assert.equal(state.after, state.before);
    });
  }

  for (const runtime of RUNTIMES) {
    it(`kill -USR1 from the shell reaches a ${runtime} receiver`, async () => {
      const started = startFixture(runtime, "signal_receiver.ts", [
        "--signals",
        "SIGUSR1",
        "--count",
        "1",
      ]);
      const pid = await started.ready;
      const shell = Number(
        execFileSync("sh", ["-c", 'kill -USR1 "$1" && echo $$', "sh", String(pid)], {
          encoding: "utf8",
        }),
      );
      const out = await jsonOf(started, "signal_receiver.ts");
      assert.deepEqual(out.received, [["SIGUSR1", shell, UID, 0, "SI_USER"]]);
    });
  }
});

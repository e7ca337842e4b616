/**
 * Message queues against peers nobody here wrote: a C program using `mq_open`/`mq_send`
 * (compiled with gcc), Debian's python3-sysv-ipc, `ipcs -q`, the mqueue filesystem
 * (`/dev/mqueue/<name>`), and the system's limits set with `prlimit` and `setpriv`.
 * Each test is skipped, with the reason, when its tool is missing.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { ftok, MessageQueue, SysVMessageQueue } from "../mq/mod.ts";
import { fixtureCommand, hasCommand, OTHER, ROOT, tempDir } from "./helpers.ts";
import { queueName, text } from "./mq_helpers.ts";

const FIXTURES = join(ROOT, "tests", "fixtures");

/** Runs a program to completion (at most 20 s); returns its stdout, or throws. */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 20_000, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A Python 3 that has Debian's sysv_ipc module, if any. */
const python = ["/usr/bin/python3", "python3"].find((p) =>
  spawnSync(p, ["-c", "import sysv_ipc"]).status === 0
);
const noPython = python
  ? false
  : "python3-sysv-ipc is not installed (apt-get install python3-sysv-ipc)";

/** Whether this process may exceed the unprivileged mqueue limits (CAP_SYS_RESOURCE). */
function hasSysResource(): boolean {
  const status = readFileSync("/proc/self/status", "utf8");
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0";
  return (BigInt(`0x${eff}`) >> 24n & 1n) === 1n;
}

/** Reads a file of the mqueue filesystem, mounting one in a private namespace if needed. */
function mqueueFile(name: string): { mode: number; content: string } {
  const mounted = readFileSync("/proc/mounts", "utf8").split("\n")
    .some((line) => line.split(" ")[1] === "/dev/mqueue" && line.split(" ")[2] === "mqueue");
  if (mounted) {
    const path = `/dev/mqueue${name}`;
    return {
      mode: Number(execFileSync("stat", ["-c", "%a", path], { encoding: "utf8" }).trim()),
      content: readFileSync(path, "utf8"),
    };
  }
  using dir = tempDir();
  // A private mount namespace: the mount is seen by this command only, and the queues are
  // those of this IPC namespace.
  const out = execFileSync("unshare", [
    "-m",
    "sh",
    "-c",
    'mount -t mqueue mqueue "$0" && stat -c %a "$0/$1" && cat "$0/$1"',
    dir.path,
    name.slice(1),
  ], { encoding: "utf8" });
  const [mode = "", ...rest] = out.split("\n");
  return { mode: Number(mode), content: rest.join("\n") };
}
const isRoot = process.getuid?.() === 0;
const noMqueueFs = existsSync("/dev/mqueue") || (isRoot && hasCommand("unshare"))
  ? false
  : "/dev/mqueue is not mounted, and mounting one needs root and unshare (util-linux)";

describe("POSIX queues and a C program", () => {
  it(
    "a C program's messages are read in priority order, and it reads what sysipc sent",
    { skip: hasCommand("gcc") ? false : "gcc is not installed (apt-get install gcc libc6-dev)" },
    async () => {
      using dir = tempDir();
      const peer = join(dir.path, "mq_c_peer");
      await run("gcc", ["-O2", "-Wall", "-o", peer, join(FIXTURES, "mq_c_peer.c"), "-lrt"]);
      const name = queueName();
      using q = MessageQueue.open(name, { create: true, maxMessages: 8, messageSize: 128 });
      try {
        await run(peer, ["send", name, "1:low", "30:high", "5:middle", "30:high-2", "0:lowest"]);
        const got: [string, number][] = [];
        for (let i = 0; i < 5; i++) {
          const m = await q.receive({ timeout: 5000 });
          got.push([text(m.data), m.priority]);
        }
        assert.deepEqual(got, [
          ["high", 30],
          ["high-2", 30],
          ["middle", 5],
          ["low", 1],
          ["lowest", 0],
        ]);
        q.sendSync("from sysipc", { priority: 2 });
        await q.send("urgent from sysipc", { priority: 32767 });
        q.sendSync("héllo", { priority: 2 });
        const out = await run(peer, ["receive", name, "3"]);
        assert.equal(out, "32767 urgent from sysipc\n2 from sysipc\n2 héllo\n");
      } finally {
        q.unlink();
      }
    },
  );

  it("/dev/mqueue/<name> shows the queue: its mode and the bytes it holds", {
    skip: noMqueueFs,
  }, () => {
    const name = queueName();
    using q = MessageQueue.open(name, {
      create: true,
      mode: 0o640,
      maxMessages: 4,
      messageSize: 32,
    });
    try {
      q.sendSync("hello");
      q.sendSync("abc", { priority: 3 });
      const umask = process.umask();
      const file = mqueueFile(name);
      assert.equal(file.mode.toString(), (0o640 & ~umask).toString(8));
      assert.match(file.content, /^QSIZE:8\s+NOTIFY:0\s+SIGNO:0\s+NOTIFY_PID:0/);
    } finally {
      q.unlink();
    }
  });
});

describe("System V queues and python3-sysv-ipc", () => {
  /** A key from a temporary file, and the removal of its queue. */
  function keyed() {
    const dir = tempDir();
    writeFileSync(join(dir.path, "example"), "");
    const key = ftok(join(dir.path, "example"), 42);
    return {
      key,
      [Symbol.dispose]() {
        try {
          SysVMessageQueue.get(key).remove();
        } catch {
          // removed by a peer, or never made
        }
        dir[Symbol.dispose]();
      },
    };
  }

  it("typed messages travel both ways, and each side selects by type", {
    skip: noPython,
  }, async () => {
    using k = keyed();
    using q = SysVMessageQueue.get(k.key, { create: true, mode: 0o600 });
    const script = join(FIXTURES, "mq_python_peer.py");
    await run(python!, [script, "send", String(k.key), "3:c", "1:a", "2:b", "1:a2", "7:seven"]);
    const got = [
      await q.receive({ type: 2, timeout: 5000 }),
      q.receiveSync({ type: -1 }),
      q.receiveSync({ type: 1, except: true }),
      q.tryReceive({ type: -3 }),
      q.tryReceive(),
    ];
    assert.deepEqual(got.map((m) => m && [m.type, text(m.data)]), [
      [2, "b"],
      [1, "a"],
      [3, "c"],
      [1, "a2"],
      [7, "seven"],
    ]);
    q.sendSync(5, "five");
    await q.send(4, "four");
    q.sendSync(6, "six");
    q.sendSync(4, "four again");
    assert.deepEqual(JSON.parse(await run(python!, [script, "receive", String(k.key), "4", "2"])), [
      [4, "four"],
      [4, "four again"],
    ]);
    assert.deepEqual(
      JSON.parse(await run(python!, [script, "receive", String(k.key), "-6", "2"])),
      [
        [5, "five"],
        [6, "six"],
      ],
    );
  });

  it("the seed's ping-pong with a Python client and a Python server", {
    skip: noPython,
  }, async () => {
    using k = keyed();
    const script = join(FIXTURES, "mq_python_peer.py");
    using q = SysVMessageQueue.get(k.key, { create: true, mode: 0o644 });
    // sysipc serves, Python is the client.
    const client = run(python!, [script, "ping-client", String(k.key), "100"]);
    let pings = 0;
    while (text((await q.receive({ type: 10, timeout: 10_000 })).data) !== "end") {
      pings++;
      await q.send(11, "pong");
    }
    assert.deepEqual(JSON.parse(await client), { pongs: 100 });
    assert.equal(pings, 100);
    // Python serves, sysipc is the client.
    const server = run(python!, [script, "ping-server", String(k.key)]);
    let pongs = 0;
    for (let i = 0; i < 100; i++) {
      q.sendSync(10, "ping");
      if (text(q.receiveSync({ type: 11, timeout: 10_000 }).data) === "pong") pongs++;
    }
    q.sendSync(10, "end");
    assert.deepEqual(JSON.parse(await server), { pings: 100 });
    assert.equal(pongs, 100);
  });

  it("ipcs -q lists the queue with its mode and message count", {
    skip: hasCommand("ipcs") ? false : "ipcs is not installed (apt-get install util-linux)",
  }, async () => {
    using k = keyed();
    using q = SysVMessageQueue.get(k.key, { create: true, mode: 0o640 });
    q.sendSync(1, "one");
    q.sendSync(2, "two!");
    await q.send(1, "three");
    const line = (await run("ipcs", ["-q"])).split("\n")
      .map((l) => l.trim().split(/\s+/))
      .find((cols) => cols[1] === String(q.id));
    assert.ok(line, `ipcs -q lists msqid ${q.id}`);
    const [key, , , perms, usedBytes, count] = line;
    assert.equal(key, `0x${(k.key >>> 0).toString(16).padStart(8, "0")}`);
    assert.equal(perms, "640");
    assert.equal(usedBytes, "12");
    assert.equal(count, "3");
  });
});

describe("the system's limits, named in errors", () => {
  /** Runs the peer fixture under a wrapper command; returns its `{ error }`. */
  async function created(wrapper: string[], size: [number, number]): Promise<string | null> {
    const [command, args] = fixtureCommand(OTHER, "mq_peer.ts", [
      "posix-create",
      queueName(),
      ...size.map(String),
    ]);
    const out = await run(wrapper[0]!, [...wrapper.slice(1), command, ...args]);
    return (JSON.parse(out.trim().split("\n").pop()!) as { error: string | null }).error;
  }

  it("RLIMIT_MSGQUEUE: the bytes a new queue needs and the limit", {
    skip: hasCommand("prlimit") ? false : "prlimit is not installed (apt-get install util-linux)",
  }, async () => {
    const error = await created(["prlimit", "--msgqueue=4096"], [4, 2048]);
    assert.ok(error, "the queue was refused");
    assert.match(error, /^EMFILE: .*RLIMIT_MSGQUEUE \(4096 bytes/);
  });

  it("msg_max and msgsize_max for a process without CAP_SYS_RESOURCE", {
    skip: !hasSysResource() || hasCommand("setpriv")
      ? false
      : "setpriv is not installed (apt-get install util-linux)",
  }, async () => {
    const wrapper = hasSysResource()
      ? ["setpriv", "--inh-caps=-sys_resource", "--bounding-set=-sys_resource"]
      : ["env"];
    const error = await created(wrapper, [65536, 1_000_000]);
    assert.match(
      error ?? "",
      /^EINVAL: .*maxMessages 65536 is above \/proc\/sys\/fs\/mqueue\/msg_max \(\d+\), and messageSize 1000000 is above \/proc\/sys\/fs\/mqueue\/msgsize_max/,
    );
  });
});

/**
 * Tests of `sysipc ls`, `stat`, `rm`, `doctor`, `send` and `recv` from a shell's point of
 * view, on the runtime running the test (the suite runs on both): the fields `ls` shows for
 * objects made by sysipc, by Python and by `ipcmk`; `doctor --clean` removing exactly the
 * stale objects in private namespaces where the test's objects are the only ones; exit
 * statuses scripts rely on.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { MessageQueue, SharedMemory, SysVMessageQueue, SysVSemaphoreSet } from "../mod.ts";
import type { IpcObject } from "../cli/objects.ts";
import { C } from "../ffi/constants.ts";
import { libc } from "../ffi/libc.ts";
import { toAddress } from "../uds/address.ts";
import { cliCommand, CURRENT, fixtureCommand, hasCommand, tempDir, uniqueName } from "./helpers.ts";

function sysipc(args: string[], input?: string) {
  const [command, argv] = cliCommand(CURRENT);
  const r = spawnSync(command, [...argv, ...args], { encoding: "utf8", timeout: 30_000, input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An object as `ls --json` prints it. */
type Listed = IpcObject;

function listed(stdout: string): Listed[] {
  return (JSON.parse(stdout) as { objects: Listed[] }).objects;
}

const uid = process.getuid?.() ?? 0;

describe(`sysipc ls, stat, rm, send, recv on ${CURRENT}`, () => {
  it("every command has --help (exit 0); a bad option or kind exits 2", () => {
    for (const command of ["ls", "stat", "rm", "doctor", "send", "recv", "bench", "run"]) {
      const r = sysipc([command, "--help"]);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: sysipc ${command}`), command);
      assert.deepEqual(sysipc(["help", command]).stdout, r.stdout);
    }
    const cases: [string[], RegExp][] = [
      [["ls", "--bogus"], /Unknown option '--bogus'/],
      [["ls", "--kind", "pipes"], /unknown kind 'pipes'/],
      [["stat", "shm"], /missing argument/],
      [["stat", "queue", "/x"], /unknown kind 'queue'/],
      [["stat", "sysv-mq", "jobs"], /neither an id .* nor a key/],
      [["rm", "shm", "/a/b"], /not a POSIX name/],
      [["send", "/q", "x", "--type", "3"], /--type is for System V queues/],
      [["send", "0x10", "x", "--priority", "3"], /--priority is for POSIX queues/],
      [["recv", "/q", "--timeout", "soon"], /--timeout must be an integer/],
      [["recv", "queue"], /is not a queue/],
    ];
    for (const [args, message] of cases) {
      const r = sysipc(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
    }
  });

  it("ls --json and stat show objects made here, with this process as a user", () => {
    const name = `/${uniqueName("cli-shm")}`;
    using shm = SharedMemory.open(name, {
      create: true,
      exclusive: true,
      size: 12345,
      mode: 0o640,
    });
    using queue = SysVMessageQueue.get("private", { create: true, mode: 0o620 });
    using set = SysVSemaphoreSet.get("private", { create: true, count: 3 });
    try {
      queue.sendSync(3, "hello");
      set.setValues([7, 0, 2]);
      const r = sysipc(["ls", "--json", "--kind", "shm", "--kind", "sysv-mq", "-k", "sysv-sem"]);
      assert.equal(r.code, 0, r.stderr);
      const objects = listed(r.stdout);
      assert.ok(objects.every((o) => ["shm", "sysv-mq", "sysv-sem"].includes(o.kind)));
      const me = { pid: process.pid, alive: true };
      const made = objects.find((o) => o.name === name);
      assert.deepEqual(
        [made?.kind, made?.uid, made?.mode, made?.size, made?.state],
        ["shm", uid, "0640", 12345, "in-use"],
      );
      assert.deepEqual(made?.pids, [{ ...me, role: "user" }]);
      const q = objects.find((o) => o.kind === "sysv-mq" && o.id === queue.id);
      assert.equal(q?.key, "0x00000000");
      assert.equal(q?.mode, "0620");
      assert.equal(q?.messages, 1);
      assert.equal(q?.bytes, 5);
      assert.deepEqual(q?.pids, [{ ...me, role: "last-send" }]);
      assert.equal(q?.state, "in-use");
      const s = objects.find((o) => o.kind === "sysv-sem" && o.id === set.id);
      assert.deepEqual(s?.values, [7, 0, 2]);
      assert.deepEqual(s?.pids, [{ ...me, role: "last-op" }]);

      const text = sysipc(["stat", "sysv-mq", String(queue.id)]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^kind: +sysv-mq: System V message queue/m);
      assert.match(text.stdout, new RegExp(`^pids: +${process.pid} last-send \\(alive\\)$`, "m"));
      assert.match(text.stdout, /^messages: +1$/m);
      const json = sysipc(["stat", "shm", name.slice(1), "--json"]); // the slash may be left out
      assert.equal(JSON.parse(json.stdout).size, 12345);
      const table = sysipc(["ls", "--kind", "shm"]);
      const row = table.stdout.split("\n").find((l) => l.includes(name))!;
      assert.match(
        row,
        new RegExp(`^shm +${name} +- +\\S+ +0640 +12345 B +${process.pid} +in-use$`),
      );
      assert.match(table.stdout, /^KIND +NAME +KEY +OWNER +MODE +SIZE\/DEPTH +PIDS +STATE$/m);
    } finally {
      shm.unlink();
      queue.remove();
      set.remove();
    }
  });

  it("rm removes by name, id or key; a missing object exits 3", () => {
    const name = `/${uniqueName("cli-rm")}`;
    SharedMemory.open(name, { create: true, size: 10 }).close();
    const key = 0x5a000000 + Math.floor(Math.random() * 0xffff);
    const byKey = SysVMessageQueue.get(key, { create: true, exclusive: true });
    const byId = SysVMessageQueue.get("private", { create: true });
    const r = sysipc(["rm", "shm", name]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `removed shm ${name}\n`);
    assert.ok(!existsSync(`/dev/shm${name}`));
    assert.equal(sysipc(["rm", "sysv-mq", `0x${key.toString(16)}`, String(byId.id)]).code, 0);
    assert.throws(() => byKey.stat(), /EINVAL|EIDRM/);
    assert.throws(() => byId.stat(), /EINVAL|EIDRM/);
    byKey.close();
    byId.close();
    const missing = sysipc(["rm", "shm", name]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, new RegExp(`no shm ${name}`));
    assert.equal(sysipc(["stat", "sysv-sem", "0x7fffff01"]).code, 3);
  });

  it("stat and rm find a socket file wherever it is: stale when nothing is bound to it", () => {
    using dir = tempDir();
    const path = join(dir.path, "left-behind.sock");
    // bind() makes the file and close() leaves it, as a server that crashed does.
    const fd = libc.socket(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0);
    const address = toAddress({ path });
    assert.equal(libc.bind(fd, address.bytes, address.length), 0);
    libc.close(fd);
    const stat = JSON.parse(sysipc(["stat", "socket", path, "--json"]).stdout);
    assert.deepEqual([stat.state, stat.path], ["stale", path]);
    assert.equal(sysipc(["rm", "socket", path]).code, 0);
    assert.ok(!existsSync(path));
    assert.equal(sysipc(["rm", "socket", path]).code, 3);
  });

  it("send and recv: POSIX and System V queues from the shell", () => {
    const name = `/${uniqueName("cli-mq")}`;
    using posix = MessageQueue.open(name, { create: true, maxMessages: 2, messageSize: 32 });
    using sysv = SysVMessageQueue.get("private", { create: true });
    try {
      assert.equal(sysipc(["send", name, "low"]).code, 0);
      assert.equal(sysipc(["send", name, "high", "--priority", "7"]).code, 0);
      const full = sysipc(["send", name, "more", "--timeout", "0"]);
      assert.equal(full.code, 4, full.stderr);
      assert.match(full.stderr, /EAGAIN/);
      assert.deepEqual(JSON.parse(sysipc(["recv", name, "--json"]).stdout), {
        data: "high",
        encoding: "utf8",
        size: 4,
        priority: 7,
      });
      assert.equal(sysipc(["recv", name]).stdout, "low\n");
      const empty = sysipc(["recv", name, "--timeout", "50"]);
      assert.equal(empty.code, 4, empty.stderr);
      assert.match(empty.stderr, /ETIMEDOUT/);

      const id = String(sysv.id);
      assert.equal(sysipc(["send", id, "--type", "10"], "ping from stdin").code, 0);
      assert.equal(sysipc(["send", id, "pong", "-t", "11"]).code, 0);
      assert.equal(sysipc(["recv", id, "--type", "11", "--raw"]).stdout, "pong");
      assert.deepEqual(sysv.receiveSync({ timeout: 0 }), {
        type: 10,
        data: new TextEncoder().encode("ping from stdin"),
      });
      sysv.sendSync(1, new Uint8Array([0xff, 0, 1]));
      const binary = JSON.parse(sysipc(["recv", id, "--json"]).stdout);
      assert.deepEqual(binary, { data: "/wAB", encoding: "base64", size: 3, type: 1 });
      assert.equal(sysipc(["recv", id, "--timeout", "0"]).code, 4);
      assert.equal(sysipc(["recv", `${name}-none`]).code, 3);
      assert.equal(sysipc(["recv", "2147483000"]).code, 3);
    } finally {
      posix.unlink();
      sysv.remove();
    }
  });

  it("send --create makes a POSIX queue with the given mode", () => {
    const name = `/${uniqueName("cli-new")}`;
    try {
      assert.equal(sysipc(["send", name, "first", "--create", "--mode", "640"]).code, 0);
      using queue = MessageQueue.open(name);
      // Listed (with or without an mqueue filesystem: this process holds it open).
      const listed = JSON.parse(sysipc(["stat", "mq", name, "--json"]).stdout);
      assert.deepEqual([listed.mode, listed.messages, listed.state], ["0640", 1, "in-use"]);
      assert.equal(new TextDecoder().decode(queue.receiveSync({ timeout: 0 }).data), "first");
    } finally {
      MessageQueue.unlink(name);
    }
  });
});

/** Why the namespace test cannot run here, or `false`. */
function namespaceSkip(): string | false {
  if (uid !== 0) return "needs root, to make private IPC, mount, network and PID namespaces";
  if (!hasCommand("unshare")) return "needs unshare (util-linux)";
  if (!hasCommand("ipcmk")) return "needs ipcmk (util-linux)";
  const py = spawnSync("/usr/bin/python3", ["-c", "import sysv_ipc"]);
  if (py.status !== 0) return "needs /usr/bin/python3 with sysv_ipc (Debian: python3-sysv-ipc)";
  return false;
}

describe(`sysipc doctor on ${CURRENT}`, () => {
  it(
    "ls shows what sysipc, Python and ipcmk made; doctor --clean removes exactly the stale ones",
    { skip: namespaceSkip() },
    () => {
      // Private namespaces: the test's objects are the only ones (its own /dev/shm, mqueue
      // filesystem, System V objects, Unix sockets and processes), so doctor --clean touches
      // nothing else on the machine and "exactly" can be checked.
      const [command, argv] = fixtureCommand(CURRENT, "cli_world.ts", [CURRENT, "/dev/shm/s"]);
      const setup = "set -e; mount -t tmpfs -o mode=1777 tmpfs /dev/shm; mkdir /dev/shm/s " +
        '/dev/shm/mq; mount -t mqueue mqueue /dev/shm/mq; exec "$@"';
      const r = spawnSync(
        "unshare",
        [
          "--ipc",
          "--mount",
          "--net",
          "--pid",
          "--fork",
          "--mount-proc",
          "sh",
          "-c",
          setup,
          "sh",
          command,
          ...argv,
        ],
        { encoding: "utf8", timeout: 60_000, env: { ...process.env, XDG_RUNTIME_DIR: "" } },
      );
      assert.equal(r.status, 0, r.stderr);
      const world = JSON.parse(r.stdout) as {
        pids: Record<string, number>;
        ipcmk: Record<"shm" | "mq" | "sem", { pid: number; id: number }>;
        before: { code: number; stdout: string; stderr: string };
        doctor: { code: number; stdout: string; stderr: string };
        clean: { code: number; stdout: string; stderr: string };
        after: { code: number; stdout: string; stderr: string };
      };
      for (const step of ["before", "after"] as const) {
        assert.equal(world[step].code, 0, world[step].stderr);
      }
      const before = listed(world.before.stdout);
      const find = (kind: string, name: string) => {
        const o = before.find((o) => o.kind === kind && (o.name === name || o.key === name));
        assert.ok(o, `${kind} ${name} listed`);
        return o;
      };
      const user = (
        who: string,
        alive: boolean,
      ) => [{ pid: world.pids[who]!, role: "user", alive }];

      // What each maker made, with the fields ls shows.
      const made = [
        {
          who: "sysipc",
          key: 0x51000000,
          shm: 5000,
          mq: [2, 4, 64, 6],
          sem: 3,
          sysvShm: 8192,
          sysvMq: 5,
          values: [4, 5],
        },
        {
          who: "python",
          key: 0x53000000,
          shm: 3000,
          mq: [1, 10, 8192, 11],
          sem: 2,
          sysvShm: 6000,
          sysvMq: 6,
          values: [1],
        },
      ];
      for (const m of made) {
        for (const state of ["live", "stale"] as const) {
          const who = `${m.who}-${state}`;
          const alive = state === "live";
          const key = (n: number) =>
            `0x${(m.key + (alive ? 0 : 0x1000000) + n).toString(16).padStart(8, "0")}`;
          const expected = alive ? "in-use" : "stale";
          const shm = find("shm", `/${who}-shm`);
          assert.deepEqual(
            [shm.size, shm.mode, shm.uid, shm.state],
            [m.shm, "0640", 0, expected],
            who,
          );
          assert.deepEqual(shm.pids, alive ? user(who, true) : [], who);
          const mq = find("mq", `/${who}-mq`);
          assert.deepEqual([mq.messages, mq.maxMessages, mq.messageSize, mq.bytes], m.mq, who);
          assert.deepEqual([mq.mode, mq.state], ["0600", expected], who);
          assert.deepEqual(mq.pids, alive ? user(who, true) : [], who);
          const sem = find("sem", `/${who}-sem`);
          assert.deepEqual([sem.value, sem.state], [m.sem, expected], who);
          assert.deepEqual(sem.pids, alive ? user(who, true) : [], who);
          const pid = world.pids[who]!;
          const sysvShm = find("sysv-shm", key(1));
          assert.deepEqual([sysvShm.size, sysvShm.attached, sysvShm.state], [
            m.sysvShm,
            alive ? 1 : 0,
            expected,
          ], who);
          assert.deepEqual(sysvShm.pids, [{ pid, role: "creator", alive }, {
            pid,
            role: "last-attach",
            alive,
          }]);
          const sysvMq = find("sysv-mq", key(2));
          assert.deepEqual(
            [sysvMq.messages, sysvMq.bytes, sysvMq.state],
            [1, m.sysvMq, expected],
            who,
          );
          assert.deepEqual(sysvMq.pids, [{ pid, role: "last-send", alive }]);
          const sysvSem = find("sysv-sem", key(3));
          assert.deepEqual([sysvSem.values, sysvSem.state], [m.values, expected], who);
          assert.deepEqual(sysvSem.pids, [{ pid, role: "last-op", alive }]);
          const socket = find("socket", `/dev/shm/s/${who}.sock`);
          assert.equal(socket.state, expected, who);
          assert.deepEqual(socket.pids, alive ? [{ pid, role: "holder", alive }] : []);
          if (alive) assert.equal(socket.socketType, "stream");
        }
      }
      // ipcmk: a segment whose creator is gone is stale; a queue and a set nobody used are unknown.
      const ipcmkShm = before.find((o) => o.kind === "sysv-shm" && o.id === world.ipcmk.shm.id)!;
      assert.deepEqual([ipcmkShm.size, ipcmkShm.mode, ipcmkShm.state], [1000, "0644", "stale"]);
      assert.deepEqual(ipcmkShm.pids, [{
        pid: world.ipcmk.shm.pid,
        role: "creator",
        alive: false,
      }]);
      for (const kind of ["mq", "sem"] as const) {
        const o = before.find((o) => o.kind === `sysv-${kind}` && o.id === world.ipcmk[kind].id)!;
        assert.deepEqual([o.pids, o.state], [[], "unknown"], kind);
      }
      assert.equal(before.length, 2 * 2 * 7 + 3, "nothing else is listed");

      // doctor lists exactly the stale ones, and exits 5; --clean removes them, exits 0.
      const stale = before.filter((o) => o.state === "stale");
      assert.equal(stale.length, 2 * 7 + 1);
      assert.equal(world.doctor.code, 5, world.doctor.stderr);
      const reported = (JSON.parse(world.doctor.stdout) as { stale: Listed[] }).stale;
      const id = (o: Listed) => `${o.kind} ${o.name}`;
      assert.deepEqual(reported.map(id).sort(), stale.map(id).sort());
      assert.equal(world.clean.code, 0, world.clean.stderr);
      for (const o of stale) {
        assert.match(world.clean.stdout, new RegExp(`^removed ${o.kind} ${o.name}$`, "m"));
      }
      const after = listed(world.after.stdout);
      assert.deepEqual(
        after.map(id).sort(),
        before.filter((o) => o.state !== "stale").map(id).sort(),
        "exactly the live and unknown objects remain",
      );
    },
  );
});

/**
 * Shared memory segments: POSIX (`SharedMemory`), memfd, System V (`SysVSharedMemory`) and
 * mapped files, within one process and across processes of both runtimes, with peers
 * nobody here wrote (Python's `multiprocessing.shared_memory`, util-linux `ipcmk`/`ipcs`, a
 * C program), and bad input.
 */
import assert from "node:assert/strict";
import { spawn as nodeSpawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { mkfifo } from "../fifo/mod.ts";
import { libc, stableCString } from "../ffi/libc.ts";
import { pipe, spawn } from "../pipe/mod.ts";
import { ftok, MappedFile, memfd, SharedMemory, SysVSharedMemory } from "../shm/mod.ts";
import {
  compileC,
  CURRENT,
  fixtureCommand,
  hasCommand,
  isCode,
  noLeak,
  OTHER,
  readAll,
  runFixture,
  type RuntimeName,
  tempDir,
  uniqueName,
} from "./helpers.ts";

const PEERS: RuntimeName[] = [CURRENT, OTHER];
const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replaceAll("\0", "");

/** A fresh POSIX name, removed at the end of the scope if it still exists. */
function shmName(prefix = "shm"): { name: string } & Disposable {
  const name = `/${uniqueName(prefix)}`;
  return {
    name,
    [Symbol.dispose]() {
      try {
        SharedMemory.unlink(name);
      } catch {
        // already removed by the test
      }
    },
  };
}

/** Removes a System V segment at the end of the scope, if a failed test left it. */
function removedAtEnd(shm: SysVSharedMemory): Disposable {
  return {
    [Symbol.dispose]() {
      try {
        shm.remove();
      } catch {
        // removed by the test, or closed
      }
    },
  };
}

/** The lines of /proc/self/maps that mention `what`. */
function mapped(what: string): string[] {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes(what));
}

/** Runs the segment peer fixture and parses its line. */
async function peer(runtime: RuntimeName, args: string[]): Promise<{ pid: number; text: string }> {
  const r = await runFixture(runtime, "shm_peer.ts", args);
  assert.equal(r.code, 0, `shm_peer.ts on ${runtime} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

describe("SharedMemory (POSIX shm_open)", () => {
  it("creates, maps, shares bytes between two mappings, and unlinks", () =>
    noLeak(() => {
      using n = shmName();
      using a = SharedMemory.open(n.name, { create: true, exclusive: true, size: 5000 });
      assert.equal(a.name, n.name);
      assert.equal(a.size, 5000);
      assert.equal(a.bytes.length, 5000);
      assert.equal(a.readOnly, false);
      assert.ok(a.fd >= 0);
      using b = SharedMemory.open(n.name);
      assert.equal(b.size, 5000, "opened without size: its current size");
      a.bytes.set(encode("hello"));
      assert.equal(decode(b.bytes.subarray(0, 5)), "hello");
      const counters = new Int32Array(b.buffer);
      Atomics.add(new Int32Array(a.buffer), 10, 7);
      assert.equal(Atomics.load(counters, 10), 7);
      assert.throws(
        () => SharedMemory.open(n.name, { create: true, exclusive: true, size: 1 }),
        isCode("EEXIST"),
      );
      a.unlink();
      assert.throws(() => SharedMemory.open(n.name), isCode("ENOENT"));
      assert.equal(decode(b.bytes.subarray(0, 5)), "hello", "unlinked, still mapped");
    }));

  it("close() unmaps: every view reads as length 0, nothing is left mapped or open", () =>
    noLeak(() => {
      using n = shmName();
      const shm = SharedMemory.open(n.name, { create: true, size: 8192 });
      const bytes = shm.bytes;
      const words = new Int32Array(shm.buffer, 4096, 4);
      const buffer = shm.buffer;
      assert.equal(mapped(`/dev/shm${n.name}`).length, 1);
      shm.close();
      shm.close(); // idempotent
      assert.equal(shm.closed, true);
      assert.equal(bytes.length, 0);
      assert.equal(words.length, 0);
      assert.equal(buffer.byteLength, 0);
      assert.equal(shm.bytes.length, 0);
      assert.equal(bytes[0], undefined, "reading a stale view is harmless");
      bytes[0] = 1; // and so is writing: it goes nowhere
      assert.throws(
        () => Atomics.load(words, 0),
        (e) => e instanceof TypeError || e instanceof RangeError,
      );
      assert.deepEqual(mapped(`/dev/shm${n.name}`), [], "unmapped");
      assert.throws(() => shm.seals, isCode("EBADF"));
    }));

  it("size: required to create; grows a smaller segment, never shrinks a larger one", () =>
    noLeak(() => {
      using n = shmName();
      assert.throws(() => SharedMemory.open(n.name, { create: true }), /size is required/);
      SharedMemory.open(n.name, { create: true, size: 100 }).close();
      using grown = SharedMemory.open(n.name, { size: 10_000 });
      assert.equal(grown.size, 10_000);
      using kept = SharedMemory.open(n.name, { size: 10 });
      assert.equal(kept.size, 10_000, "never shrunk");
    }));

  it("readOnly maps a copy-on-write view: writes stay local, the segment's changes show", () =>
    noLeak(() => {
      using n = shmName();
      using rw = SharedMemory.open(n.name, { create: true, size: 8192 });
      using ro = SharedMemory.open(n.name, { readOnly: true });
      assert.equal(ro.readOnly, true);
      rw.bytes.set(encode("shared"));
      assert.equal(decode(ro.bytes.subarray(0, 6)), "shared");
      ro.bytes[4096] = 42; // a page of its own from now on, never a crash
      assert.equal(rw.bytes[4096], 0, "the write did not reach the segment");
      rw.bytes.set(encode("again!"));
      assert.equal(decode(ro.bytes.subarray(0, 6)), "again!", "unwritten pages follow it");
      assert.throws(() => SharedMemory.open(n.name, { readOnly: true, size: 1 }), TypeError);
    }));

  it("an empty segment opened without size is refused clearly", () =>
    noLeak(() => {
      using n = shmName();
      // An empty segment, as a C program that never sized it leaves one.
      const flags = C.O_RDWR | C.O_CREAT | C.O_CLOEXEC;
      const fd = libc.shm_open(stableCString(n.name), flags, 0o600);
      assert.ok(fd >= 0);
      libc.close(fd);
      assert.throws(() => SharedMemory.open(n.name), (e) => {
        isCode("EINVAL")(e);
        assert.match(String(e), /empty.*pass size/);
        return true;
      });
    }));

  for (const runtime of PEERS) {
    it(`a ${runtime} process reads what this one wrote, and this one reads its writes`, async () => {
      using n = shmName();
      using shm = SharedMemory.open(n.name, { create: true, size: 4096 });
      shm.bytes.set(encode("from the parent"));
      const out = await peer(runtime, ["posix", n.name, "32", "32", "from the child"]);
      assert.equal(out.text, "from the parent");
      assert.equal(decode(shm.bytes.subarray(32, 46)), "from the child");
    });
  }

  it("bad input: names, sizes, options, views", () =>
    noLeak(() => {
      for (
        const name of ["", "/", "noslash", "/a/b", "/.", "/..", "/x\0y", `/${"a".repeat(251)}`]
      ) {
        assert.throws(() => SharedMemory.open(name, { create: true, size: 1 }), TypeError, name);
        assert.throws(() => SharedMemory.unlink(name), TypeError, name);
      }
      for (const bad of [null, 7, {}, undefined] as unknown[]) {
        assert.throws(() => SharedMemory.open(bad as string), TypeError);
      }
      using n = shmName();
      for (const size of [0, -1, 1.5, NaN, Infinity, 2 ** 53, "8" as unknown as number]) {
        assert.throws(
          () => SharedMemory.open(n.name, { create: true, size }),
          typeof size === "number" && Number.isInteger(size) ? RangeError : TypeError,
          String(size),
        );
      }
      assert.throws(() => SharedMemory.open(n.name, { exclusive: true, size: 1 }), TypeError);
      assert.throws(
        () => SharedMemory.open(n.name, { create: true, size: 1, mode: 0o1000 }),
        RangeError,
      );
      assert.throws(
        () => SharedMemory.open(n.name, { create: true, size: 1, readOnly: "yes" as never }),
        TypeError,
      );
      assert.throws(() => SharedMemory.fromFd(-1), RangeError);
      assert.throws(() => SharedMemory.fromFd(1.5), TypeError);
      assert.throws(() => new (SharedMemory as unknown as new () => unknown)(), TypeError);
      using shm = SharedMemory.open(n.name, { create: true, size: 4096 });
      // Views past the end, or at offsets that break alignment, are refused by JavaScript.
      assert.throws(() => new Int32Array(shm.buffer, 1), RangeError);
      assert.throws(() => new BigInt64Array(shm.buffer, 4), RangeError);
      assert.throws(() => new Uint8Array(shm.buffer, 4000, 200), RangeError);
      assert.throws(() => new DataView(shm.buffer).getUint32(4094), RangeError);
      assert.throws(() => shm.addSeals(["bogus" as never]), TypeError);
      assert.throws(() => shm.addSeals(["shrink"]), isCode("EPERM"), "not a memfd: sealed");
    }));
});

describe("memfd", () => {
  it("makes an anonymous segment, seals it, and hands its fd to a child", async () => {
    using shm = memfd("sysipc-test", 4096, { seals: ["shrink", "grow"] });
    assert.equal(shm.name, undefined);
    assert.deepEqual(shm.seals, ["shrink", "grow"]);
    assert.equal(libc.ftruncate(shm.fd, 100), -1, "sealed: nobody can shrink it");
    assert.throws(() => shm.unlink(), TypeError);
    shm.bytes.set(encode("memfd data"));
    for (const runtime of PEERS) {
      const [out, outWriter] = pipe();
      const [command, args] = fixtureCommand(runtime, "shm_peer.ts", [
        "fd",
        "3",
        "32",
        "100",
        `child ${runtime}`,
      ]);
      const child = spawn(command, args, { fds: { 3: shm }, stdout: outWriter });
      outWriter.close();
      const text = await readAll(out);
      out.close();
      assert.deepEqual(await child.status, { code: 0, signal: null });
      assert.equal(JSON.parse(text).text, "memfd data");
      assert.equal(decode(shm.bytes.subarray(100, 100 + 6 + runtime.length)), `child ${runtime}`);
    }
    shm.addSeals(["futureWrite", "seal"]);
    assert.throws(() => shm.addSeals(["write"]), isCode("EPERM"));
    shm.bytes[0] = 0x41; // mappings made before futureWrite keep writing
    using again = SharedMemory.fromFd(shm.fd, { own: false, readOnly: true });
    assert.equal(again.bytes[0], 0x41);
    assert.throws(() => SharedMemory.fromFd(shm.fd, { own: false }), isCode("EPERM"));
  });

  it("bad input", () =>
    noLeak(() => {
      assert.throws(() => memfd("", 1), TypeError);
      assert.throws(() => memfd("a\0b", 1), TypeError);
      assert.throws(() => memfd("x".repeat(250), 1), TypeError);
      assert.throws(() => memfd("x", 0), RangeError);
      assert.throws(() => memfd("x", 1, { seals: "shrink" as never }), TypeError);
      assert.throws(() => memfd("x", 1, null as never), TypeError);
      memfd("ok", 1, { seals: [] }).close();
    }));
});

describe("SysVSharedMemory", () => {
  it("create, attach, use, detach, remove; stat has every field", () =>
    noLeak(() => {
      const before = Math.floor(Date.now() / 1000) - 1;
      using shm = SysVSharedMemory.get("private", { create: true, size: 5000, mode: 0o640 });
      using _ = removedAtEnd(shm);
      assert.equal(shm.key, 0);
      assert.ok(shm.id >= 0);
      let s = shm.stat();
      assert.equal(s.size, 5000);
      assert.equal(s.mode, 0o640);
      assert.equal(s.uid, process.getuid!());
      assert.equal(s.creatorUid, process.getuid!());
      assert.equal(s.creatorPid, process.pid);
      assert.equal(s.attachCount, 0);
      assert.equal(s.attachTime, null);
      assert.ok(s.changeTime instanceof Date && s.changeTime.getTime() / 1000 >= before);
      const a = shm.attach();
      const b = shm.attach({ readOnly: true });
      assert.equal(a.length, 5000);
      a.set(encode("sysv!"));
      assert.equal(decode(b.subarray(0, 5)), "sysv!");
      s = shm.stat();
      assert.equal(s.attachCount, 2);
      assert.equal(s.lastPid, process.pid);
      assert.ok(s.attachTime instanceof Date);
      shm.detach(a);
      assert.equal(a.length, 0, "detached: length 0");
      assert.equal(shm.stat().attachCount, 1);
      assert.ok(shm.stat().detachTime instanceof Date);
      assert.throws(() => shm.detach(a), TypeError, "already detached");
      shm.remove();
      assert.equal(decode(b.subarray(0, 5)), "sysv!", "removed, still attached");
      assert.throws(() => shm.attach(), isCode("EIDRM"));
      const attached = mapped("/SYSV").length;
      shm.close();
      assert.equal(b.length, 0);
      assert.equal(mapped("/SYSV").length, attached - 1, "detached by close()");
      assert.throws(() => shm.stat(), isCode("EBADF"));
    }));

  it("a segment outlives the process that made it, until removed", async () => {
    using dir = tempDir();
    const key = ftok(dir.path, 3);
    // The peer (the other runtime) creates the segment by key, writes, detaches and exits.
    const out = await peer(OTHER, ["sysv-new", String(key), "64", "0", `written by ${OTHER}`]);
    assert.equal(out.text, `written by ${OTHER}`);
    using again = SysVSharedMemory.get(key >>> 0); // the unsigned spelling of the key
    try {
      const s = again.stat();
      assert.equal(s.creatorPid, out.pid);
      assert.equal(s.attachCount, 0);
      const bytes = again.attach();
      assert.equal(decode(bytes.subarray(0, 64)), `written by ${OTHER}`);
    } finally {
      again.remove();
    }
    assert.throws(() => SysVSharedMemory.get(key), isCode("ENOENT"));
  });

  for (const runtime of PEERS) {
    it(`stat() shows a ${runtime} process's attachment and pid`, async () => {
      using dir = tempDir();
      const key = ftok(dir.path, 9);
      using seg = SysVSharedMemory.get(key, { create: true, exclusive: true, size: 4096 });
      try {
        const bytes = seg.attach();
        bytes.set(encode("hold on"));
        const [command, args] = fixtureCommand(runtime, "shm_peer.ts", [
          "sysv",
          String(key),
          "64",
          "-",
          "-",
          "hold",
        ]);
        const child = nodeSpawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
        const line = await new Promise<string>((resolve, reject) => {
          let text = "";
          child.stdout!.on("data", (d) => {
            text += d;
            if (text.includes("\n")) resolve(text);
          });
          child.on("exit", (code) => reject(new Error(`peer exited early (${code})`)));
        });
        const { pid, text } = JSON.parse(line);
        assert.equal(text, "hold on");
        let s = seg.stat();
        assert.equal(s.attachCount, 2);
        assert.equal(s.lastPid, pid);
        const exited = new Promise((r) => child.on("exit", r));
        child.stdin!.end();
        assert.equal(await exited, 0);
        s = seg.stat();
        assert.equal(s.attachCount, 1, "the peer detached");
        assert.equal(s.lastPid, pid, "the last detach was the peer's");
      } finally {
        seg.remove();
      }
    });
  }

  it("bad input: keys, sizes, a removed id, options", () =>
    noLeak(() => {
      for (const key of [1.5, NaN, "1" as never, null as never, 2 ** 32, -(2 ** 31) - 1]) {
        assert.throws(
          () => SysVSharedMemory.get(key, { create: true, size: 1 }),
          typeof key === "number" && Number.isInteger(key) ? RangeError : TypeError,
        );
      }
      assert.throws(() => SysVSharedMemory.get("private"), TypeError, "size is required");
      assert.throws(() => SysVSharedMemory.get("private", { create: true, size: 0 }), RangeError);
      assert.throws(
        () => SysVSharedMemory.get("private", { create: true, size: -5 }),
        RangeError,
      );
      assert.throws(() => SysVSharedMemory.get(0x5ee5ee, { size: 1 }), isCode("ENOENT"));
      using dir = tempDir();
      const key = ftok(dir.path, 1);
      using shm = SysVSharedMemory.get(key, { create: true, size: 4096 });
      try {
        assert.throws(() => SysVSharedMemory.get(key, { size: 8192 }), isCode("EINVAL"));
        assert.throws(() => shm.attach({ readOnly: 1 as never }), TypeError);
        assert.throws(() => shm.attach(null as never), TypeError);
        using other = SysVSharedMemory.get(key);
        shm.remove();
        assert.throws(() => other.attach(), (e) => {
          isCode("EINVAL")(e);
          assert.match(String(e), /removed/);
          return true;
        });
        assert.throws(() => other.stat(), IpcError);
      } catch (e) {
        try {
          shm.remove();
        } catch {
          // removed already
        }
        throw e;
      }
    }));
});

describe("MappedFile", () => {
  it("writes through memory that another process reads with ordinary file I/O", async () => {
    using dir = tempDir();
    const path = join(dir.path, "data");
    using file = MappedFile.open(path, { create: true, size: 10 });
    assert.equal(file.size, 10);
    assert.equal(file.path, path);
    file.bytes.set(encode("0123456789"));
    file.sync();
    file.sync({ async: true });
    for (const runtime of PEERS) {
      const r = await runFixture(runtime, "shm_peer.ts", ["file", path, "10"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).text, "0123456789");
    }
    // cat reads the file without mapping it.
    assert.equal(spawnSync("cat", [path], { encoding: "utf8" }).stdout, "0123456789");
    writeFileSync(path, "abcdefghij"); // ordinary writes show in the mapping too
    assert.equal(decode(file.bytes), "abcdefghij");
    file.close();
    assert.equal(file.bytes.length, 0);
    assert.throws(() => file.sync(), isCode("EBADF"));
  });

  it("readOnly is copy-on-write; size grows a file and is required to create", () =>
    noLeak(() => {
      using dir = tempDir();
      const path = join(dir.path, "f");
      writeFileSync(path, "abc");
      using ro = MappedFile.open(path, { readOnly: true });
      ro.bytes[0] = 0x5a;
      assert.equal(readFileSync(path, "utf8"), "abc");
      using grown = MappedFile.open(path, { size: 4096 });
      assert.equal(grown.size, 4096);
      assert.equal(readFileSync(path).length, 4096);
      assert.throws(() => MappedFile.open(join(dir.path, "new"), { create: true }), TypeError);
    }));

  it("bad input: paths, directories, FIFOs, empty files", () =>
    noLeak(() => {
      using dir = tempDir();
      assert.throws(() => MappedFile.open(""), TypeError);
      assert.throws(() => MappedFile.open("a\0b"), TypeError);
      assert.throws(() => MappedFile.open(join(dir.path, "missing")), isCode("ENOENT"));
      assert.throws(() => MappedFile.open(dir.path), isCode("EISDIR"));
      assert.throws(() => MappedFile.open(dir.path, { readOnly: true }), isCode("ENODEV"));
      const fifo = join(dir.path, "fifo");
      mkfifo(fifo);
      assert.throws(() => MappedFile.open(fifo, { readOnly: true }), isCode("ENODEV"));
      const empty = join(dir.path, "empty");
      writeFileSync(empty, "");
      assert.throws(() => MappedFile.open(empty), isCode("EINVAL"));
      assert.throws(() => MappedFile.open(empty, { size: 0 }), RangeError);
    }));
});

describe("interop with peers sysipc did not write", () => {
  const python = hasCommand("python3");
  const noPython = python ? false : "python3 is not installed (apt-get install python3)";
  // Python 3.8-3.12 registers every attached segment with its resource tracker, which
  // unlinks them at exit; 3.13 has track=False. Either way the segment must survive.
  const attach = `
import sys
from multiprocessing import shared_memory, resource_tracker
def attach(name, **kw):
    try:
        return shared_memory.SharedMemory(name=name, track=False, **kw)
    except TypeError:
        shm = shared_memory.SharedMemory(name=name, **kw)
        resource_tracker.unregister(shm._name, "shared_memory")
        return shm
`;

  it("Python's SharedMemory reads bytes sysipc wrote", { skip: noPython }, () => {
    using n = shmName("py");
    using shm = SharedMemory.open(n.name, { create: true, size: 4096 });
    shm.bytes.set(encode("written by sysipc"));
    const r = spawnSync("python3", [
      "-c",
      attach + "s = attach(sys.argv[1])\nprint(bytes(s.buf[:17]).decode())\ns.close()",
      n.name.slice(1), // Python adds the leading slash itself
    ], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "written by sysipc");
  });

  it("sysipc reads bytes Python's SharedMemory wrote", { skip: noPython }, () => {
    using n = shmName("py");
    const r = spawnSync("python3", [
      "-c",
      attach +
      "s = attach(sys.argv[1], create=True, size=8192)\n" +
      "s.buf[:17] = b'written by Python'\ns.close()",
      n.name.slice(1),
    ], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    using shm = SharedMemory.open(n.name);
    assert.equal(shm.size, 8192);
    assert.equal(decode(shm.bytes.subarray(0, 17)), "written by Python");
  });

  const ipc = hasCommand("ipcmk") && hasCommand("ipcs") && hasCommand("ipcrm");
  it(
    "a segment made by ipcmk -M is attached and written, and ipcs -m shows it right",
    { skip: ipc ? false : "ipcmk/ipcs are not installed (apt-get install util-linux)" },
    async () => {
      const made = spawnSync("ipcmk", ["-M", "12288", "-p", "0640"], { encoding: "utf8" });
      assert.equal(made.status, 0, made.stderr);
      const id = Number(/id: (\d+)/.exec(made.stdout)?.[1]);
      assert.ok(Number.isInteger(id), made.stdout);
      try {
        // ipcs -m: key shmid owner perms bytes nattch status, the key in unsigned hex.
        const row = () => {
          const table = spawnSync("ipcs", ["-m"], { encoding: "utf8" }).stdout;
          const line = table.split("\n").find((l) => l.trim().split(/\s+/)[1] === String(id));
          assert.ok(line, `ipcs -m lists ${id}:\n${table}`);
          const [key, , , perms, bytes, nattch] = line.trim().split(/\s+/);
          return { key: Number(key), perms, bytes: Number(bytes), nattch: Number(nattch) };
        };
        const before = row();
        assert.deepEqual([before.perms, before.bytes, before.nattch], ["640", 12288, 0]);
        using shm = SysVSharedMemory.get(before.key); // the unsigned spelling, as ipcs prints
        assert.equal(shm.id, id);
        assert.equal(shm.stat().size, 12288);
        assert.equal(shm.stat().mode, 0o640);
        const bytes = shm.attach();
        bytes.set(encode("written into ipcmk's segment"));
        assert.equal(row().nattch, 1, "ipcs -m counts the attachment");
        const out = await peer(OTHER, ["sysv", String(before.key), "64"]);
        assert.equal(out.text, "written into ipcmk's segment");
        shm.detach();
        assert.equal(row().nattch, 0);
        // And a segment sysipc makes shows in ipcs -m with its size and mode.
        using own = SysVSharedMemory.get("private", { create: true, size: 777, mode: 0o604 });
        try {
          const table = spawnSync("ipcs", ["-m"], { encoding: "utf8" }).stdout;
          const line = table.split("\n").find((l) => l.trim().split(/\s+/)[1] === `${own.id}`);
          assert.ok(line, table);
          const cells = line.trim().split(/\s+/);
          assert.deepEqual([cells[3], cells[4]], ["604", "777"]);
        } finally {
          own.remove();
        }
      } finally {
        spawnSync("ipcrm", ["-m", String(id)]);
      }
    },
  );

  it(
    "a C program maps the same POSIX segment",
    { skip: hasCommand("gcc") ? false : "gcc is not installed (apt-get install gcc libc6-dev)" },
    () => {
      using dir = tempDir();
      const exe = compileC("shm_map_peer.c", dir.path);
      using n = shmName("c");
      using shm = SharedMemory.open(n.name, { create: true, size: 4096 });
      shm.bytes.set(encode("hello, C"));
      const r = spawnSync(exe, [n.name, "4096"], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), "hello, C");
      assert.equal(decode(shm.bytes.subarray(64, 76)), "written by C");
    },
  );
});

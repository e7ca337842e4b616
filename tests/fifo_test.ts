import assert from "node:assert/strict";
import { execFileSync, spawn as nodeSpawn } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { IpcError } from "../ffi/errors.ts";
import {
  mkfifo,
  openFifoReader,
  openFifoReaderSync,
  openFifoWriter,
  openFifoWriterSync,
} from "../fifo/mod.ts";
import { platform } from "../mod.ts";
import { CURRENT, noLeak, OTHER, readAll, runFixture, sleep, tempDir } from "./helpers.ts";

function isCode(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof IpcError, `expected IpcError, got ${e}`);
    assert.equal(e.code, code);
    return true;
  };
}

/** Runs a shell command in the background; resolves with its stdout when it ends. */
function sh(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = nodeSpawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => out += d);
    child.on("error", reject);
    child.on("close", () => resolve(out));
  });
}

describe("fifo: mkfifo", () => {
  it("makes a FIFO that test -p recognises, with mode 0600 by default", () => {
    using dir = tempDir();
    const path = join(dir.path, "f");
    mkfifo(path);
    execFileSync("test", ["-p", path]); // throws when it is not a FIFO
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const other = join(dir.path, "g");
    mkfifo(other, { mode: 0o640 });
    assert.equal(statSync(other).mode & 0o777, 0o640 & ~process.umask());
  });

  it("reports EEXIST, ENOENT and bad arguments", () => {
    using dir = tempDir();
    const path = join(dir.path, "f");
    mkfifo(path);
    assert.throws(() => mkfifo(path), isCode("EEXIST"));
    assert.throws(() => mkfifo(path), /EEXIST: File exists, mkfifo '.*\/f'/);
    assert.throws(() => mkfifo(join(dir.path, "no", "f")), isCode("ENOENT"));
    assert.throws(() => mkfifo(join(dir.path, "a\0b")), /must not contain NUL bytes/);
    assert.throws(() => mkfifo(""), TypeError);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => mkfifo(42), TypeError);
    assert.throws(() => mkfifo(join(dir.path, "m"), { mode: 0o10000 }), RangeError);
    assert.throws(() => mkfifo(join(dir.path, "m"), { mode: -1 }), RangeError);
  });
});

describe("fifo: shell peers", () => {
  it("reads what `echo … > fifo` wrote, then end of stream", () =>
    noLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "f");
      mkfifo(path);
      const shell = sh(`echo "hello from the shell" > '${path}'`);
      const reader = await openFifoReader(path, { timeout: 10_000 });
      assert.equal(await readAll(reader), "hello from the shell\n");
      reader.close();
      await shell;
    }));

  it("writes what `cat fifo` prints", () =>
    noLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "f");
      mkfifo(path);
      const cat = sh(`cat '${path}'`);
      const writer = await openFifoWriter(path, { timeout: 10_000 });
      await writer.write("to cat, line 1\n");
      writer.writeSync("line 2\n");
      writer.close();
      assert.equal(await cat, "to cat, line 1\nline 2\n");
    }));
});

describe("fifo: open rules", () => {
  it("a reader waits for a writer without blocking the event loop", () =>
    noLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "f");
      mkfifo(path);
      let ticks = 0;
      const interval = setInterval(() => ticks++, 5);
      let opened = false;
      const reading = openFifoReader(path).then((r) => {
        opened = true;
        return r;
      });
      await sleep(60);
      // With io_uring the open waits for a writer, as in C. The polling backend cannot tell
      // whether a writer is there, so its open returns at once (documented as
      // platform.fifoReaderWaitsForWriter), and the first read waits for the writer instead.
      assert.equal(opened, !platform.fifoReaderWaitsForWriter);
      let read: Promise<string> | undefined;
      if (opened) read = readAll(await reading);
      await sleep(30);
      const writer = openFifoWriterSync(path);
      const reader = await reading;
      clearInterval(interval);
      assert.ok(ticks >= 8, `timers ran while the open waited: ${ticks}`);
      writer.writeSync("x");
      writer.close();
      assert.equal(await (read ?? readAll(reader)), "x");
      reader.close();
    }));

  it("a non-blocking writer with no reader gets ENXIO; a blocking one waits or times out", () =>
    noLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "f");
      mkfifo(path);
      await assert.rejects(openFifoWriter(path, { nonBlocking: true }), isCode("ENXIO"));
      assert.throws(() => openFifoWriterSync(path, { nonBlocking: true }), isCode("ENXIO"));
      await assert.rejects(openFifoWriter(path, { timeout: 0 }), isCode("EAGAIN"));
      await assert.rejects(openFifoWriter(path, { timeout: 40 }), isCode("ETIMEDOUT"));
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("no reader")), 20);
      await assert.rejects(openFifoWriter(path, { signal: controller.signal }), /no reader/);
      // The abandoned opens left no writer behind: with a writer still attached, an empty
      // FIFO would read as EAGAIN; with none, read(2) returns 0, end of stream.
      const reader = await openFifoReader(path, { nonBlocking: true });
      assert.equal(reader.readSync(new Uint8Array(1)), null);
      const writer = await openFifoWriter(path, { nonBlocking: true });
      writer.close();
      reader.close();
    }));

  it("an aborted reader open leaves nothing pending", () =>
    noLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "f");
      mkfifo(path);
      const controller = new AbortController();
      setTimeout(() => controller.abort("stop"), 20);
      const opening = openFifoReader(path, { signal: controller.signal });
      if (platform.fifoReaderWaitsForWriter) {
        await assert.rejects(opening, (e) => e === "stop");
      } else {
        (await opening).close(); // the polling backend opens a reader at once
      }
      await sleep(30);
      await assert.rejects(openFifoWriter(path, { nonBlocking: true }), isCode("ENXIO"));
    }));

  it("writing after the reader left throws EPIPE", () =>
    noLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "f");
      mkfifo(path);
      const reader = await openFifoReader(path, { nonBlocking: true });
      const writer = await openFifoWriter(path);
      reader.close();
      await assert.rejects(writer.write("x"), isCode("EPIPE"));
      writer.close();
    }));

  it("refuses paths that are not FIFOs, and bad paths, before opening", async () => {
    using dir = tempDir();
    const file = join(dir.path, "regular");
    writeFileSync(file, "data");
    await assert.rejects(openFifoReader(file), /EINVAL: Not a FIFO: it is a regular file, open/);
    await assert.rejects(openFifoWriter(dir.path), /Not a FIFO: it is a directory/);
    assert.throws(() => openFifoReaderSync(file), isCode("EINVAL"));
    await assert.rejects(openFifoReader(join(dir.path, "missing")), isCode("ENOENT"));
    await assert.rejects(openFifoReader(join(dir.path, "x\0y")), TypeError);
    await assert.rejects(openFifoReader(""), TypeError);
    await assert.rejects(openFifoReader(file, { timeout: -5 }), RangeError);
  });
});

describe("fifo: a job queue", () => {
  it("a persistent reader gets every job from two shell writers that come and go", () =>
    noLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "jobs");
      mkfifo(path);
      mkfifo(path, { allowExisting: true }); // a second start of the server is fine
      using jobs = await openFifoReader(path, { persistent: true });
      // Each `echo` opens the FIFO, writes one line (atomic: < PIPE_BUF) and closes it.
      const writers = ["a", "b"].map((tag) =>
        sh(`i=0; while [ $i -lt 1000 ]; do echo "${tag}$i" > '${path}'; i=$((i+1)); done`)
      );
      const seen = new Set<string>();
      const buf = new Uint8Array(4096);
      let pending = "";
      while (seen.size < 2000) {
        const n = await jobs.read(buf, { timeout: 20_000 });
        assert.notEqual(n, null, "a persistent reader never reaches end of stream");
        pending += new TextDecoder().decode(buf.subarray(0, n!));
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          assert.ok(!seen.has(line), `${line} arrived twice`);
          seen.add(line);
        }
      }
      await Promise.all(writers);
      assert.equal(seen.size, 2000);
      assert.equal(pending, "");
      for (const tag of ["a", "b"]) {
        for (let i = 0; i < 1000; i++) assert.ok(seen.has(`${tag}${i}`), `${tag}${i} was lost`);
      }
      // Nothing is left: every job was read exactly once.
      await assert.rejects(jobs.read(buf, { timeout: 0 }), isCode("EAGAIN"));
    }));

  it("mkfifo with allowExisting accepts a FIFO, and still refuses anything else", () => {
    using dir = tempDir();
    const path = join(dir.path, "f");
    mkfifo(path, { allowExisting: true });
    mkfifo(path, { allowExisting: true });
    assert.throws(() => mkfifo(path), isCode("EEXIST"));
    const file = join(dir.path, "regular");
    writeFileSync(file, "");
    assert.throws(
      () => mkfifo(file, { allowExisting: true }),
      /EEXIST: File exists and is a regular file, mkfifo/,
    );
  });
});

describe("fifo: across processes", () => {
  for (const peer of [CURRENT, OTHER]) {
    it(`${CURRENT} exchanges messages with a ${peer} process over a FIFO pair`, () =>
      noLeak(async () => {
        using dir = tempDir();
        const requests = join(dir.path, "requests");
        const replies = join(dir.path, "replies");
        mkfifo(requests);
        mkfifo(replies);
        const served = runFixture(peer, "fifo_peer.ts", [requests, replies]);
        const [out, back] = await Promise.all([
          openFifoWriter(requests, { timeout: 15_000 }),
          openFifoReader(replies, { timeout: 15_000 }),
        ]);
        const buf = new Uint8Array(256);
        for (let i = 0; i < 20; i++) {
          await out.write(`message ${i}\n`);
          let reply = "";
          while (!reply.endsWith("\n")) {
            const n = await back.read(buf, { timeout: 10_000 });
            assert.notEqual(n, null, "the peer hung up early");
            reply += new TextDecoder().decode(buf.subarray(0, n!));
          }
          assert.equal(reply, `${peer}:message ${i}\n`);
        }
        out.close();
        assert.equal(await back.read(buf), null, "the peer closed its end after our EOF");
        back.close();
        const result = await served;
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.trim(), "served 20");
      }));
  }
});

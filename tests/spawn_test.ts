import assert from "node:assert/strict";
import { realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { IpcError } from "../ffi/errors.ts";
import { pipe, spawn } from "../pipe/mod.ts";
import { CURRENT, fixtureCommand, noLeak, OTHER, readAll, tempDir } from "./helpers.ts";

function isCode(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof IpcError, `expected IpcError, got ${e}`);
    assert.equal(e.code, code);
    return true;
  };
}

/** Runs a child with its stdout on a pipe; returns what it printed and how it ended. */
async function capture(command: string, args: string[], options = {}) {
  const [out, outWriter] = pipe();
  const child = spawn(command, args, { stdout: outWriter, ...options });
  outWriter.close();
  const text = await readAll(out);
  out.close();
  return { text, status: await child.status, pid: child.pid };
}

describe("spawn: descriptors", () => {
  it("a child reads from fd 3 what the parent writes into a pipe", () =>
    noLeak(async () => {
      const [reader, writer] = pipe();
      const [out, outWriter] = pipe();
      const child = spawn("sh", ["-c", "cat <&3 >&4"], { fds: { 3: reader, 4: outWriter } });
      reader.close();
      outWriter.close();
      await writer.write("through fd 3\n");
      writer.close();
      assert.equal(await readAll(out), "through fd 3\n");
      out.close();
      assert.deepEqual(await child.status, { code: 0, signal: null });
    }));

  for (const runtime of [CURRENT, OTHER]) {
    for (const mode of ["sync", "async"]) {
      it(`a ${runtime} child reads fd 3 with ${mode} reads and answers on fd 4`, () =>
        noLeak(async () => {
          const [reader, writer] = pipe();
          const [out, outWriter] = pipe();
          const [command, args] = fixtureCommand(runtime, "fd_echo.ts", [mode, "echo:", "3"]);
          const child = spawn(command, args, { fds: { 3: reader, 4: outWriter } });
          reader.close();
          outWriter.close();
          const payload = "x".repeat(100_000) + "end";
          await writer.write(payload);
          writer.close();
          assert.equal(await readAll(out), `echo:${payload}`);
          out.close();
          assert.deepEqual(await child.status, { code: 3, signal: null });
        }));
    }
  }

  it("places descriptors whose numbers collide with the targets", () =>
    noLeak(async () => {
      // Hand each pipe end to the fd number the other one has in the parent.
      const [a, aw] = pipe();
      const [b, bw] = pipe();
      aw.writeSync("A");
      bw.writeSync("B");
      aw.close();
      bw.close();
      const { text } = await capture("sh", [
        "-c",
        `cat /proc/self/fd/${a.fd}; cat /proc/self/fd/${b.fd}`,
      ], { fds: { [a.fd]: b, [b.fd]: a } });
      assert.equal(text, "BA");
      a.close();
      b.close();
    }));

  it("sends stdin, stdout and stderr where asked, and /dev/null for 'null'", () =>
    noLeak(async () => {
      const [input, inputWriter] = pipe();
      inputWriter.writeSync("to stdin");
      inputWriter.close();
      const { text } = await capture("sh", [
        "-c",
        "cat; echo; ls /nonexistent 2>&1 >/dev/null | wc -c",
      ], {
        stdin: input,
        stderr: "null",
      });
      input.close();
      const [first, second] = text.split("\n");
      assert.equal(first, "to stdin");
      assert.ok(Number(second) > 0, "stderr, redirected by the shell, still works");
      const empty = await capture("cat", [], { stdin: "null" });
      assert.equal(empty.text, "");
    }));

  it("does not leak the parent's close-on-exec descriptors", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const { text } = await capture("sh", ["-c", `ls /proc/self/fd | sort -n | tr '\\n' ' '`]);
      assert.ok(!text.split(" ").includes(String(r.fd)), `child fds: ${text}`);
      r.close();
      w.close();
    }));
});

describe("spawn: process control", () => {
  it("reports exit codes and killing signals; kill() after the end throws ESRCH", async () => {
    assert.deepEqual((await capture("sh", ["-c", "exit 42"])).status, { code: 42, signal: null });
    const sleeper = spawn("sleep", ["30"]);
    setTimeout(() => sleeper.kill(), 20);
    assert.deepEqual(await sleeper.status, { code: null, signal: "SIGTERM" });
    assert.throws(() => sleeper.kill(), isCode("ESRCH"));
    const killed = spawn("sleep", ["30"]);
    killed.kill("SIGKILL");
    assert.deepEqual(await killed.status, { code: null, signal: "SIGKILL" });
    const self = spawn("sh", ["-c", "kill -USR1 $$"]);
    assert.deepEqual(await self.status, { code: null, signal: "SIGUSR1" });
  });

  it("gives the child its own environment, working directory and signal set-up", async () => {
    using dir = tempDir();
    const env = await capture("sh", ["-c", "echo $GREETING; pwd"], {
      env: { GREETING: "hi", PATH: "/usr/bin:/bin" },
      cwd: dir.path,
    });
    assert.equal(env.text, `hi\n${realpathSync(dir.path)}\n`);
    const inherited = await capture("sh", ["-c", "echo $HOME"]);
    assert.equal(inherited.text.trim(), process.env.HOME ?? "");
    // SIGPIPE is ignored by the runtimes but back to default in the child; blocked
    // signals are blocked from the start.
    const status = await capture("grep", ["-E", "^Sig(Blk|Ign)", "/proc/self/status"], {
      blockSignals: ["SIGUSR1", "SIGRTMIN+1", 12],
    });
    const mask = (name: string) =>
      BigInt(
        "0x" + /Sig\w+:\s*([0-9a-f]+)/.exec(
          status.text.split("\n").find((l) => l.startsWith(name))!,
        )![1],
      );
    const bit = (n: number) => 1n << BigInt(n - 1);
    assert.equal(mask("SigBlk"), bit(10) | bit(12) | bit(35));
    assert.equal(mask("SigIgn") & bit(13), 0n, "SIGPIPE is not ignored in the child");
  });

  it("finds commands in PATH and reports the missing and the unexecutable", async () => {
    assert.equal((await capture("echo", ["found"])).text, "found\n");
    assert.throws(() => spawn("/nonexistent/program"), isCode("ENOENT"));
    assert.throws(() => spawn("no-such-command-anywhere"), isCode("ENOENT"));
    using dir = tempDir();
    const script = join(dir.path, "not-executable");
    writeFileSync(script, "#!/bin/sh\necho hi\n", { mode: 0o644 });
    assert.throws(() => spawn(script), isCode("EACCES"));
  });
});

describe("spawn: bad input", () => {
  it("rejects malformed arguments before starting anything", () => {
    assert.throws(() => spawn(""), TypeError);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => spawn(42), TypeError);
    assert.throws(() => spawn("echo", ["a\0b"]), /must not contain NUL bytes/);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => spawn("echo", "a"), TypeError);
    assert.throws(() => spawn("true", [], { fds: { 1: 0 } }), RangeError);
    assert.throws(() => spawn("true", [], { fds: { 3: -1 } }), RangeError);
    assert.throws(() => spawn("true", [], { fds: { 3: 1.5 } }), TypeError);
    assert.throws(
      () => spawn("true", [], { fds: { 3: 99_999 } }),
      /EBADF: fd 99999 .* is not open/,
    );
    const [r, w] = pipe();
    r.close();
    assert.throws(() => spawn("true", [], { fds: { 3: r } }), isCode("EBADF"));
    w.close();
    assert.throws(() => spawn("true", [], { env: { "A=B": "c" } }), TypeError);
    assert.throws(() => spawn("true", [], { cwd: "a\0" }), TypeError);
    assert.throws(() => spawn("true", [], { blockSignals: ["SIGNOPE" as "SIGHUP"] }), TypeError);
    assert.throws(() => spawn("true", [], { blockSignals: [99] }), RangeError);
  });
});

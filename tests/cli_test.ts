/**
 * Tests of the `sysipc` command line (`cli.ts`) from a shell's point of view, on both
 * runtimes: exit statuses scripts can rely on, and `run`, which replaces itself with the
 * command (same pid, the command's exit status) after blocking signals.
 */
import assert from "node:assert/strict";
import { spawn as nodeSpawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { signalNumber } from "../signal/mod.ts";
import { cliCommand, type RuntimeName, tempDir } from "./helpers.ts";

const RUNTIMES: RuntimeName[] = ["deno", "bun"];

function sysipc(runtime: RuntimeName, args: string[]) {
  const [command, argv] = cliCommand(runtime);
  const r = spawnSync(command, [...argv, ...args], { encoding: "utf8", timeout: 30_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A /proc/self/status mask field as a number. */
function mask(status: string, field: string): bigint {
  return BigInt("0x" + new RegExp(`${field}:\\s*(\\w+)`).exec(status)![1]);
}

const bit = (n: number) => 1n << BigInt(n - 1);

for (const runtime of RUNTIMES) {
  describe(`sysipc command line on ${runtime}`, () => {
    it("usage: --help exits 0; a missing or unknown command exits 2", () => {
      const help = sysipc(runtime, ["--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Usage: sysipc <command>/);
      assert.match(help.stdout, /run /);
      const none = sysipc(runtime, []);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /no command given/);
      const unknown = sysipc(runtime, ["frobnicate"]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown command frobnicate/);
    });

    it("run: --help exits 0; its own failures exit 125, 126 or 127", () => {
      const help = sysipc(runtime, ["run", "--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Usage: sysipc run \[--block SIGNALS\]/);
      const cases: [string[], number, RegExp][] = [
        [["run"], 125, /no command given/],
        [["run", "--bogus", "true"], 125, /Unknown option '--bogus'/],
        [["run", "--block"], 125, /argument missing|requires/i],
        [["run", "--block", "SIGNOPE", "--", "true"], 125, /Unknown signal name/],
        [["run", "--block", "SIGKILL", "--", "true"], 125, /SIGKILL cannot be blocked/],
        [["run", "--block", "33", "--", "true"], 125, /reserved by the C library/],
        [["run", "--", "sysipc-no-such-command"], 127, /cannot run sysipc-no-such-command: ENOENT/],
      ];
      for (const [args, code, message] of cases) {
        const r = sysipc(runtime, args);
        assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message, args.join(" "));
      }
      using dir = tempDir();
      const file = join(dir.path, "not-executable");
      writeFileSync(file, "#!/bin/sh\n", { mode: 0o644 });
      const r = sysipc(runtime, ["run", file]);
      assert.equal(r.code, 126, r.stderr);
      assert.match(r.stderr, /EACCES/);
    });

    it("run --block: the command starts with the signals blocked, SIGPIPE back to default", () => {
      const r = sysipc(runtime, [
        "run",
        "--block",
        "SIGUSR1,SIGRTMIN+1",
        "-b",
        "12",
        "grep",
        "-E",
        "^Sig(Blk|Ign)",
        "/proc/self/status",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const wanted = bit(10) | bit(12) | bit(signalNumber("SIGRTMIN+1"));
      assert.equal(mask(r.stdout, "SigBlk"), wanted);
      assert.equal(mask(r.stdout, "SigIgn") & (bit(13) | bit(25)), 0n, "SIGPIPE, SIGXFSZ");
    });

    it("run: options end at the command, whose own options pass through", () => {
      const r = sysipc(runtime, ["run", "sh", "-c", 'echo "$0 $1"', "-b", "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "-b --help\n");
    });

    it("run: the same process, its exit status and its death by a signal are the command's", async () => {
      const [command, argv] = cliCommand(runtime);
      const child = nodeSpawn(command, [...argv, "run", "sh", "-c", "echo $$; exit 7"]);
      let out = "";
      child.stdout.on("data", (d: Uint8Array) => out += new TextDecoder().decode(d));
      const code = await new Promise((resolve) => child.on("close", resolve));
      assert.equal(code, 7);
      assert.equal(Number(out.trim()), child.pid);
      const killed = sysipc(runtime, ["run", "sh", "-c", "kill -TERM $$"]);
      assert.equal(killed.signal, "SIGTERM");
    });

    it("run: the command gets no descriptor of the runtime's", () => {
      // Given fd 3, as a shell's `3<file` does.
      const [command, argv] = cliCommand(runtime);
      const stdio = ["ignore", "pipe", "pipe", "pipe"] as const;
      const list = ["run", "ls", "/proc/self/fd"];
      const r = spawnSync(command, [...argv, ...list], { encoding: "utf8", stdio: [...stdio] });
      assert.equal(r.status, 0, r.stderr);
      const plain = spawnSync("ls", ["/proc/self/fd"], { encoding: "utf8", stdio: [...stdio] });
      const fds = (text: string) => text.trim().split("\n").map(Number);
      // No descriptor of the runtime's: at most what ls gets without sysipc run (Bun marks
      // inherited descriptors above 3 close-on-exec when it starts: those are lost).
      assert.ok(fds(r.stdout).every((fd) => fds(plain.stdout).includes(fd)), r.stdout);
      assert.ok(fds(r.stdout).includes(3), "fd 3 passed through");
    });
  });
}

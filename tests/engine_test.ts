import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { waitEngine } from "../ffi/wait/mod.ts";
import { platform } from "../mod.ts";
import { pipe } from "../pipe/mod.ts";
import { CURRENT, noLeak, ROOT, runFixture, RUNTIMES, tempDir } from "./helpers.ts";

describe("wait engine", () => {
  it("uses io_uring where the kernel allows it", () => {
    let disabled = "0";
    try {
      disabled = readFileSync("/proc/sys/kernel/io_uring_disabled", "utf8").trim();
    } catch {
      // older kernels have no such switch: io_uring is on
    }
    const forced = process.env.SYSIPC_WAIT_ENGINE === "poll";
    assert.equal(waitEngine(), disabled === "0" && !forced ? "io_uring" : "poll");
    assert.equal(platform.waitEngine, waitEngine());
    assert.equal(platform.fifoReaderWaitsForWriter, waitEngine() === "io_uring");
    assert.equal(platform.runtime, CURRENT);
    assert.equal(platform.os, "linux");
    assert.match(platform.libc, /^libc/);
  });

  for (const runtime of ["deno", "bun"] as const) {
    it(`the polling backend gives the same results on ${runtime}`, async () => {
      using dir = tempDir();
      const result = await runFixture(runtime, "poll_engine.ts", [join(dir.path, "f")], 20_000, {
        env: { SYSIPC_WAIT_ENGINE: "poll" },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        engine: "poll",
        read: "late",
        timeout: "ETIMEDOUT",
        abort: "stop",
        eof: null,
        fifo: "through the fifo",
      });
    });
  }

  it("serves hundreds of concurrent waits, each with its own result", () =>
    noLeak(async () => {
      const pipes = Array.from({ length: 300 }, () => pipe());
      const reads = pipes.map(([r], i) => {
        const buf = new Uint8Array(8);
        return r.read(buf).then((n) => new TextDecoder().decode(buf.subarray(0, n ?? 0)) + `@${i}`);
      });
      pipes.forEach(([, w], i) => setTimeout(() => w.writeSync(String(i)), (i * 7) % 50));
      const got = await Promise.all(reads);
      got.forEach((text, i) => assert.equal(text, `${i}@${i}`));
      for (const [r, w] of pipes) {
        r.close();
        w.close();
      }
    }));

  for (
    const [flags, expected] of [
      [[], /run Deno with --allow-ffi/],
      // A grant limited to paths: the library may open, but Deno's pointer functions refuse.
      [["--allow-ffi=/lib/x86_64-linux-gnu/libc.so.6"], /A grant limited to paths/],
      [["--allow-ffi=/nonexistent/lib.so"], /A grant limited to paths/],
    ] as const
  ) {
    it(`Deno ${flags[0] ?? "without --allow-ffi"}: one clear error`, async () => {
      const { execFile } = await import("node:child_process");
      const script = join(ROOT, "tests", "fixtures", "import_only.ts");
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          RUNTIMES.deno,
          ["run", "--no-prompt", "--allow-read", ...flags, script],
          (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }),
        );
      });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.match(/sysipc needs FFI access/g)?.length, 1, result.stderr);
    });
  }
});

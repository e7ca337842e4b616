/**
 * Test helpers: second-process fixtures on either runtime, unique names, temp dirs, and a
 * check that a test leaves no descriptor open.
 *
 * @module
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Buffer } from "node:buffer";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { ringFds as engineFds } from "../ffi/wait/ring.ts";
import { recorderFds } from "../signal/recorder.ts";
import { IpcError, platform } from "../mod.ts";

/** The repository's root. */
export const ROOT: string = dirname(dirname(fileURLToPath(import.meta.url)));

/** The two runtimes, by the binaries `npm ci` installed. */
export const RUNTIMES = {
  deno: join(ROOT, "node_modules", ".bin", "deno"),
  bun: join(ROOT, "node_modules", ".bin", "bun"),
} as const;

/** A runtime's name. */
export type RuntimeName = keyof typeof RUNTIMES;

/** The runtime running this test. */
export const CURRENT: RuntimeName = platform.runtime;

/** The other runtime. */
export const OTHER: RuntimeName = CURRENT === "deno" ? "bun" : "deno";

/**
 * The command line that runs a fixture script on a runtime.
 *
 * @param runtime Which runtime.
 * @param fixture The fixture's file name in tests/fixtures.
 * @param args Arguments for the script.
 * @param denoFlags Extra flags for `deno run`.
 * @returns The program and its arguments.
 */
export function fixtureCommand(
  runtime: RuntimeName,
  fixture: string,
  args: string[] = [],
  denoFlags: string[] = [],
): [string, string[]] {
  const script = join(ROOT, "tests", "fixtures", fixture);
  return runtime === "deno"
    ? [RUNTIMES.deno, ["run", "-A", "--no-prompt", ...denoFlags, script, ...args]]
    : [RUNTIMES.bun, [script, ...args]];
}

/**
 * The command line that runs the `sysipc` command line (`cli.ts`) on a runtime.
 *
 * @param runtime Which runtime.
 * @returns The program and its arguments, to which the command's arguments are added.
 */
export function cliCommand(runtime: RuntimeName): [string, string[]] {
  const cli = join(ROOT, "cli.ts");
  return runtime === "deno"
    ? [RUNTIMES.deno, ["run", "-A", "--no-prompt", cli]]
    : [RUNTIMES.bun, [cli]];
}

/**
 * An `assert.throws`/`assert.rejects` validator: the error is an `IpcError` with this code.
 *
 * @param code The errno name, such as `"EBADF"`.
 * @returns The validator.
 */
export function isCode(code: string): (e: unknown) => true {
  return (e) => {
    assert.ok(e instanceof IpcError, `expected IpcError ${code}, got ${e}`);
    assert.equal(e.code, code);
    return true;
  };
}

/** What a finished fixture printed. */
export interface FixtureResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a fixture script to completion in a second process (through `node:child_process`,
 * independent of sysipc's own `spawn`).
 *
 * @param runtime Which runtime.
 * @param fixture The fixture's file name.
 * @param args Arguments for the script.
 * @param timeoutMs Kill it after this long.
 * @param extra Extra environment variables, and extra flags for `deno run`.
 * @returns Exit code and output.
 */
export function runFixture(
  runtime: RuntimeName,
  fixture: string,
  args: string[] = [],
  timeoutMs = 20_000,
  extra: { env?: Record<string, string>; denoFlags?: string[] } = {},
): Promise<FixtureResult> {
  const [command, argv] = fixtureCommand(runtime, fixture, args, extra.denoFlags);
  const env = { ...process.env, ...extra.env };
  const options = { timeout: timeoutMs, encoding: "utf8" as const, env };
  return new Promise((resolve) => {
    execFile(command, argv, options, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Whether a command is installed (found in `PATH`).
 *
 * @param name The command.
 * @returns `true` when `command -v` finds it.
 */
export function hasCommand(name: string): boolean {
  return spawnSync("sh", ["-c", 'command -v "$0"', name]).status === 0;
}

let counter = 0;

/**
 * A name no other test or process uses.
 *
 * @param prefix What the name is for.
 * @returns Such as `fifo-1234-5-k3j`.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 7)}`;
}

/**
 * Makes a temporary directory and returns it with a cleanup.
 *
 * @returns The directory's path and a disposer that removes it.
 */
export function tempDir(): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), "sysipc-test-"));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * The descriptors this process has open, with what they point at, leaving out the wait
 * engine's and the signal recorder's own (opened once for the life of the process) and
 * copies of them.
 *
 * @returns fd → link target.
 */
export function openFds(): Map<number, string> {
  const skip = new Set([...engineFds(), ...recorderFds()]);
  // Bun's stream reader of the engine's doorbell holds a copy of its descriptor, under
  // another number that changes when the doorbell is watched anew: skip the same pipe.
  const engineTargets = new Set<string>();
  for (const fd of skip) {
    try {
      engineTargets.add(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  const fds = new Map<number, string>();
  for (const entry of readdirSync("/proc/self/fd")) {
    const fd = Number(entry);
    if (skip.has(fd)) continue;
    try {
      const target = readlinkSync(`/proc/self/fd/${entry}`);
      if (!engineTargets.has(target)) fds.set(fd, target);
    } catch {
      // the descriptor readdir itself used, closed by now
    }
  }
  return fds;
}

/**
 * Runs `body` and asserts that it left no sysipc descriptor (pipe, FIFO, pidfd, anonymous
 * inode) open that was not open before.
 *
 * @param body The test body.
 */
export async function noLeak(body: () => unknown): Promise<void> {
  const before = openFds();
  await body();
  // Let the runtime finish closing what it was asked to close.
  await new Promise((r) => setTimeout(r, 10));
  const after = openFds();
  const leaked = [...after].filter(([fd, target]) =>
    before.get(fd) !== target && /^(pipe:|anon_inode:|\/)/.test(target) &&
    !/\/dev\/(u?random|null)|node_modules|\.so/.test(target)
  );
  if (leaked.length > 0) {
    throw new Error(`descriptors left open: ${leaked.map(([fd, t]) => `${fd} → ${t}`).join(", ")}`);
  }
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @param ms Milliseconds.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Settles like `promise`, or fails as hung once `ms` pass.
 *
 * @param promise What to wait for.
 * @param ms The most it may take.
 * @param what What it is, for the error.
 * @returns What `promise` gives.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: ${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

/**
 * Reads from a reader until end of stream and decodes it as UTF-8.
 *
 * @param reader Anything with sysipc's async `read`.
 * @returns The text.
 */
export async function readAll(
  reader: { read(into: Uint8Array): Promise<number | null> },
): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  while (true) {
    const n = await reader.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/**
 * Compiles a C program of tests/fixtures with gcc into `dir`, for tests whose peer is a C
 * program (skip them with `hasCommand("gcc")` first).
 *
 * @param source The C file's name in tests/fixtures.
 * @param dir Where the binary goes.
 * @returns The binary's path.
 */
export function compileC(source: string, dir: string): string {
  const out = join(dir, source.replace(/\.c$/, ""));
  const r = spawnSync(
    "gcc",
    [
      "-std=gnu11",
      "-O2",
      "-Wall",
      "-Wextra",
      "-o",
      out,
      join(ROOT, "tests", "fixtures", source),
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`gcc ${source} failed:\n${r.stderr}`);
  return out;
}

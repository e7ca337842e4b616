/**
 * Shared by the benchmark scripts (it measures nothing itself): which runtime runs the
 * script, how to start another bench script on a runtime, and the result line every
 * measurement prints. Only benchmarks ask which runtime they are on; the library never does.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { execPath } from "node:process";
import { fileURLToPath } from "node:url";
import { platform } from "../mod.ts";

/** A runtime the benchmarks run on. */
export type RuntimeName = "deno" | "bun";

/** The runtime running this script. */
export const CURRENT: RuntimeName = platform.runtime;

/** The bench directory. */
export const BENCH_DIR: string = dirname(fileURLToPath(import.meta.url));

/** The repository's root. */
export const ROOT: string = dirname(BENCH_DIR);

/** Size of every message, in bytes. */
export const MESSAGE_SIZE = 64;

/** Size of each message of the shared-memory streaming benchmark (bench/shm.ts). */
export const STREAM_SIZE = 65536;

/**
 * The binary of a runtime: the one running this script for the current runtime, otherwise
 * the one `npm ci` put in node_modules/.bin, otherwise its name (looked up in `PATH`).
 *
 * @param runtime Which runtime.
 * @returns A path or a command name.
 */
export function runtimeBinary(runtime: RuntimeName): string {
  if (runtime === CURRENT) return execPath;
  const local = join(ROOT, "node_modules", ".bin", runtime);
  return existsSync(local) ? local : runtime;
}

/**
 * The command line that runs a script of this directory on a runtime.
 *
 * @param runtime Which runtime.
 * @param script The script's file name in bench/.
 * @param args Arguments for the script.
 * @param binary The runtime's binary. Default: {@linkcode runtimeBinary}.
 * @returns The program and its arguments.
 */
export function scriptCommand(
  runtime: RuntimeName,
  script: string,
  args: string[],
  binary: string = runtimeBinary(runtime),
): [string, string[]] {
  const path = join(BENCH_DIR, script);
  return runtime === "deno"
    ? [binary, ["run", "-A", "--no-prompt", path, ...args]]
    : [binary, [path, ...args]];
}

/**
 * A command line run under `taskset -c cpu` (util-linux), or unchanged without a CPU.
 *
 * @param cpu The CPU to pin the process (and its children) to, or `undefined`.
 * @param command The program and its arguments.
 * @returns The program and its arguments.
 */
export function pinned(
  cpu: number | undefined,
  [program, args]: [string, string[]],
): [string, string[]] {
  return cpu === undefined ? [program, args] : ["taskset", ["-c", String(cpu), program, ...args]];
}

/** The machine-readable line each measurement prints (as JSON) on stdout. */
export interface Result {
  /** What is measured: `"pipe"` or `"unix"`. */
  bench: string;
  /** The case's name in the table, such as `"deno-async"`. */
  case: string;
  /** `"c"`, `"deno"` or `"bun"`. */
  runtime: string;
  /** The reading policy or API. */
  mode: string;
  /** Measured round trips. */
  messages: number;
  /** Round trips before the measurement. */
  warmup: number;
  /** The wait spin in microseconds (0 when not applicable). */
  spin_us: number | "default";
  /** Mean round-trip time in microseconds. */
  mean_us: number;
  /** The sysipc wait engine, for the sysipc cases. */
  engine?: string;
}

/**
 * Throws unless a finished child exited with code 0.
 *
 * @param what Names the child in the error.
 * @param status How it ended.
 */
export function checkExit(
  what: string,
  status: { code: number | null; signal: string | null },
): void {
  if (status.code !== 0) {
    throw new Error(
      `${what} failed: ${
        status.signal === null ? `exit code ${status.code}` : `killed by ${status.signal}`
      }`,
    );
  }
}

/**
 * Parses a non-negative integer option.
 *
 * @param value The option's text.
 * @param name The option, for the error.
 * @param min The smallest value allowed. Default 0.
 * @returns The number.
 */
export function intOption(value: string, name: string, min = 0): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Compiles a C program of this directory with `gcc -O2 -Wall -Wextra`.
 *
 * @param source The C file's name in bench/.
 * @param binary Where the program goes.
 * @returns Why it cannot be compiled on this machine (gcc or a header is missing), or
 *   `undefined` once compiled.
 * @throws {Error} When gcc fails for another reason.
 */
export function compileC(source: string, binary: string): string | undefined {
  const r = spawnSync("gcc", ["-O2", "-Wall", "-Wextra", "-o", binary, join(BENCH_DIR, source)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  });
  if ((r.error as { code?: string } | undefined)?.code === "ENOENT") return "gcc is not installed";
  const header = /fatal error: (\S+): No such file or directory/.exec(r.stderr ?? "");
  if (header) return `the C header <${header[1]}> is not installed`;
  if (r.error || r.status !== 0) throw new Error(`gcc failed: ${r.error?.message ?? r.stderr}`);
  return undefined;
}

/**
 * Runs a command to completion.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param timeoutMs Kill it (SIGKILL) after this long.
 * @returns Its stdout.
 * @throws {Error} With what went wrong when it fails, is killed or exits with another code
 *   than 0.
 */
export function run(command: string, args: string[], timeoutMs: number): string {
  const r = spawnSync(command, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  if (r.error) throw new Error(`${command}: ${r.error.message}`);
  if (r.status !== 0) {
    const why = r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`;
    throw new Error(`${[command, ...args].join(" ")}: ${why}\n${r.stderr.trim()}`);
  }
  return r.stdout;
}

/**
 * The first line of a command's output, such as its version.
 *
 * @param command The program.
 * @param args Its arguments.
 * @returns The line, or `"unknown"` when it cannot run.
 */
export function version(command: string, args: string[]): string {
  try {
    return run(command, args, 30_000).split("\n")[0]!.trim();
  } catch {
    return "unknown";
  }
}

/**
 * The median of the finite numbers of a list.
 *
 * @param xs The numbers (NaN and infinities are left out).
 * @returns The median, or NaN when there is none.
 */
export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

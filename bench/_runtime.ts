/**
 * Shared by the benchmark scripts (it measures nothing itself): which runtime runs the
 * script, how to start another bench script on a runtime, pinned or not, and running a
 * command. Only benchmarks ask which runtime they are on; the library never does.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus } from "node:os";
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
 * Runs a command to completion.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param timeoutMs Kill it (SIGKILL) after this long.
 * @returns Its stdout.
 * @throws {Error} With what went wrong, when it could not run or did not exit with 0.
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
 * The first line of a command's output.
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

/** Where the two processes of each measured pair run, from `--pin`. */
export interface Placement {
  /** The CPU of the process the driver starts, or `undefined` for anywhere. */
  parentCpu?: number;
  /** The CPU of its child (passed as `--peer-cpu`), or `undefined` for anywhere. */
  peerCpu?: number;
}

/**
 * Checks `--pin` and what it needs.
 *
 * @param pin `split` (parent on CPU 0, child on CPU 1), `same` (both on CPU 0) or `none`.
 * @returns The CPUs.
 * @throws {TypeError} For another value.
 * @throws {Error} When `split` has fewer than 2 CPUs, or pinning has no `taskset`.
 */
export function placement(pin: string | undefined): Placement {
  if (pin !== "none" && pin !== "same" && pin !== "split") {
    throw new TypeError(`--pin must be none, same or split, got ${JSON.stringify(pin)}`);
  }
  if (pin === "split" && cpus().length < 2) throw new Error("--pin split needs 2 CPUs");
  if (pin !== "none") {
    try {
      run("taskset", ["-c", "0", "true"], 30_000);
    } catch (e) {
      throw new Error(`--pin ${pin} needs taskset (util-linux); use --pin none without it`, {
        cause: e,
      });
    }
  }
  return { parentCpu: pin === "none" ? undefined : 0, peerCpu: pin === "split" ? 1 : undefined };
}

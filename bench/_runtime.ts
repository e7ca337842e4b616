/**
 * Shared by the benchmark scripts (it measures nothing itself): which runtime runs the
 * script, how to start another bench script on a runtime, and the result line every
 * measurement prints. Only benchmarks ask which runtime they are on; the library never does.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { cpus, release } from "node:os";
import { dirname, join } from "node:path";
import { execPath, exit } from "node:process";
import { parseArgs } from "node:util";
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

/**
 * The median.
 *
 * @param xs The numbers (not empty).
 * @returns Their median.
 */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
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

/** A measured case: a command that prints one {@linkcode Result} line. */
export interface BenchCase {
  /** Its name in the table. */
  name: string;
  /** The `case` its result line carries. Default: `name`. */
  prints?: string;
  /** The command line. */
  command: () => [string, string[]];
}

/** What {@linkcode runRounds} measured. */
export interface Rounds {
  /** Per case: one mean round trip in µs per round (NaN when that run failed). */
  samples: Map<string, number[]>;
  /** Per case: the wait engines its runs reported. */
  engines: Map<string, Set<string>>;
  /** What went wrong, a line each. */
  failures: string[];
  /** How long it all took. */
  seconds: number;
}

/**
 * Runs every case once per round, in the same order each round, so that each case is
 * measured close in time to its baselines, and reports each round on stderr.
 *
 * @param cases The cases.
 * @param rounds How many rounds.
 * @param messages The measured round trips each result must report.
 * @param parentCpu Where to pin each case's command, if anywhere.
 * @param timeoutMs The longest one run may take.
 * @returns The samples.
 */
export function runRounds(
  cases: readonly BenchCase[],
  rounds: number,
  messages: number,
  parentCpu: number | undefined,
  timeoutMs: number,
): Rounds {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const engines = new Map<string, Set<string>>();
  const failures: string[] = [];
  const started = performance.now();
  for (let round = 1; round <= rounds; round++) {
    const line: string[] = [];
    for (const c of cases) {
      let value = NaN;
      const program = c.command()[0];
      if (program.startsWith("/") && !existsSync(program)) {
        // A C baseline that could not be built (no gcc): skipped, not failed.
        samples.get(c.name)!.push(value);
        line.push(`${c.name} skipped`);
        continue;
      }
      try {
        const [command, args] = pinned(parentCpu, c.command());
        const out = run(command, args, timeoutMs).trim().split("\n").pop() ?? "";
        const result = JSON.parse(out) as Result;
        if (result.case !== (c.prints ?? c.name) || result.messages !== messages) {
          throw new Error(`${c.name}: unexpected result ${out}`);
        }
        value = result.mean_us;
        if (result.engine) {
          const set = engines.get(c.name) ?? new Set();
          engines.set(c.name, set.add(result.engine));
        }
      } catch (e) {
        failures.push(`round ${round}, ${c.name}: ${e instanceof Error ? e.message : e}`);
      }
      samples.get(c.name)!.push(value);
      line.push(`${c.name} ${Number.isNaN(value) ? "FAILED" : value.toFixed(1)}`);
    }
    console.error(`round ${round}/${rounds}: ${line.join(", ")}`);
  }
  return { samples, engines, failures, seconds: (performance.now() - started) / 1000 };
}

/**
 * The median over rounds of a case's ratio to a baseline measured in the same round.
 *
 * @param samples From {@linkcode runRounds}.
 * @param name The case.
 * @param baseline The baseline case.
 * @returns The ratio, or NaN when no round has both.
 */
export function medianRatio(
  samples: Map<string, number[]>,
  name: string,
  baseline: string,
): number {
  const xs = samples.get(name)!;
  const bs = samples.get(baseline)!;
  const rs = xs.map((x, i) => x / bs[i]!).filter((r) => Number.isFinite(r));
  return rs.length ? median(rs) : NaN;
}

/**
 * A table as text lines: a header, a rule, and the rows, in columns.
 *
 * @param table The header row, then the rows.
 * @param numeric Which columns to align right.
 * @returns The lines.
 */
export function renderTable(table: string[][], numeric: readonly boolean[]): string[] {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const render = (row: string[]) =>
    row.map((cell, i) => numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))
      .join("  ").trimEnd();
  return [
    render(table[0]!),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...table.slice(1).map(render),
  ];
}

/** The command-line options every driver takes. */
export interface DriverOptions extends Placement {
  /** Rounds of every case. */
  rounds: number;
  /** Measured round trips per case. */
  messages: number;
  /** Round trips before measuring. */
  warmup: number;
  /** `--pin` as given. */
  pin: string;
  /** Whether `--quick` was given. */
  quick: boolean;
  /** `--spin` as given, for drivers that take it. */
  spin?: string;
}

/**
 * Parses a driver's command line (printing the usage and exiting for `--help`).
 *
 * @param script The driver's file name, for the usage.
 * @param quickWarmup The warm-up of `--quick`.
 * @param spin Whether the driver takes `--spin`, and its help lines.
 * @returns The options, `--pin` checked.
 */
export function driverOptions(script: string, quickWarmup: number, spin?: string): DriverOptions {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string" },
      messages: { type: "string" },
      warmup: { type: "string" },
      pin: { type: "string", default: "split" },
      quick: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...(spin === undefined ? {} : { spin: { type: "string" as const } }),
    },
  });
  if (values.help) {
    console.log(
      `Usage: deno run -A bench/${script} | bun bench/${script}\n` +
        "  --rounds N    rounds of every case (default 5; --quick: 2)\n" +
        "  --messages N  measured round trips per case (default 10000; --quick: 2000)\n" +
        `  --warmup N    round trips before measuring (default 1000; --quick: ${quickWarmup})\n` +
        (spin ?? "") +
        "  --pin P       split: parent on CPU 0, child on CPU 1 (default); same: both on\n" +
        "                CPU 0; none: wherever the scheduler puts them (pinning needs taskset)\n" +
        "  --quick       a fast smoke run",
    );
    exit(0);
  }
  const quick = values.quick!;
  return {
    rounds: intOption(values.rounds ?? (quick ? "2" : "5"), "rounds", 1),
    messages: intOption(values.messages ?? (quick ? "2000" : "10000"), "messages", 1),
    warmup: intOption(values.warmup ?? (quick ? `${quickWarmup}` : "1000"), "warmup"),
    pin: values.pin!,
    quick,
    spin: (values as { spin?: string }).spin,
    ...placement(values.pin),
  };
}

/** What a benchmark ran on. */
export interface Versions {
  driver: RuntimeName;
  deno: string;
  bun: string;
  gcc: string;
  kernel: string;
  cpus: number;
}

/**
 * Compiles a C program of this directory into bench/out, and says what the run uses.
 * Without gcc the C cases are skipped, with one line saying so, and ratios to C are not
 * computed.
 *
 * @param source The C file's name in bench/.
 * @param binary Where the program goes.
 * @returns The versions of the runtimes, the compiler and the kernel, and the CPU count.
 */
export function prepare(source: string, binary: string): Versions {
  mkdirSync(dirname(binary), { recursive: true });
  rmSync(binary, { force: true });
  const compiled = spawnSync(
    "gcc",
    ["-O2", "-Wall", "-Wextra", "-o", binary, join(BENCH_DIR, source)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
  );
  if ((compiled.error as { code?: string } | undefined)?.code === "ENOENT") {
    console.error(
      "C baseline skipped: gcc is not installed (install gcc and libc6-dev); " +
        "ratios to C are not computed",
    );
  } else if (compiled.error || compiled.status !== 0) {
    throw new Error(`gcc failed: ${compiled.error?.message ?? compiled.stderr}`);
  }
  return {
    driver: CURRENT,
    deno: version(runtimeBinary("deno"), ["--version"]).replace(/^deno /, ""),
    bun: version(runtimeBinary("bun"), ["--version"]),
    gcc: version("gcc", ["--version"]),
    kernel: release(),
    cpus: cpus().length,
  };
}

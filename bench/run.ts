/**
 * The pipe benchmark driver: measures the round-trip time of a 64-byte message between two
 * processes through sysipc pipes on Deno and Bun (sync, async, async without spin),
 * against the C baseline (bench/pingpong.c: blocking, and spin-then-block like sysipc's
 * async reads) and against each runtime's built-in Unix-domain socket (with a C Unix
 * socket as its baseline), all in one run.
 *
 * Every case is a fresh pair of processes. The cases run in rounds, each round in the same
 * order (C block, C spin, Deno sync, Deno async, Deno async-nospin, Bun sync, Bun async, Bun
 * async-nospin, C Unix socket, Deno Unix built-in, Bun Unix built-in), so that every case
 * is measured close in time to its baselines (A B A B …). The table quotes each case's median, and its ratios to the
 * C baselines as the median of the per-round ratios (absolute times drift by ±30 % here;
 * ratios taken in the same round do not). Targets: sync ≤ 1.2× C block; async ≤ 1.5× C
 * block too (the C program doing the same ping-pong); async-nospin and the C spin baseline
 * are shown for information.
 *
 * Where the two processes run decides the result more than anything else on this VM: a C
 * pipe round trip takes ≈ 6 µs when both share a CPU and ≈ 70 µs when they are on two
 * (the wake-up of an idle virtual CPU), and unpinned runs flip between the two from one
 * run to the next, which makes ratios a lottery. So by default every pair is pinned with
 * `taskset`, parent on CPU 0 and child on CPU 1 (`--pin split`); `--pin same` puts both on
 * CPU 0 and `--pin none` leaves placement to the scheduler.
 *
 * Writes every sample to bench/out/pipe.json.
 *
 * Usage: deno run -A bench/run.ts | bun bench/run.ts
 *   [--rounds 5] [--messages 10000] [--warmup 1000] [--spin 50] [--pin split|same|none]
 *   [--quick]
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  BENCH_DIR,
  type BenchCase,
  CURRENT,
  driverOptions,
  intOption,
  median,
  medianRatio,
  prepare,
  renderTable,
  runRounds,
  type RuntimeName,
  scriptCommand,
} from "./_runtime.ts";

const options = driverOptions(
  "run.ts",
  500,
  "  --spin US     spin limit of the async cases (default: the library's, 1000 µs,\n" +
    "                adapted per handle); the C spin case spins this long (default 50)\n",
);
const { rounds, messages, warmup, quick, pin, parentCpu, peerCpu } = options;
const spin = options.spin === undefined ? undefined : intOption(options.spin, "spin");
const cSpin = spin ?? 50;

const OUT_DIR = join(BENCH_DIR, "out");
const C_BINARY = join(OUT_DIR, "pingpong");
const JSON_PATH = join(OUT_DIR, "pipe.json");

/** The C baselines, each a column of ratios in the table. */
const BASELINES = ["c-block", "c-spin", "c-unix"] as const;
type Baseline = typeof BASELINES[number];

/** One row of the table. */
interface Case extends BenchCase {
  runtime: "c" | RuntimeName;
  /** The baselines whose ratio columns are filled in for this row (C block always is). */
  compare: Baseline[];
  /** The target, as the largest ratio allowed to a baseline. */
  target?: { baseline: Baseline; max: number };
}

const common = [
  "--messages",
  String(messages),
  "--warmup",
  String(warmup),
  ...(peerCpu === undefined ? [] : ["--peer-cpu", String(peerCpu)]),
];

function pipeCase(runtime: RuntimeName, mode: "sync" | "async" | "async-nospin"): Case {
  return {
    name: `${runtime}-${mode}`,
    runtime,
    command: () =>
      scriptCommand(runtime, "pipe_pingpong.ts", [
        "--mode",
        mode,
        ...common,
        ...(spin === undefined ? [] : ["--spin", `${spin}`]),
      ]),
    compare: mode === "sync" ? [] : ["c-spin"],
    // The targets compare with the C program doing the same ping-pong with blocking
    // reads. async-nospin (parking at once, no spin) is shown for information.
    target: mode === "sync"
      ? { baseline: "c-block", max: 1.2 }
      : mode === "async"
      ? { baseline: "c-block", max: 1.5 }
      : undefined,
  };
}

function builtinCase(runtime: RuntimeName): Case {
  return {
    name: `${runtime}-unix-builtin`,
    runtime,
    command: () => scriptCommand(runtime, "builtin_unix.ts", common),
    compare: ["c-unix"],
  };
}

function cCase(mode: "block" | "spin" | "unix"): Case {
  return {
    name: `c-${mode}`,
    runtime: "c",
    command: () => [C_BINARY, [mode, `${messages}`, `${warmup}`, `${cSpin}`, `${peerCpu ?? -1}`]],
    compare: [`c-${mode}`],
  };
}

const CASES: Case[] = [
  cCase("block"),
  cCase("spin"),
  pipeCase("deno", "sync"),
  pipeCase("deno", "async"),
  pipeCase("deno", "async-nospin"),
  pipeCase("bun", "sync"),
  pipeCase("bun", "async"),
  pipeCase("bun", "async-nospin"),
  cCase("unix"),
  builtinCase("deno"),
  builtinCase("bun"),
];

// ---------------------------------------------------------------------------------------

const versions = prepare("pingpong.c", C_BINARY);
console.error(
  `pipe ping-pong: ${rounds} rounds × ${messages} round trips (+${warmup} warm-up), ` +
    `64-byte messages, spin ${spin ?? "default"} µs (C spin ${cSpin}), pin ${pin}; ` +
    `deno ${versions.deno}, ` +
    `bun ${versions.bun}, Linux ${versions.kernel}, ${versions.cpus} CPUs`,
);

const timeoutMs = 60_000 + (warmup + messages) * 5;
const { samples, engines, failures, seconds } = runRounds(
  CASES,
  rounds,
  messages,
  parentCpu,
  timeoutMs,
);

/** The median over rounds of the case's ratio to a baseline measured in the same round. */
const ratio = (name: string, baseline: Baseline) => medianRatio(samples, name, baseline);

const rows = CASES.map((c) => {
  const xs = samples.get(c.name)!.filter((x) => !Number.isNaN(x));
  const ratios = Object.fromEntries(
    BASELINES.map((b) => [b, b === "c-block" || c.compare.includes(b) ? ratio(c.name, b) : NaN]),
  ) as Record<Baseline, number>;
  const t = c.target;
  const measured = t ? ratios[t.baseline] : NaN;
  const verdict = !t ? "" : Number.isNaN(measured) ? "n/a" : measured <= t.max ? "pass" : "MISS";
  return {
    case: c.name,
    samples_us: samples.get(c.name)!,
    median_us: xs.length ? median(xs) : NaN,
    min_us: xs.length ? Math.min(...xs) : NaN,
    max_us: xs.length ? Math.max(...xs) : NaN,
    ratios,
    target: t ? `≤ ${t.max}× ${t.baseline.replace("-", " ")}` : "",
    verdict,
    engines: [...(engines.get(c.name) ?? [])],
  };
});

// ---------------------------------------------------------------------------------------

const fmt = (x: number, digits: number) => Number.isNaN(x) ? "–" : x.toFixed(digits);
const table = [
  ["case", "median µs", "min–max µs", "× C block", "× C spin", "× C unix", "target", "verdict"],
  ...rows.map((r) => [
    r.case,
    fmt(r.median_us, 1),
    `${fmt(r.min_us, 1)}–${fmt(r.max_us, 1)}`,
    ...BASELINES.map((b) => Number.isNaN(r.ratios[b]) ? "" : fmt(r.ratios[b], 2)),
    r.target,
    r.verdict,
  ]),
];
const numeric = [false, true, true, true, true, true, false, false];
console.log(
  `\nPipe ping-pong, 64-byte messages: ${rounds} rounds × ${messages} round trips ` +
    `(pin ${pin}, driver ${CURRENT}, ${seconds.toFixed(0)} s)`,
);
for (const line of renderTable(table, numeric)) console.log(line);
console.log(
  "Ratios are medians of per-round ratios. c-unix and the *-unix-builtin rows are Unix " +
    "stream sockets,\nnot pipes: they show what each runtime offers built in, not a target.",
);
const notIoUring = rows.filter((r) => r.engines.some((e) => e !== "io_uring"));
if (notIoUring.length) {
  console.log(`Wait engine was not io_uring for: ${notIoUring.map((r) => r.case).join(", ")}`);
}
if (failures.length) {
  console.log(`\n${failures.length} failed run(s):`);
  for (const f of failures) console.log(`  ${f}`);
}

writeFileSync(
  JSON_PATH,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      config: {
        rounds,
        messages,
        warmup,
        spin_us: spin ?? "default",
        pin,
        message_bytes: 64,
        quick,
      },
      versions,
      seconds: Math.round(seconds),
      order: CASES.map((c) => c.name),
      results: rows.map((r) => ({
        ...r,
        // JSON has no NaN: failed samples and missing ratios become null.
        samples_us: r.samples_us.map((x) => Number.isNaN(x) ? null : x),
        median_us: Number.isNaN(r.median_us) ? null : r.median_us,
        min_us: Number.isNaN(r.min_us) ? null : r.min_us,
        max_us: Number.isNaN(r.max_us) ? null : r.max_us,
        ratios: Object.fromEntries(
          BASELINES.map((b) => [b, Number.isNaN(r.ratios[b]) ? null : round3(r.ratios[b])]),
        ),
      })),
      failures,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nWrote ${JSON_PATH}`);
if (failures.length) process.exit(1);

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

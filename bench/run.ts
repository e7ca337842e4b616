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
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  BENCH_DIR,
  compileC,
  CURRENT,
  intOption,
  median,
  pinned,
  type Result,
  run,
  runtimeBinary,
  type RuntimeName,
  scriptCommand,
  version,
} from "./_runtime.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string" },
    messages: { type: "string" },
    warmup: { type: "string" },
    spin: { type: "string" },
    pin: { type: "string", default: "split" },
    quick: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A bench/run.ts | bun bench/run.ts\n" +
      "  --rounds N    rounds of every case (default 5; --quick: 2)\n" +
      "  --messages N  measured round trips per case (default 10000; --quick: 2000)\n" +
      "  --warmup N    round trips before measuring (default 1000; --quick: 500)\n" +
      "  --spin US     spin limit of the async cases (default: the library's, 1000 µs,\n" +
      "                adapted per handle); the C spin case spins this long (default 50)\n" +
      "  --pin P       split: parent on CPU 0, child on CPU 1 (default); same: both on\n" +
      "                CPU 0; none: wherever the scheduler puts them (pinning needs taskset)\n" +
      "  --quick       a fast smoke run",
  );
  process.exit(0);
}
const quick = values.quick;
const rounds = intOption(values.rounds ?? (quick ? "2" : "5"), "rounds", 1);
const messages = intOption(values.messages ?? (quick ? "2000" : "10000"), "messages", 1);
const warmup = intOption(values.warmup ?? (quick ? "500" : "1000"), "warmup");
const spin = values.spin === undefined ? undefined : intOption(values.spin, "spin");
const cSpin = spin ?? 50;
const pin = values.pin;
if (pin !== "none" && pin !== "same" && pin !== "split") {
  throw new TypeError(`--pin must be none, same or split, got ${JSON.stringify(pin)}`);
}
/** The CPU the parent of each pair runs on, and the one its child runs on. */
const parentCpu = pin === "none" ? undefined : 0;
const peerCpu = pin === "split" ? 1 : undefined;
if (pin === "split" && cpus().length < 2) throw new Error("--pin split needs 2 CPUs");

const OUT_DIR = join(BENCH_DIR, "out");
const C_BINARY = join(OUT_DIR, "pingpong");
const JSON_PATH = join(OUT_DIR, "pipe.json");

/** The C baselines, each a column of ratios in the table. */
const BASELINES = ["c-block", "c-spin", "c-unix"] as const;
type Baseline = typeof BASELINES[number];

/** One row of the table. */
interface Case {
  name: string;
  runtime: "c" | RuntimeName;
  command: () => [string, string[]];
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

mkdirSync(OUT_DIR, { recursive: true });

/** Why the C baseline is skipped, if it is. */
const noC = compileC("pingpong.c", C_BINARY);
if (noC) {
  console.error(
    `C baseline skipped: ${noC} (install gcc and libc6-dev); ratios to C are not computed`,
  );
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
].filter((c) => c.runtime !== "c" || !noC);

// ---------------------------------------------------------------------------------------

if (pin !== "none") {
  try {
    run("taskset", ["-c", "0", "true"], 30_000);
  } catch (e) {
    throw new Error(`--pin ${pin} needs taskset (util-linux); use --pin none without it`, {
      cause: e,
    });
  }
}

const versions = {
  driver: CURRENT,
  deno: version(runtimeBinary("deno"), ["--version"]),
  bun: version(runtimeBinary("bun"), ["--version"]),
  gcc: version("gcc", ["--version"]),
  kernel: release(),
  cpus: cpus().length,
};
console.error(
  `pipe ping-pong: ${rounds} rounds × ${messages} round trips (+${warmup} warm-up), ` +
    `64-byte messages, spin ${spin ?? "default"} µs (C spin ${cSpin}), pin ${pin}; deno ${
      versions.deno.replace(/^deno /, "")
    }, ` +
    `bun ${versions.bun}, Linux ${versions.kernel}, ${versions.cpus} CPUs`,
);

/** Per case: one sample per round (NaN when the round failed). */
const samples = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
const engines = new Map<string, Set<string>>();
const failures: string[] = [];
const timeoutMs = 60_000 + (warmup + messages) * 5;
const started = performance.now();

for (let round = 1; round <= rounds; round++) {
  const line: string[] = [];
  for (const c of CASES) {
    let value = NaN;
    try {
      const [command, args] = pinned(parentCpu, c.command());
      const out = run(command, args, timeoutMs).trim().split("\n").pop() ?? "";
      const result = JSON.parse(out) as Result;
      if (result.case !== c.name || result.messages !== messages) {
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
const seconds = (performance.now() - started) / 1000;

/** The median over rounds of the case's ratio to a baseline measured in the same round. */
function ratio(name: string, baseline: Baseline): number {
  const xs = samples.get(name)!;
  const bs = samples.get(baseline);
  if (!bs) return NaN; // the C baseline did not run
  const rs = xs.map((x, i) => x / bs[i]!).filter((r) => Number.isFinite(r));
  return rs.length ? median(rs) : NaN;
}

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
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
const numeric = [false, true, true, true, true, true, false, false];
const render = (row: string[]) =>
  row.map((cell, i) => numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))
    .join("  ").trimEnd();
console.log(
  `\nPipe ping-pong, 64-byte messages: ${rounds} rounds × ${messages} round trips ` +
    `(pin ${pin}, driver ${CURRENT}, ${seconds.toFixed(0)} s)`,
);
console.log(render(table[0]!));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of table.slice(1)) console.log(render(row));
console.log(
  "Ratios are medians of per-round ratios. c-unix and the *-unix-builtin rows are Unix " +
    "stream sockets,\nnot pipes: they show what each runtime offers built in, not a target.",
);
const notIoUring = rows.filter((r) => r.engines.some((e) => e !== "io_uring"));
if (notIoUring.length) {
  console.log(`Wait engine was not io_uring for: ${notIoUring.map((r) => r.case).join(", ")}`);
}
if (noC) console.log(`C baseline skipped: ${noC}.`);
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

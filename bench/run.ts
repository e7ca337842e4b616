/**
 * The benchmark suite: every sysipc mechanism, on Deno and on Bun, in both CPU placements,
 * against C doing the same exchange and against the runtimes' built-in alternatives, in
 * one run. See bench/README section in the repository's README ("Benchmarks") and
 * bench/RESULTS.md for the latest full run.
 *
 * How it runs: the cases (bench/catalog.ts) come in groups; one pair of processes runs a
 * group's cases one after the other (bench/side.ts on Deno and Bun, bench/baseline.c for
 * C, compiled here with gcc). Every round runs every group for C, Deno and Bun in turn, in
 * each placement, so each case is measured close in time to its baselines (A B A B …), and
 * its ratios are taken per round and their median quoted: absolute times drift ±30 % on
 * the project's VM, ratios taken in the same round much less. Each case warms up first,
 * then times every message (small fast ones in batches) and reports p50 and p99; the
 * receiver checks every message (bench/groups/_common.ts). `/proc` is sampled meanwhile
 * to report where each process's threads really ran (bench/observe.ts). Then the FFI
 * micro-benchmarks (bench/ffi_bench.ts) and the allocation check (bench/alloc.ts) run.
 *
 * Writes bench/out/results.json (one record per case), results.md (the tables) and
 * ratios.svg (the chart); with `--results`, also bench/RESULTS.md and bench/ratios.svg.
 *
 * Usage: deno run -A bench/run.ts | bun bench/run.ts | npm run bench [-- options]
 *   --quick            about two minutes (fewer messages, one round)
 *   --rounds N         rounds (default 5; --quick: 1)
 *   --pin P            both (default), split (parent on CPU 0, child on CPU 1), same (both
 *                      on CPU 0), none (no pinning; pinning needs taskset)
 *   --only LIST        groups to run: pipe,fifo,uds,shm,mq,sem,signal,unix,worker,ipc,port
 *   --runtimes LIST    deno,bun (default both)
 *   --messages N, --warmup N   the scale: round trips of a small case (default 4000 and
 *                      1000; --quick: 1000 and 500). On Deno and Bun, the first case of
 *                      each mechanism, mode and kind (small or large messages) warms up 50
 *                      times longer (--quick: 4), so that the JIT compilers are done with
 *                      its code.
 *   --no-micro         skip the FFI micro-benchmarks and the allocation check
 *   --out DIR          where the outputs go (default bench/out)
 *   --results          also write bench/RESULTS.md and bench/ratios.svg
 *   --note TEXT        a line about the run's conditions for RESULTS.md (for example
 *                      "the machine was shared with other test runs")
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import {
  BENCH_DIR,
  CURRENT,
  intOption,
  pinned,
  placement,
  run,
  runtimeBinary,
  type RuntimeName,
  scriptCommand,
  version,
} from "./_runtime.ts";
import {
  type CaseDef,
  FULL,
  groupCases,
  type GroupName,
  GROUPS,
  type Impl,
  keyOf,
  QUICK,
  type Scale,
} from "./catalog.ts";
import type { CaseResult } from "./groups/_common.ts";
import { placementName, PlacementObserver } from "./observe.ts";
import { buildRecords, type Meta, type Micro, type Sample, writeReports } from "./report.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    pin: { type: "string", default: "both" },
    only: { type: "string" },
    runtimes: { type: "string", default: "deno,bun" },
    messages: { type: "string" },
    warmup: { type: "string" },
    "no-micro": { type: "boolean", default: false },
    out: { type: "string", default: join(BENCH_DIR, "out") },
    results: { type: "boolean", default: false },
    note: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  const doc = readFileSync(new URL(import.meta.url), "utf8");
  console.log(/Usage:[\s\S]*?(?=\n \*\n \* @module)/.exec(doc)![0].replace(/^ \* ?/gm, ""));
  process.exit(0);
}

const quick = values.quick!;
const base = quick ? QUICK : FULL;
const scale: Scale = {
  messages: intOption(values.messages ?? `${base.messages}`, "messages", 1),
  warmup: intOption(values.warmup ?? `${base.warmup}`, "warmup"),
  firstWarmup: base.firstWarmup,
};
const rounds = intOption(values.rounds ?? (quick ? "1" : "5"), "rounds", 1);
const pins = values.pin === "both" ? ["split", "same"] : [values.pin!];
const placements = pins.map((pin) => ({ pin, ...placement(pin) })); // checks --pin
const runtimes = values.runtimes!.split(",").filter(Boolean) as RuntimeName[];
for (const r of runtimes) {
  if (r !== "deno" && r !== "bun") throw new TypeError(`--runtimes: unknown runtime ${r}`);
}
const groups = values.only === undefined ? GROUPS : values.only.split(",").map((g) => {
  if (!GROUPS.includes(g as GroupName)) throw new TypeError(`--only: unknown group ${g}`);
  return g as GroupName;
});
const OUT = values.out!;
mkdirSync(OUT, { recursive: true });

// ---- the C baselines, compiled here ---------------------------------------------------

const C_BINARY = join(OUT, "baseline");
let noC: string | undefined;
try {
  run("gcc", ["-O2", "-Wall", "-Wextra", "-o", C_BINARY, join(BENCH_DIR, "baseline.c")], 120_000);
} catch (e) {
  noC = `gcc could not build bench/baseline.c (install gcc and libc6-dev): ${
    e instanceof Error ? e.message.split("\n")[0] : e
  }`;
  console.error(`C baselines skipped: ${noC}`);
}
const impls: Impl[] = [...(noC || !existsSync(C_BINARY) ? [] : ["c" as const]), ...runtimes];

// ---- the plan: launches in order ------------------------------------------------------

interface Launch {
  round: number;
  pin: string;
  parentCpu?: number;
  peerCpu?: number;
  group: GroupName;
  impl: Impl;
  cases: CaseDef[];
}

const plan: Launch[] = [];
for (let round = 0; round < rounds; round++) {
  for (const p of placements) {
    for (const group of groups) {
      for (const impl of impls) {
        const cases = groupCases(group, impl, scale);
        if (cases.length > 0) plan.push({ round, ...p, group, impl, cases });
      }
    }
  }
}
const totalCases = plan.reduce((n, l) => n + l.cases.length, 0);

// ---- running one launch ---------------------------------------------------------------

/** What one launch gave. */
interface Outcome {
  results: CaseResult[];
  placement: string;
  error?: string;
}

/** A pair that takes longer has hung (a bug): it is killed, and the run goes on. */
const LAUNCH_TIMEOUT = (quick ? 3 : 20) * 60_000;

function command(l: Launch): [string, string[]] {
  const spec = l.cases.map((c) => `${keyOf(c)}:${c.messages}:${c.warmup}:${c.batch}`).join(",");
  const inner: [string, string[]] = l.impl === "c"
    ? [C_BINARY, [l.group, String(l.peerCpu ?? -1), spec]]
    : scriptCommand(l.impl, "side.ts", [
      l.group,
      "--cases",
      spec,
      ...(l.peerCpu === undefined ? [] : ["--peer-cpu", String(l.peerCpu)]),
    ]);
  return pinned(l.parentCpu, inner);
}

function runLaunch(l: Launch, onCase: (c: CaseDef) => void): Promise<Outcome> {
  const [program, args] = command(l);
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const observer = new PlacementObserver();
  const results: CaseResult[] = [];
  let stderr = "";
  child.stderr!.on("data", (d) => stderr = (stderr + d).slice(-4000));
  const lines = createInterface({ input: child.stdout! });
  let problem: string | undefined;
  lines.on("line", (line) => {
    let parsed: { pids?: number[] } & Partial<CaseResult>;
    try {
      parsed = JSON.parse(line);
    } catch {
      problem ??= `not a result: ${line.slice(0, 200)}`;
      return;
    }
    if (parsed.pids) return observer.watch(parsed.pids);
    observer.sample();
    const expected = l.cases[results.length];
    if (expected === undefined || parsed.case !== keyOf(expected)) {
      problem ??= `unexpected result ${line.slice(0, 200)}`;
      return;
    }
    results.push(parsed as CaseResult);
    onCase(expected);
  });
  const sampler = setInterval(() => observer.sample(), 50);
  const timer = setTimeout(() => {
    problem ??= `timed out after ${LAUNCH_TIMEOUT / 1000} s`;
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch { /* gone */ }
  }, LAUNCH_TIMEOUT);
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      if (code !== 0 || results.length !== l.cases.length) {
        problem ??= `${
          signal ?? `exit code ${code}`
        } after ${results.length} of ${l.cases.length} cases`;
      }
      const error = problem === undefined
        ? undefined
        : `${problem}${
          stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : ""
        }`;
      resolve({ results, placement: placementName(observer.processes), error });
    });
  });
}

// ---- progress -------------------------------------------------------------------------

const tty = process.stderr.isTTY === true;
const started = performance.now();
let doneCases = 0;
function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
function progress(l: Launch, c: CaseDef | undefined, index: number): void {
  const elapsed = (performance.now() - started) / 1000;
  const left = doneCases === 0
    ? ""
    : `, about ${clock(elapsed * (totalCases / doneCases - 1))} left`;
  const what = c ? `${c.mech} ${c.mode} ${c.kind} ${c.size} B` : "starting";
  const line = `[${doneCases}/${totalCases}] round ${l.round + 1}/${rounds} ${l.pin} · ` +
    `launch ${index + 1}/${plan.length} ${l.impl} ${l.group}: ${what} · ${clock(elapsed)}${left}`;
  if (tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
  else if (c === undefined) console.error(line);
}

// ---- the run ----------------------------------------------------------------------------

const load0 = loadavg();
const versions = {
  driver: CURRENT,
  deno: version(runtimeBinary("deno"), ["--version"]).replace(/^deno /, ""),
  bun: version(runtimeBinary("bun"), ["--version"]),
  gcc: noC ? "none" : version("gcc", ["--version"]),
  kernel: release(),
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? "unknown",
};
console.error(
  `sysipc benchmark suite: ${quick ? "quick" : "full"}, ${rounds} round(s), pin ${
    pins.join(" and ")
  }, ` +
    `${plan.length} launches, ${totalCases} cases; deno ${versions.deno}, bun ${versions.bun}, ` +
    `Linux ${versions.kernel}, ${versions.cpus} CPUs, load ${
      load0.map((x) => x.toFixed(2)).join(" ")
    }`,
);

const samples = new Map<string, (Sample | null)[]>();
const observed = new Map<string, Set<string>>();
const failures: string[] = [];
for (const [index, l] of plan.entries()) {
  progress(l, undefined, index);
  const outcome = await runLaunch(l, (c) => {
    doneCases++;
    progress(l, c, index);
  });
  if (outcome.error) {
    failures.push(`round ${l.round + 1} ${l.pin} ${l.impl} ${l.group}: ${outcome.error}`);
    if (tty) process.stderr.write("\n");
    console.error(`FAILED: ${failures.at(-1)}`);
    doneCases += l.cases.length - outcome.results.length;
  }
  for (const [i, c] of l.cases.entries()) {
    const id = `${l.pin}|${l.impl}|${keyOf(c)}`;
    const list = samples.get(id) ?? Array(rounds).fill(null);
    const r = outcome.results[i];
    list[l.round] = r === undefined ? null : {
      mean_ns: r.mean_ns,
      p50_ns: r.p50_ns,
      p99_ns: r.p99_ns,
      bytes: r.bytes,
      messages: r.messages,
      engine: r.engine,
    };
    samples.set(id, list);
    const seen = observed.get(id) ?? new Set();
    observed.set(id, seen.add(outcome.placement));
  }
}
if (tty) process.stderr.write("\n");
const seconds = (performance.now() - started) / 1000;

// ---- the micro-benchmarks -------------------------------------------------------------

let micro: Micro | undefined;
if (!values["no-micro"]) {
  micro = { ffi: {}, alloc: {} };
  for (const runtime of runtimes) {
    console.error(`FFI micro-benchmarks and allocation check on ${runtime}…`);
    // Allocation is measured on V8's heap only (bench/alloc.ts says why).
    const scripts = runtime === "deno"
      ? [["ffi_bench.ts", micro.ffi], ["alloc.ts", micro.alloc]] as const
      : [["ffi_bench.ts", micro.ffi]] as const;
    for (const [script, into] of scripts) {
      try {
        const [program, args] = scriptCommand(runtime, script, ["--json"]);
        const flags = script === "alloc.ts"
          ? ["run", "-A", "--v8-flags=--expose-gc,--min-semi-space-size=64", ...args.slice(2)]
          : args;
        into[runtime] = JSON.parse(run(program, flags, 300_000).trim().split("\n").pop()!);
      } catch (e) {
        failures.push(`${script} on ${runtime}: ${e instanceof Error ? e.message : e}`);
      }
    }
  }
}

const meta: Meta = {
  date: new Date().toISOString(),
  command: `${CURRENT} bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
  mode: quick ? "quick" : "full",
  rounds,
  placements: pins,
  scale,
  versions,
  load_start: load0,
  load_end: loadavg(),
  seconds: Math.round(seconds),
  no_c: noC,
  note: values.note,
  failures,
};
const records = buildRecords(
  plan.flatMap((l) => l.round === 0 ? l.cases.map((c) => ({ pin: l.pin, c })) : []),
  samples,
  observed,
  rounds,
);
const written = writeReports({ meta, records, micro }, OUT, values.results!);
console.log(written.summary);
console.log(`\nWrote ${written.files.join(", ")}`);
if (failures.length) {
  console.log(`\n${failures.length} failure(s):`);
  for (const f of failures) console.log(`  ${f}`);
  process.exit(1);
}

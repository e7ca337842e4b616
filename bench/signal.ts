/**
 * The signal benchmark driver: the round-trip time of a real-time signal with a value
 * (`sigqueue` of `SIGRTMIN`, sent back by the peer) between two processes, for sysipc's
 * `SignalReceiver` on Deno and Bun (`receiveSync`, `await receive()`), against C in the
 * same run (bench/sigqueue.c: `sigwaitinfo`, the usual C way, and an `SA_SIGINFO` handler
 * writing to a pipe, the mechanism sysipc uses).
 *
 * Every case is a fresh pair of processes. The cases run in rounds, each round in the same
 * order, so that every case is measured close in time to its baseline (A B A B …); the
 * table quotes each case's median and its ratio to C `sigwaitinfo` as the median of the
 * per-round ratios (absolute times drift by ±30 % on this machine; ratios taken in the
 * same round much less). Pairs are pinned with `taskset` as in bench/run.ts: parent on CPU
 * 0, child on CPU 1 (`--pin split`, the default), both on CPU 0 (`--pin same`), or left to
 * the scheduler (`--pin none`).
 *
 * Writes every sample to bench/out/signal.json.
 *
 * Usage: deno run -A bench/signal.ts | bun bench/signal.ts
 *   [--rounds 5] [--messages 5000] [--warmup 500] [--pin split|same|none] [--quick]
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  BENCH_DIR,
  CURRENT,
  intOption,
  pinned,
  type Result,
  runtimeBinary,
  type RuntimeName,
  scriptCommand,
} from "./_runtime.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string" },
    messages: { type: "string" },
    warmup: { type: "string" },
    pin: { type: "string", default: "split" },
    quick: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A bench/signal.ts | bun bench/signal.ts\n" +
      "  --rounds N    rounds of every case (default 5; --quick: 2)\n" +
      "  --messages N  measured round trips per case (default 5000; --quick: 1000)\n" +
      "  --warmup N    round trips before measuring (default 500; --quick: 200)\n" +
      "  --pin P       split: parent on CPU 0, child on CPU 1 (default); same: both on\n" +
      "                CPU 0; none: wherever the scheduler puts them (pinning needs taskset)\n" +
      "  --quick       a fast smoke run",
  );
  process.exit(0);
}
const quick = values.quick;
const rounds = intOption(values.rounds ?? (quick ? "2" : "5"), "rounds", 1);
const messages = intOption(values.messages ?? (quick ? "1000" : "5000"), "messages", 1);
const warmup = intOption(values.warmup ?? (quick ? "200" : "500"), "warmup");
const pin = values.pin;
if (pin !== "none" && pin !== "same" && pin !== "split") {
  throw new TypeError(`--pin must be none, same or split, got ${JSON.stringify(pin)}`);
}
const parentCpu = pin === "none" ? undefined : 0;
const peerCpu = pin === "split" ? 1 : pin === "same" ? 0 : undefined;
if (pin === "split" && cpus().length < 2) throw new Error("--pin split needs 2 CPUs");

const OUT_DIR = join(BENCH_DIR, "out");
const C_BINARY = join(OUT_DIR, "sigqueue");
const JSON_PATH = join(OUT_DIR, "signal.json");
const BASELINE = "c-wait";

/** One row of the table. */
interface Case {
  name: string;
  command: () => [string, string[]];
}

const common = [
  "--messages",
  String(messages),
  "--warmup",
  String(warmup),
  ...(peerCpu === undefined ? [] : ["--peer-cpu", String(peerCpu)]),
];

function cCase(mode: "wait" | "handler"): Case {
  return {
    name: `c-${mode}`,
    command: () => [C_BINARY, [mode, `${messages}`, `${warmup}`, `${peerCpu ?? -1}`]],
  };
}

function sysipcCase(runtime: RuntimeName, mode: "sync" | "async"): Case {
  return {
    name: `${runtime}-${mode}`,
    command: () => scriptCommand(runtime, "signal_pingpong.ts", ["--mode", mode, ...common]),
  };
}

const CASES: Case[] = [
  cCase("wait"),
  cCase("handler"),
  sysipcCase("deno", "sync"),
  sysipcCase("deno", "async"),
  sysipcCase("bun", "sync"),
  sysipcCase("bun", "async"),
];

/** Runs a command to completion; returns its stdout, or throws with what went wrong. */
function run(command: string, args: string[], timeoutMs: number): string {
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

function version(command: string, args: string[]): string {
  try {
    return run(command, args, 30_000).split("\n")[0]!.trim();
  } catch {
    return "unknown";
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

mkdirSync(OUT_DIR, { recursive: true });
if (pin !== "none") run("taskset", ["-c", "0", "true"], 30_000);
run("gcc", ["-O2", "-Wall", "-Wextra", "-o", C_BINARY, join(BENCH_DIR, "sigqueue.c")], 120_000);

const versions = {
  driver: CURRENT,
  deno: version(runtimeBinary("deno"), ["--version"]),
  bun: version(runtimeBinary("bun"), ["--version"]),
  gcc: version("gcc", ["--version"]),
  kernel: release(),
  cpus: cpus().length,
};
console.error(
  `signal ping-pong: ${rounds} rounds × ${messages} round trips (+${warmup} warm-up), ` +
    `SIGRTMIN with a value, pin ${pin}; deno ${versions.deno.replace(/^deno /, "")}, ` +
    `bun ${versions.bun}, Linux ${versions.kernel}, ${versions.cpus} CPUs`,
);

const samples = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
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
    } catch (e) {
      failures.push(`round ${round}, ${c.name}: ${e instanceof Error ? e.message : e}`);
    }
    samples.get(c.name)!.push(value);
    line.push(`${c.name} ${Number.isNaN(value) ? "FAILED" : value.toFixed(1)}`);
  }
  console.error(`round ${round}/${rounds}: ${line.join(", ")}`);
}
const seconds = (performance.now() - started) / 1000;

const rows = CASES.map((c) => {
  const xs = samples.get(c.name)!;
  const ok = xs.filter((x) => !Number.isNaN(x));
  const base = samples.get(BASELINE)!;
  const ratios = xs.map((x, i) => x / base[i]!).filter((r) => Number.isFinite(r));
  return {
    case: c.name,
    samples_us: xs,
    median_us: ok.length ? median(ok) : NaN,
    min_us: ok.length ? Math.min(...ok) : NaN,
    max_us: ok.length ? Math.max(...ok) : NaN,
    ratio: ratios.length ? median(ratios) : NaN,
  };
});

const fmt = (x: number, digits: number) => Number.isNaN(x) ? "–" : x.toFixed(digits);
const table = [
  ["case", "median µs", "min–max µs", "× C sigwaitinfo"],
  ...rows.map((r) => [
    r.case,
    fmt(r.median_us, 1),
    `${fmt(r.min_us, 1)}–${fmt(r.max_us, 1)}`,
    fmt(r.ratio, 2),
  ]),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
const render = (row: string[]) =>
  row.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))
    .join("  ").trimEnd();
console.log(
  `\nSignal ping-pong (sigqueue SIGRTMIN with a value, sent back): ${rounds} rounds × ` +
    `${messages} round trips (pin ${pin}, driver ${CURRENT}, ${seconds.toFixed(0)} s)`,
);
console.log(render(table[0]!));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of table.slice(1)) console.log(render(row));
console.log("Ratios are medians of per-round ratios to c-wait measured in the same round.");
if (failures.length) {
  console.log(`\n${failures.length} failed run(s):`);
  for (const f of failures) console.log(`  ${f}`);
}

writeFileSync(
  JSON_PATH,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      config: { rounds, messages, warmup, pin, quick },
      versions,
      seconds: Math.round(seconds),
      order: CASES.map((c) => c.name),
      results: rows.map((r) => ({
        ...r,
        samples_us: r.samples_us.map((x) => Number.isNaN(x) ? null : x),
        median_us: Number.isNaN(r.median_us) ? null : r.median_us,
        min_us: Number.isNaN(r.min_us) ? null : r.min_us,
        max_us: Number.isNaN(r.max_us) ? null : r.max_us,
        ratio: Number.isNaN(r.ratio) ? null : Math.round(r.ratio * 1000) / 1000,
      })),
      failures,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nWrote ${JSON_PATH}`);
if (failures.length) process.exit(1);

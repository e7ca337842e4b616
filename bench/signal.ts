/**
 * The signal benchmark driver: the round-trip time of a real-time signal with a value
 * (`sigqueue` of `SIGRTMIN`, sent back by the peer) between two processes, for sysipc's
 * `SignalReceiver` on Deno and Bun (`receiveSync`, `await receive()`;
 * bench/signal_pingpong.ts), against C in the same run (bench/sigqueue.c, compiled here:
 * `sigwaitinfo`, the usual C way, and an `SA_SIGINFO` handler writing to a pipe, the
 * mechanism sysipc uses).
 *
 * Every case is a fresh pair of processes. The cases run in rounds, each round in the same
 * order, so that every case is measured close in time to its baseline; the table quotes
 * each case's median and its ratio to C `sigwaitinfo` as the median of the per-round ratios
 * (absolute times drift by ±30 % here; ratios taken in the same round much less). The
 * machine's 2 CPUs may be shared with other work: treat the numbers as noisy, and compare
 * like with like (`--pin`, as in bench/run.ts).
 *
 * Writes every sample to bench/out/signal.json.
 *
 * Usage: deno run -A bench/signal.ts | bun bench/signal.ts
 *   [--rounds 5] [--messages 10000] [--warmup 1000] [--pin split|same|none] [--quick]
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
  median,
  medianRatio,
  prepare,
  renderTable,
  runRounds,
  type RuntimeName,
  scriptCommand,
} from "./_runtime.ts";

const { rounds, messages, warmup, quick, pin, parentCpu, peerCpu } = driverOptions(
  "signal.ts",
  300,
);

const OUT_DIR = join(BENCH_DIR, "out");
const C_BINARY = join(OUT_DIR, "sigqueue");
const JSON_PATH = join(OUT_DIR, "signal.json");
const BASELINE = "c-wait";

const common = [
  "--messages",
  String(messages),
  "--warmup",
  String(warmup),
  ...(peerCpu === undefined ? [] : ["--peer-cpu", String(peerCpu)]),
];

const CASES: BenchCase[] = [
  ...(["wait", "handler"] as const).map((mode) => ({
    name: `c-${mode}`,
    command: (): [string, string[]] => [
      C_BINARY,
      [mode, `${messages}`, `${warmup}`, `${peerCpu ?? -1}`],
    ],
  })),
  ...(["deno", "bun"] as RuntimeName[]).flatMap((runtime) =>
    (["sync", "async"] as const).map((mode) => ({
      name: `${runtime}-${mode}`,
      command: () => scriptCommand(runtime, "signal_pingpong.ts", ["--mode", mode, ...common]),
    }))
  ),
];

const versions = prepare("sigqueue.c", C_BINARY);
console.error(
  `signal ping-pong: ${rounds} rounds × ${messages} round trips (+${warmup} warm-up), ` +
    `SIGRTMIN with a value, pin ${pin}; deno ${versions.deno}, bun ${versions.bun}, ` +
    `Linux ${versions.kernel}, ${versions.cpus} CPUs`,
);

const { samples, failures, seconds } = runRounds(
  CASES,
  rounds,
  messages,
  parentCpu,
  60_000 + (warmup + messages) * 5,
);

const rows = CASES.map((c) => {
  const xs = samples.get(c.name)!.filter((x) => !Number.isNaN(x));
  return {
    case: c.name,
    samples_us: samples.get(c.name)!,
    median_us: xs.length ? median(xs) : NaN,
    min_us: xs.length ? Math.min(...xs) : NaN,
    max_us: xs.length ? Math.max(...xs) : NaN,
    ratio_c: medianRatio(samples, c.name, BASELINE),
  };
});

const fmt = (x: number, digits: number) => Number.isNaN(x) ? "" : x.toFixed(digits);
const table = [
  ["case", "median µs", "min–max µs", "× C sigwaitinfo"],
  ...rows.map((r) => [
    r.case,
    fmt(r.median_us, 1),
    `${fmt(r.min_us, 1)}–${fmt(r.max_us, 1)}`,
    fmt(r.ratio_c, 2),
  ]),
];
console.log(
  `\nSignal ping-pong (sigqueue SIGRTMIN with a value, sent back): ${rounds} rounds × ` +
    `${messages} round trips (pin ${pin}, driver ${CURRENT}, ${seconds.toFixed(0)} s)`,
);
for (const line of renderTable(table, [false, true, true, true])) console.log(line);
console.log("Ratios are medians of per-round ratios to c-wait measured in the same round.");
if (failures.length) {
  console.log(`\n${failures.length} failed run(s):`);
  for (const f of failures) console.log(`  ${f}`);
}
const json = (x: number) => Number.isNaN(x) ? null : Math.round(x * 1000) / 1000;
writeFileSync(
  JSON_PATH,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      config: { rounds, messages, warmup, pin, quick },
      versions,
      seconds: Math.round(seconds),
      results: rows.map((r) => ({
        ...r,
        samples_us: r.samples_us.map(json),
        median_us: json(r.median_us),
        min_us: json(r.min_us),
        max_us: json(r.max_us),
        ratio_c: json(r.ratio_c),
      })),
      failures,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nWrote ${JSON_PATH}`);
if (failures.length) process.exit(1);

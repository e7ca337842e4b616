/**
 * The semaphore benchmark driver: the round-trip time of a two-process post/wait
 * ping-pong for each kind (POSIX named semaphores, System V sets, eventfd), sync and async,
 * on Deno and Bun, against the same loop in C (bench/sem_pingpong.c, blocking waits), all
 * in one run, with both CPU placements.
 *
 * Every case is a fresh pair of processes (bench/sem_pingpong.ts and its child
 * bench/sem_peer.ts). The cases run in rounds, each round in the same order, and each
 * placement in turn inside a round, so that every case is measured close in time to its C
 * baseline (A B A B …). The table quotes each case's median, and its ratio to C as the
 * median of the per-round ratios (absolute times drift by ±30 % here, more when other
 * work shares the machine; ratios taken in the same round drift less).
 *
 * Placements: `split` pins the parent of each pair to CPU 0 and the child to CPU 1 (a
 * wake-up then crosses CPUs: tens of µs on this VM); `same` puts both on CPU 0 (a wake-up
 * is a context switch: a few µs). `--pin both` (the default) measures both; `none` leaves
 * placement to the scheduler.
 *
 * Targets (the issue's): sync ≤ 1.2× C; async ≤ 1.5× C for eventfd, ≤ 2× for POSIX
 * semaphores, ≤ 2.5× for System V sets.
 *
 * Writes every sample to bench/out/sem.json.
 *
 * Usage: deno run -A bench/sem.ts | bun bench/sem.ts
 *   [--rounds 5] [--messages 10000] [--warmup 1000] [--pin both|split|same|none]
 *   [--kinds posix,sysv,eventfd] [--quick]
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
  CURRENT,
  intOption,
  median,
  pinned,
  type Result,
  run,
  runtimeBinary,
  type RuntimeName,
  scriptCommand,
} from "./_runtime.ts";
import { KINDS, MODES } from "./sem_peer.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string" },
    messages: { type: "string" },
    warmup: { type: "string" },
    pin: { type: "string", default: "both" },
    kinds: { type: "string", default: KINDS.join(",") },
    quick: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A bench/sem.ts | bun bench/sem.ts\n" +
      "  --rounds N    rounds of every case (default 5; --quick: 2)\n" +
      "  --messages N  measured round trips per case (default 10000; --quick: 1000)\n" +
      "  --warmup N    round trips before measuring (default 1000; --quick: 200)\n" +
      "  --pin P       both (default): split and same; split: parent on CPU 0, child on\n" +
      "                CPU 1; same: both on CPU 0; none: wherever the scheduler puts them\n" +
      "  --kinds K     a comma-separated subset of posix,sysv,eventfd\n" +
      "  --quick       a fast smoke run",
  );
  process.exit(0);
}
const quick = values.quick;
const rounds = intOption(values.rounds ?? (quick ? "2" : "5"), "rounds", 1);
const messages = intOption(values.messages ?? (quick ? "1000" : "10000"), "messages", 1);
const warmup = intOption(values.warmup ?? (quick ? "200" : "1000"), "warmup");
const PLACEMENTS = { split: [0, 1], same: [0, 0], none: [undefined, undefined] } as const;
type Placement = keyof typeof PLACEMENTS;
const placements: Placement[] = values.pin === "both"
  ? ["split", "same"]
  : values.pin in PLACEMENTS
  ? [values.pin as Placement]
  : (() => {
    throw new TypeError(`--pin must be both, split, same or none, got ${values.pin}`);
  })();
const kinds = values.kinds.split(",") as (typeof KINDS[number])[];
for (const k of kinds) if (!KINDS.includes(k)) throw new TypeError(`unknown kind ${k}`);
if (placements.includes("split") && cpus().length < 2) throw new Error("split needs 2 CPUs");

const TARGET_ASYNC = { posix: 2, sysv: 2.5, eventfd: 1.5 } as const;
const OUT_DIR = join(BENCH_DIR, "out");
const C_BINARY = join(OUT_DIR, "sem_pingpong");
mkdirSync(OUT_DIR, { recursive: true });

/** Why the C baseline cannot run here, if it cannot. */
const noC = (() => {
  try {
    run(
      "gcc",
      ["-O2", "-Wall", "-Wextra", "-o", C_BINARY, join(BENCH_DIR, "sem_pingpong.c")],
      120_000,
    );
  } catch (e) {
    return `gcc could not build the C baseline (install gcc and libc6-dev): ${
      e instanceof Error ? e.message.split("\n")[0] : e
    }`;
  }
  return undefined;
})();
if (noC) console.error(`C baseline skipped: ${noC}`);
if (placements.some((p) => p !== "none")) run("taskset", ["-c", "0", "true"], 30_000);

interface Case {
  name: string;
  kind: typeof KINDS[number];
  /** The command, for a placement's child CPU. */
  command: (peerCpu: number | undefined) => [string, string[]];
  target?: number;
}

const CASES: Case[] = kinds.flatMap((kind): Case[] => [
  ...(noC ? [] : [{
    name: `c-${kind}`,
    kind,
    command: (cpu: number | undefined) =>
      [C_BINARY, [kind, `${messages}`, `${warmup}`, `${cpu ?? -1}`]] as [string, string[]],
  }]),
  ...(["deno", "bun"] as RuntimeName[]).flatMap((runtime) =>
    MODES.map((mode) => ({
      name: `${runtime}-${kind}-${mode}`,
      kind,
      command: (cpu: number | undefined) =>
        scriptCommand(runtime, "sem_pingpong.ts", [
          "--kind",
          kind,
          "--mode",
          mode,
          "--messages",
          `${messages}`,
          "--warmup",
          `${warmup}`,
          ...(cpu === undefined ? [] : ["--peer-cpu", `${cpu}`]),
        ]),
      target: mode === "sync" ? 1.2 : TARGET_ASYNC[kind],
    }))
  ),
]);

console.error(
  `sem ping-pong: ${rounds} rounds × ${messages} round trips (+${warmup} warm-up), ` +
    `pin ${placements.join(" and ")}; deno ${runtimeBinary("deno")}, bun ${
      runtimeBinary("bun")
    }, Linux ${release()}, ${cpus().length} CPUs`,
);

/** Samples per placement and case, one per round (NaN when the round failed). */
const samples = new Map<string, number[]>();
const failures: string[] = [];
const started = performance.now();
for (let round = 1; round <= rounds; round++) {
  for (const placement of placements) {
    const [parentCpu, peerCpu] = PLACEMENTS[placement];
    const line: string[] = [];
    for (const c of CASES) {
      let value = NaN;
      try {
        const out = run(...pinned(parentCpu, c.command(peerCpu)), 300_000).trim().split("\n")
          .pop()!;
        const result = JSON.parse(out) as Result;
        if (result.case !== c.name) throw new Error(`unexpected result ${out}`);
        value = result.mean_us;
      } catch (e) {
        failures.push(
          `round ${round} ${placement} ${c.name}: ${e instanceof Error ? e.message : e}`,
        );
      }
      const key = `${placement} ${c.name}`;
      samples.set(key, [...samples.get(key) ?? [], value]);
      line.push(`${c.name} ${value.toFixed(1)}`);
    }
    console.error(`round ${round}/${rounds} ${placement}: ${line.join(", ")}`);
  }
}
const seconds = (performance.now() - started) / 1000;

const fmt = (x: number, digits: number) => Number.isNaN(x) ? "–" : x.toFixed(digits);
const rows = placements.flatMap((placement) =>
  CASES.map((c) => {
    const xs = samples.get(`${placement} ${c.name}`)!;
    const base = samples.get(`${placement} c-${c.kind}`);
    const ratio = base ? median(xs.map((x, i) => x / base[i]!)) : NaN;
    const verdict = c.target === undefined
      ? ""
      : Number.isNaN(ratio)
      ? "n/a"
      : ratio <= c.target
      ? "pass"
      : "MISS";
    return {
      placement,
      case: c.name,
      samples_us: xs.map((x) => Number.isNaN(x) ? null : x),
      median_us: median(xs),
      ratio_to_c: ratio,
      target: c.target === undefined ? "" : `≤ ${c.target}× C`,
      verdict,
    };
  })
);

for (const placement of placements) {
  console.log(
    `\nSemaphore ping-pong, pin ${placement}: ${rounds} rounds × ${messages} round trips ` +
      `(driver ${CURRENT}, ${seconds.toFixed(0)} s for the run)`,
  );
  const table = [
    ["case", "median µs", "× C", "target", "verdict"],
    ...rows.filter((r) => r.placement === placement).map((r) => [
      r.case,
      fmt(r.median_us, 1),
      fmt(r.ratio_to_c, 2),
      r.target,
      r.verdict,
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) {
    console.log(
      row.map((cell, i) => i === 1 || i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))
        .join("  ").trimEnd(),
    );
  }
}
console.log("Ratios are medians of per-round ratios to the C loop of the same kind and placement.");
if (noC) console.log(`C baseline skipped: ${noC}.`);
if (failures.length) {
  console.log(`\n${failures.length} failed run(s):`);
  for (const f of failures) console.log(`  ${f}`);
}
const jsonPath = join(OUT_DIR, "sem.json");
writeFileSync(
  jsonPath,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      config: { rounds, messages, warmup, placements, kinds, quick },
      seconds: Math.round(seconds),
      results: rows.map((r) => ({
        ...r,
        median_us: Number.isNaN(r.median_us) ? null : r.median_us,
        ratio_to_c: Number.isNaN(r.ratio_to_c) ? null : Math.round(r.ratio_to_c * 1000) / 1000,
      })),
      failures,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nWrote ${jsonPath}`);
if (failures.length) process.exit(1);

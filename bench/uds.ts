/**
 * The Unix socket benchmark driver: the two-process ping-pong round trip of a 64-byte and a
 * 4 KiB message over each socket type (stream, seqpacket, datagram) with sysipc's async
 * calls on Deno and Bun (bench/uds_pingpong.ts), against the same ping-pong in C with
 * blocking calls (bench/uds_pingpong.c, compiled here) and against each runtime's built-in
 * Unix stream socket (bench/builtin_unix.ts), all in one run.
 *
 * Every case is a fresh pair of processes. The cases run in rounds, each round in the same
 * order (for each size and type: C, Deno, Bun; then the built-in sockets), so that every
 * case is measured close in time to its baselines. The table quotes each case's median and
 * its ratios as medians of per-round ratios (absolute times drift by ±30 % here; ratios
 * taken in the same round much less). Targets: ≤ 1.5× C, and for streams no slower than
 * the runtime's built-in socket. The machine's 2 CPUs may be shared with other work: treat
 * the numbers as noisy, and compare like with like (`--pin`, as in bench/run.ts).
 *
 * Writes every sample to bench/out/uds.json.
 *
 * Usage: deno run -A bench/uds.ts | bun bench/uds.ts
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
  "uds.ts",
  300,
);

const OUT_DIR = join(BENCH_DIR, "out");
const C_BINARY = join(OUT_DIR, "uds_pingpong");
const JSON_PATH = join(OUT_DIR, "uds.json");
const TYPES = ["stream", "seqpacket", "dgram"] as const;
const SIZES = [64, 4096] as const;

/** One row of the table. */
interface Case extends BenchCase {
  /** For sysipc cases: the C case and (streams) the built-in case it is compared with. */
  c?: string;
  builtin?: string;
}

const common = [
  "--messages",
  String(messages),
  "--warmup",
  String(warmup),
  ...(peerCpu === undefined ? [] : ["--peer-cpu", String(peerCpu)]),
];
const runtimes: RuntimeName[] = ["deno", "bun"];

const CASES: Case[] = SIZES.flatMap((size) => [
  ...TYPES.flatMap((type): Case[] => [
    {
      name: `c-${type}-${size}`,
      command: () => [C_BINARY, [type, `${size}`, `${messages}`, `${warmup}`, `${peerCpu ?? -1}`]],
    },
    ...runtimes.map((runtime) => ({
      name: `${runtime}-${type}-${size}`,
      command: () =>
        scriptCommand(runtime, "uds_pingpong.ts", ["--type", type, "--size", `${size}`, ...common]),
      c: `c-${type}-${size}`,
      builtin: type === "stream" ? `${runtime}-builtin-${size}` : undefined,
    })),
  ]),
  ...runtimes.map((runtime) => ({
    name: `${runtime}-builtin-${size}`,
    prints: `${runtime}-unix-builtin`,
    command: () => scriptCommand(runtime, "builtin_unix.ts", ["--size", `${size}`, ...common]),
  })),
]);

const versions = prepare("uds_pingpong.c", C_BINARY);
console.error(
  `uds ping-pong: ${rounds} rounds × ${messages} round trips (+${warmup} warm-up), ` +
    `64 B and 4 KiB, pin ${pin}; deno ${versions.deno}, bun ${versions.bun}, ` +
    `Linux ${versions.kernel}, ${versions.cpus} CPUs`,
);

const { samples, engines, failures, seconds } = runRounds(
  CASES,
  rounds,
  messages,
  parentCpu,
  60_000 + (warmup + messages) * 5,
);
const ratio = (name: string, baseline: string | undefined) =>
  baseline === undefined ? NaN : medianRatio(samples, name, baseline);

const rows = CASES.map((c) => {
  const xs = samples.get(c.name)!.filter((x) => !Number.isNaN(x));
  const toC = ratio(c.name, c.c);
  const toBuiltin = ratio(c.name, c.builtin);
  const verdict = c.c === undefined
    ? ""
    : Number.isNaN(toC)
    ? "n/a"
    : toC <= 1.5 && !(toBuiltin > 1)
    ? "pass"
    : "MISS";
  return {
    case: c.name,
    samples_us: samples.get(c.name)!,
    median_us: xs.length ? median(xs) : NaN,
    ratio_c: toC,
    ratio_builtin: toBuiltin,
    verdict,
  };
});

const fmt = (x: number, digits: number) => Number.isNaN(x) ? "" : x.toFixed(digits);
const table = [
  ["case", "median µs", "× C", "× built-in", "verdict"],
  ...rows.map((r) => [
    r.case,
    fmt(r.median_us, 1),
    fmt(r.ratio_c, 2),
    fmt(r.ratio_builtin, 2),
    r.verdict,
  ]),
];
console.log(
  `\nUnix socket ping-pong, async: ${rounds} rounds × ${messages} round trips ` +
    `(pin ${pin}, driver ${CURRENT}, ${seconds.toFixed(0)} s)`,
);
for (const line of renderTable(table, [false, true, true, true, false])) console.log(line);
console.log(
  "Ratios are medians of per-round ratios. Target: ≤ 1.5× C (blocking calls), and for " +
    "streams\nno slower than the runtime's built-in Unix socket (× built-in ≤ 1).",
);
const notIoUring = [...engines].filter(([, set]) => [...set].some((e) => e !== "io_uring"));
if (notIoUring.length) {
  console.log(`Wait engine was not io_uring for: ${notIoUring.map(([name]) => name).join(", ")}`);
}
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
      config: { rounds, messages, warmup, pin, sizes: SIZES, quick },
      versions,
      seconds: Math.round(seconds),
      results: rows.map((r) => ({
        ...r,
        samples_us: r.samples_us.map(json),
        median_us: json(r.median_us),
        ratio_c: json(r.ratio_c),
        ratio_builtin: json(r.ratio_builtin),
      })),
      failures,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nWrote ${JSON_PATH}`);
if (failures.length) process.exit(1);

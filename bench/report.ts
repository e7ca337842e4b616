/**
 * What bench/run.ts writes from its samples: one JSON record per case and placement
 * (`results.json`), markdown tables (`results.md`, and `bench/RESULTS.md` with the machine
 * and the targets), and an SVG chart of the ratios to C (`ratios.svg`), drawn here with
 * no dependency. It measures nothing itself.
 *
 * Statistics: a case's `p50_ns` and `p99_ns` are the medians over rounds of each round's
 * median and 99th percentile time per message (a round trip, or one streamed message at
 * the receiver); `mean_ns` likewise of each round's elapsed time ÷ messages; `msgs_per_s`
 * is the median over rounds of messages per second (from the mean); `bytes_per_s` is that
 * times the payload moved per message (both directions of a round trip). `time_ns` is the
 * figure ratios compare: the p50 of a round trip, and the mean of a stream, whose median
 * interval would hide its stalls (a receiver that drains a burst of messages at once has a
 * short median interval, whatever the throughput). `ratio_c` and `ratio_builtin` are
 * medians over rounds of the ratio of this case's time to its baseline's (the same kind)
 * measured in the same round and placement (> 1: slower than the baseline).
 *
 * @module
 */
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_DIR } from "./_runtime.ts";
import {
  builtinBaseline,
  type CaseDef,
  cBaselines,
  type Impl,
  keyOf,
  type Scale,
  targets,
} from "./catalog.ts";
import { expectedBytes } from "./groups/_common.ts";

/** One round's result of a case. */
export interface Sample {
  mean_ns: number;
  p50_ns: number;
  p99_ns: number;
  bytes: number;
  messages: number;
  engine?: string;
}

/** What the run was. */
export interface Meta {
  date: string;
  command: string;
  mode: "quick" | "full";
  rounds: number;
  placements: string[];
  scale: Scale;
  versions: Record<string, string | number>;
  load_start: number[];
  load_end: number[];
  seconds: number;
  no_c?: string;
  /** `--note`: a line about the run's conditions. */
  note?: string;
  failures: string[];
}

/** The micro-benchmarks' output per runtime (bench/ffi_bench.ts and bench/alloc.ts). */
export interface Micro {
  ffi: Record<string, Record<string, number>>;
  alloc: Record<string, Record<string, number | string>>;
}

/** A target and how the case did. */
export interface TargetResult {
  text: string;
  ratio: "c" | "builtin";
  max: number;
  value: number | null;
  pass: boolean | null;
}

/** One record per case and placement. */
export interface CaseRecord {
  mechanism: string;
  runtime: Impl;
  mode: string;
  kind: "rtt" | "stream";
  placement: string;
  /** Where the processes' threads were seen running (bench/observe.ts), per distinct value. */
  placement_observed: string[];
  size: number;
  messages: number;
  warmup: number;
  batch: number;
  rounds: number;
  p50_ns: number | null;
  p99_ns: number | null;
  mean_ns: number | null;
  /** What ratios compare: `p50_ns` of a round trip, `mean_ns` of a stream. */
  time_ns: number | null;
  msgs_per_s: number | null;
  bytes_per_s: number | null;
  ratio_c: number | null;
  ratio_builtin: number | null;
  /** The C case of `ratio_c` (`mech:mode:kind:size`). */
  baseline_c: string | null;
  /** The built-in case of `ratio_builtin`. */
  baseline_builtin: string | null;
  /** Ratios to other C cases, by their key. */
  ratios_extra: Record<string, number | null>;
  targets: TargetResult[];
  engine: string | null;
  /** Whether every round checked exactly the payload the case moves. */
  bytes_checked: boolean;
  /** Per round: p50, p99 and mean in ns (null: that round failed). */
  samples: ({ p50_ns: number; p99_ns: number; mean_ns: number } | null)[];
}

function median(xs: number[]): number | null {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The time ratios compare: a round trip's median, a stream's mean (see the module doc). */
const time = (c: { kind: string }, s: Sample) => c.kind === "stream" ? s.mean_ns : s.p50_ns;

const round3 = (x: number | null) => x === null ? null : Math.round(x * 1000) / 1000;

/**
 * Aggregates the rounds into one record per case and placement.
 *
 * @param entries Every case once per placement.
 * @param samples Per `pin|impl|key`: one sample per round.
 * @param observed Per `pin|impl|key`: the placements observed.
 * @param rounds The number of rounds.
 * @returns The records.
 */
export function buildRecords(
  entries: { pin: string; c: CaseDef }[],
  samples: Map<string, (Sample | null)[]>,
  observed: Map<string, Set<string>>,
  rounds: number,
): CaseRecord[] {
  const get = (pin: string, impl: Impl, key: string) => samples.get(`${pin}|${impl}|${key}`);
  const ratio = (c: CaseDef, key: string, bImpl: Impl, bKey: string, pin: string) => {
    const xs = get(pin, c.impl, key);
    const bs = get(pin, bImpl, bKey);
    if (!xs || !bs) return null;
    return round3(median(xs.map((x, i) => {
      const b = bs[i];
      return x && b && time(c, b) > 0 ? time(c, x) / time(c, b) : NaN;
    })));
  };
  return entries.map(({ pin, c }) => {
    const key = keyOf(c);
    const list = get(pin, c.impl, key) ?? Array(rounds).fill(null);
    const ok = list.filter((s): s is Sample => s !== null);
    const { main, extra } = cBaselines(c);
    const cMain = main !== undefined && !(c.impl === "c" && main === key) ? main : null;
    const builtin = c.impl === "c" ? undefined : builtinBaseline(c);
    const ratioC = cMain === null ? (c.impl === "c" ? 1 : null) : ratio(c, key, "c", cMain, pin);
    const ratioBuiltin = builtin === undefined ? null : ratio(c, key, c.impl, builtin, pin);
    const msgs = median(ok.map((s) => 1e9 / s.mean_ns));
    const perMessage = c.size * (c.kind === "rtt" ? 2 : 1);
    return {
      mechanism: c.mech,
      runtime: c.impl,
      mode: c.mode,
      kind: c.kind,
      placement: pin,
      placement_observed: [...(observed.get(`${pin}|${c.impl}|${key}`) ?? [])],
      size: c.size,
      messages: c.messages,
      warmup: c.warmup,
      batch: c.batch,
      rounds: ok.length,
      p50_ns: median(ok.map((s) => s.p50_ns)),
      p99_ns: median(ok.map((s) => s.p99_ns)),
      mean_ns: median(ok.map((s) => s.mean_ns)),
      time_ns: median(ok.map((s) => time(c, s))),
      msgs_per_s: msgs === null ? null : Math.round(msgs),
      bytes_per_s: msgs === null ? null : Math.round(msgs * perMessage),
      ratio_c: ratioC,
      ratio_builtin: ratioBuiltin,
      baseline_c: cMain,
      baseline_builtin: builtin ?? null,
      ratios_extra: Object.fromEntries(
        extra.filter((k) => k !== key).map((k) => [k, ratio(c, key, "c", k, pin)]),
      ),
      targets: c.impl === "c" ? [] : targets(c, pin).map((t) => {
        const value = t.ratio === "c" ? ratioC : ratioBuiltin;
        return { ...t, value, pass: value === null ? null : value <= t.max };
      }),
      engine: ok.find((s) => s.engine)?.engine ?? null,
      bytes_checked: ok.length > 0 && ok.every((s) => s.bytes === expectedBytes(c)),
      samples: list.map((s) => s && { p50_ns: s.p50_ns, p99_ns: s.p99_ns, mean_ns: s.mean_ns }),
    };
  });
}

// ---- markdown -------------------------------------------------------------------------------

/** Microseconds, to about three significant digits. */
function us(ns: number | null): string {
  if (ns === null) return "–";
  const u = ns / 1000;
  return u < 1 ? u.toFixed(3) : u < 10 ? u.toFixed(2) : u < 100 ? u.toFixed(1) : u.toFixed(0);
}

const ratioText = (x: number | null) =>
  x === null ? "" : x < 0.1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1);

function sizeText(size: number, kind: string, mech: string): string {
  if (mech.startsWith("sem") || mech.startsWith("eventfd")) return "";
  if (mech === "signal") return "with a value";
  const s = size >= 1 << 20
    ? `${size >> 20} MiB`
    : size >= 1024
    ? `${size >> 10} KiB`
    : `${size} B`;
  return kind === "stream" ? `${s} stream` : s;
}

const MECH_NAMES: Record<string, string> = {
  "pipe": "pipe",
  "fifo": "FIFO",
  "uds-stream": "Unix stream",
  "uds-seqpacket": "Unix seqpacket",
  "uds-dgram": "Unix datagram",
  "shm": "ShmChannel",
  "shm-sysv": "System V shm (spin)",
  "mq-posix": "POSIX mq",
  "mq-sysv": "System V mq",
  "sem-posix": "POSIX semaphore",
  "sem-sysv": "System V semaphore",
  "eventfd": "eventfd",
  "signal": "signal (sigqueue)",
  "unix-builtin": "built-in Unix socket",
  "worker": "Worker postMessage",
  "child-ipc": "child_process IPC",
  "port": "Port",
  "port-object": "Port, small object",
  "worker-object": "Worker postMessage, small object",
  "child-ipc-object": "child_process IPC, small object",
  "bun-ipc-object": "Bun.spawn ipc, small object",
  "fresh-copy": "new ArrayBuffer + copy, no IPC",
  "copy-floor": "copy in + new ArrayBuffer + copy out, no IPC",
  "ring-floor": "bare two-process ring + new ArrayBuffer, no protocol",
  "eventfd-ffi": "eventfd, raw FFI floor",
  "mq-posix-ffi": "POSIX mq, raw FFI floor",
  "mq-sysv-ffi": "System V mq, raw FFI floor",
};

function label(r: { mechanism: string; mode: string; kind: string; size: number }): string {
  const size = sizeText(r.size, r.kind, r.mechanism);
  return `${MECH_NAMES[r.mechanism] ?? r.mechanism} ${r.mode}${size ? `, ${size}` : ""}`;
}

function verdict(r: CaseRecord | undefined): string {
  if (!r || r.targets.length === 0) return "";
  return r.targets.map((t) => t.pass === null ? "n/a" : t.pass ? "pass" : "MISS").join(", ");
}

/**
 * The tables of one placement: one row per case run by Deno and Bun, with the C case it
 * is compared with; then the C cases shown for information.
 */
function placementTable(records: CaseRecord[], pin: string): string[] {
  const here = records.filter((r) => r.placement === pin);
  const find = (impl: Impl, key: string) =>
    here.find((r) => r.runtime === impl && keyOf({ ...r, mech: r.mechanism }) === key);
  const rows: string[][] = [];
  const keys = [
    ...new Set(
      here.filter((r) => r.runtime !== "c").map((r) => keyOf({ ...r, mech: r.mechanism })),
    ),
  ];
  for (const key of keys) {
    const any = here.find((r) => r.runtime !== "c" && keyOf({ ...r, mech: r.mechanism }) === key)!;
    const c = any.baseline_c ? find("c", any.baseline_c) : undefined;
    const cells = (impl: Impl) => {
      const r = find(impl, key);
      return r
        ? [`${us(r.time_ns)} / ${us(r.p99_ns)}`, ratioText(r.ratio_c), ratioText(r.ratio_builtin)]
        : ["", "", ""];
    };
    const d = find("deno", key), b = find("bun", key);
    const t = (d ?? b)?.targets.map((x) => x.text).join("; ") ?? "";
    rows.push([
      label(any),
      c ? us(c.time_ns) : "",
      ...cells("deno"),
      ...cells("bun"),
      t,
      [d && verdict(d) && `Deno ${verdict(d)}`, b && verdict(b) && `Bun ${verdict(b)}`]
        .filter(Boolean).join(" · "),
    ]);
  }
  const main = new Set(here.map((r) => r.baseline_c).filter(Boolean));
  for (const r of here.filter((r) => r.runtime === "c")) {
    const key = keyOf({ ...r, mech: r.mechanism });
    if (main.has(key)) continue;
    const vs = r.baseline_c ? ` (${ratioText(r.ratio_c)}× ${r.baseline_c.split(":")[1]})` : "";
    rows.push([`C ${label(r)}`, `${us(r.time_ns)}${vs}`, "", "", "", "", "", "", "", ""]);
  }
  const head = [
    "case",
    "C time µs",
    "Deno time / p99 µs",
    "× C",
    "× built-in",
    "Bun time / p99 µs",
    "× C",
    "× built-in",
    "target",
    "verdict",
  ];
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map((_, i) => i === 0 || i >= 8 ? "---" : "---:").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
}

/** The pass/miss count of every target, per placement and runtime. */
function targetSummary(records: CaseRecord[], placements: string[]): string[] {
  const lines: string[] = [];
  for (const pin of placements) {
    for (const impl of ["deno", "bun"] as const) {
      const ts = records.filter((r) => r.placement === pin && r.runtime === impl)
        .flatMap((r) => r.targets.map((t) => ({ r, t })));
      if (ts.length === 0) continue;
      const pass = ts.filter((x) => x.t.pass === true).length;
      const misses = ts.filter((x) => x.t.pass === false);
      const unknown = ts.length - pass - misses.length;
      lines.push(
        `- ${pin}, ${impl === "deno" ? "Deno" : "Bun"}: ${pass} of ${ts.length} targets met` +
          (unknown ? ` (${unknown} not measured)` : "") +
          (misses.length
            ? `; missed: ${
              misses.map(({ r, t }) =>
                `${label(r)} (${t.text}: ${ratioText(t.value)}${
                  t.ratio === "c" ? "× C" : "× built-in"
                })`
              ).join(", ")
            }`
            : ""),
      );
    }
  }
  return lines;
}

function microTables(micro: Micro | undefined): string[] {
  if (!micro) return ["(not run: `--no-micro`)"];
  const out: string[] = [];
  const runtimes = Object.keys(micro.ffi);
  if (runtimes.length) {
    const names = [...new Set(runtimes.flatMap((r) => Object.keys(micro.ffi[r]!)))];
    out.push(
      `| call, ns per call | ${runtimes.join(" | ")} |`,
      `| --- | ${runtimes.map(() => "---:").join(" | ")} |`,
      ...names.map((n) =>
        `| ${n} | ${runtimes.map((r) => micro.ffi[r]![n]?.toFixed(0) ?? "–").join(" | ")} |`
      ),
      "",
    );
  }
  const allocRuntimes = Object.keys(micro.alloc);
  if (allocRuntimes.length) {
    const names = [...new Set(allocRuntimes.flatMap((r) => Object.keys(micro.alloc[r]!)))];
    out.push(
      `| hot path, bytes allocated per message once warm | ${allocRuntimes.join(" | ")} |`,
      `| --- | ${allocRuntimes.map(() => "---:").join(" | ")} |`,
      ...names.map((n) =>
        `| ${n} | ${allocRuntimes.map((r) => micro.alloc[r]![n] ?? "–").join(" | ")} |`
      ),
    );
  }
  return out;
}

// ---- the chart ------------------------------------------------------------------------------

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * An SVG chart of every sysipc and built-in case's ratio to C (log scale), one panel per
 * placement, a dot per runtime, with lines at 1 (C), 1.2, 1.5 and 2.
 *
 * @param records The records.
 * @param placements The placements, in order.
 * @returns The SVG document.
 */
export function chart(records: CaseRecord[], placements: string[]): string {
  const js = records.filter((r) => r.runtime !== "c");
  const keys = [...new Set(js.map((r) => keyOf({ ...r, mech: r.mechanism })))];
  const rowH = 13, top = 46, labelW = 250, panelW = 330, gap = 20;
  const lo = Math.log10(0.05), hi = Math.log10(20);
  const width = labelW + placements.length * (panelW + gap);
  const height = top + keys.length * rowH + 30;
  const x = (panel: number, ratio: number) =>
    labelW + panel * (panelW + gap) +
    (Math.min(Math.max(Math.log10(ratio), lo), hi) - lo) / (hi - lo) * panelW;
  const colors: Record<string, string> = { deno: "#1f77b4", bun: "#e6550d" };
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="4" y="14" font-size="12" font-weight="bold">sysipc: time per message ÷ C ` +
    `doing the same (log scale; left of 1 is faster than C)</text>`,
    `<circle cx="8" cy="28" r="4" fill="${colors.deno}"/><text x="16" y="31">Deno</text>`,
    `<circle cx="58" cy="28" r="4" fill="${colors.bun}"/><text x="66" y="31">Bun</text>`,
  ];
  placements.forEach((pin, p) => {
    const x0 = labelW + p * (panelW + gap);
    out.push(
      `<text x="${x0 + panelW / 2}" y="${top - 4}" text-anchor="middle" font-weight="bold">` +
        `${pin === "split" ? "two CPUs (split)" : pin === "same" ? "one CPU (same)" : pin}</text>`,
    );
    for (const r of [0.1, 0.2, 0.5, 1, 1.2, 1.5, 2, 5, 10]) {
      const xr = x(p, r).toFixed(1);
      const strong = r === 1;
      const target = r === 1.2 || r === 1.5;
      const bottom = top + keys.length * rowH;
      out.push(
        `<line x1="${xr}" y1="${top}" x2="${xr}" y2="${bottom}" stroke="${
          strong ? "#000" : target || r === 2 ? "#c00" : "#ddd"
        }" stroke-width="${strong ? 1 : 0.6}"${
          target || r === 2 ? ' stroke-dasharray="3,2"' : ""
        }/>`,
        target ? "" : `<text x="${xr}" y="${bottom + 12}" text-anchor="middle">${r}</text>`,
      );
    }
    out.push(
      `<text x="${x(p, 1.35).toFixed(1)}" y="${top + keys.length * rowH + 24}" ` +
        `text-anchor="middle" fill="#c00">targets 1.2, 1.5, 2</text>`,
    );
  });
  keys.forEach((key, i) => {
    const y = top + i * rowH + rowH / 2;
    const any = js.find((r) => keyOf({ ...r, mech: r.mechanism }) === key)!;
    if (i % 2 === 0) {
      out.push(
        `<rect x="0" y="${y - rowH / 2}" width="${width}" height="${rowH}" fill="#f4f4f4"/>`,
      );
    }
    out.push(`<text x="${labelW - 6}" y="${y + 3}" text-anchor="end">${esc(label(any))}</text>`);
    placements.forEach((pin, p) => {
      for (const impl of ["deno", "bun"] as const) {
        const r = js.find((r) =>
          r.runtime === impl && r.placement === pin && keyOf({ ...r, mech: r.mechanism }) === key
        );
        if (!r || r.ratio_c === null) continue;
        out.push(
          `<circle cx="${x(p, r.ratio_c).toFixed(1)}" cy="${y}" r="3.5" fill="${colors[impl]}" ` +
            `fill-opacity="0.85"><title>${impl} ${esc(label(r))}: ${
              ratioText(r.ratio_c)
            }× C</title></circle>`,
        );
      }
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

// ---- the files --------------------------------------------------------------------------------

/**
 * Writes `results.json`, `results.md` and `ratios.svg` into `out`, and with `results`
 * also bench/RESULTS.md and bench/ratios.svg.
 *
 * @param run The meta data, the records and the micro-benchmarks.
 * @param out The output directory.
 * @param results Whether to write bench/RESULTS.md.
 * @returns The files written, and a summary for the console.
 */
export function writeReports(
  run: { meta: Meta; records: CaseRecord[]; micro?: Micro },
  out: string,
  results: boolean,
): { files: string[]; summary: string } {
  const { meta, records, micro } = run;
  const files: string[] = [];
  const json = join(out, "results.json");
  writeFileSync(json, JSON.stringify({ meta, micro, records }, null, 1) + "\n");
  files.push(json);
  const svg = join(out, "ratios.svg");
  writeFileSync(svg, chart(records, meta.placements));
  files.push(svg);
  const tables = meta.placements.flatMap((pin) => [
    `### ${
      pin === "split"
        ? "Two CPUs (`--pin split`: parent on CPU 0, child on CPU 1)"
        : pin === "same"
        ? "One shared CPU (`--pin same`: both on CPU 0)"
        : `\`--pin ${pin}\``
    }`,
    "",
    ...placementTable(records, pin),
    "",
  ]);
  const summary = targetSummary(records, meta.placements);
  const unexpected = records.filter((r) =>
    r.placement !== "none" &&
    r.placement_observed.some((o) =>
      o !== r.placement && !(o === "in-process" && r.mechanism === "worker")
    )
  );
  const placementLines = unexpected.length === 0
    ? ["Every process (every thread of it) ran where it was asked to, as sampled from /proc."]
    : [
      "Cases whose processes were seen elsewhere than asked (from /proc):",
      ...unexpected.map((r) =>
        `- ${r.runtime} ${label(r)}, ${r.placement}: ${r.placement_observed.join("; ")}`
      ),
    ];
  const badBytes = records.filter((r) => r.rounds > 0 && !r.bytes_checked);
  const md = [
    `Cases: ${records.length} (${meta.mode}, ${meta.rounds} round(s)); ${
      records.filter((r) => r.rounds === 0).length
    } without a result.`,
    ...(badBytes.length
      ? [`Payload checks failed for: ${badBytes.map((r) => `${r.runtime} ${label(r)}`).join(", ")}`]
      : ["Every case's receiver checked exactly the payload the case moves."]),
    ...placementLines,
    "",
    "Targets:",
    ...summary,
    "",
    ...tables,
  ];
  const mdPath = join(out, "results.md");
  writeFileSync(mdPath, md.join("\n") + "\n");
  files.push(mdPath);
  if (results) {
    const v = meta.versions;
    const doc = [
      "# sysipc benchmark results",
      "",
      "Generated by `npm run bench:results` (bench/run.ts `--results`); do not edit by hand.",
      "",
      `- Run: ${meta.date}, \`${meta.command}\`, ${meta.mode} mode, ${meta.rounds} round(s), ${
        Math.round(meta.seconds / 60)
      } min.`,
      `- Machine: ${v.cpus} × ${v.cpu_model}, Linux ${v.kernel}; Deno ${v.deno}, Bun ${v.bun}; ${v.gcc}.`,
      `- Load average (1, 5, 15 min) at the start: ${
        meta.load_start.map((x) => x.toFixed(2)).join(", ")
      }; ` +
      `at the end: ${meta.load_end.map((x) => x.toFixed(2)).join(", ")}. The machine's CPUs are ` +
      `shared with other work: a load above 0 means other processes ran during the measurements.`,
      `- Scale: ${meta.scale.messages} measured round trips per small case after ${meta.scale.warmup} ` +
      `of warm-up (fewer for 64 KiB and 1 MiB messages, ten times more in batches of 20 for the ` +
      `sub-microsecond shared-memory and small streamed cases). On Deno and Bun, the first case ` +
      `of each mechanism, mode and kind (round trips or stream) and size class (below 64 KiB, ` +
      `from 64 KiB, from 1 MiB) warms up ${meta.scale.firstWarmup ?? 1} times longer, so that ` +
      `the JIT compilers are done with its code.`,
      ...(meta.no_c ? [`- C baselines skipped: ${meta.no_c}`] : []),
      ...(meta.note ? [`- Note: ${meta.note}`] : []),
      ...(meta.failures.length ? ["- Failures:", ...meta.failures.map((f) => `  - ${f}`)] : []),
      "",
      "How to read it: times are time / p99 per message in µs, where time is the median round trip,",
      "or for a one-way stream the mean time per message at the receiver (elapsed ÷ messages: its",
      "throughput; a median interval would hide the stalls between bursts); `× C` is the median",
      "over rounds of this case's time divided by the time of C doing the same exchange in the same",
      "round (below 1: faster than C);",
      "`× built-in` divides by the same runtime's own Unix socket (`Deno.listen`/`Bun.listen`) with",
      "the same messages. Targets apply to round trips, and to the port's 1 MiB stream. See the",
      "README's Benchmarks section for what limits the misses.",
      "",
      "![ratios to C](ratios.svg)",
      "",
      "## Summary",
      "",
      ...md,
      "## FFI layer (in-process micro-benchmarks)",
      "",
      "bench/ffi_bench.ts (`deno bench -A bench/ffi_bench.ts` for Deno's own statistics) and",
      "bench/alloc.ts. ns per call, median of batches.",
      "",
      ...microTables(micro),
      "",
    ];
    const resultsPath = join(BENCH_DIR, "RESULTS.md");
    writeFileSync(resultsPath, doc.join("\n") + "\n");
    copyFileSync(svg, join(BENCH_DIR, "ratios.svg"));
    files.push(resultsPath, join(BENCH_DIR, "ratios.svg"));
  }
  return {
    files,
    summary: ["", ...md.slice(0, 3 + placementLines.length + summary.length + 2)].join("\n"),
  };
}

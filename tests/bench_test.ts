/**
 * The benchmark suite's own correctness (bench/run.ts), never its timings: a short run
 * with tiny counts, for the runtime running the test (and C), on one shared CPU (the
 * placement where a protocol that forgets to yield would hang), must give a result for
 * every case, and every case's receiver must have checked exactly the payload the case
 * claims to move (bench/groups/_common.ts and bench/baseline.c check the length, the
 * sequence number and the last byte of every message). Also: the C baselines come from
 * bench/baseline.c compiled by the run, the chart and the tables are written, and every
 * record has the fields issue 12 lists.
 *
 * Runs under both `deno test -A` and `bun test`. Without gcc the C cases are skipped by the
 * suite (it says why), and this test checks the rest.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CaseDef, groupCases, GROUPS, keyOf, MIB } from "../bench/catalog.ts";
import { buildRecords, type Sample } from "../bench/report.ts";
import { CURRENT, hasCommand, ROOT, RUNTIMES, tempDir } from "./helpers.ts";

describe("benchmark suite", () => {
  it("moves and checks every byte each case claims, for C and this runtime", async () => {
    using dir = tempDir();
    const script = join(ROOT, "bench", "run.ts");
    const args = [
      ...(CURRENT === "deno" ? ["run", "-A", "--no-prompt", script] : [script]),
      ...["--messages", "12", "--warmup", "3", "--rounds", "1"],
      ...["--pin", hasCommand("taskset") ? "same" : "none"],
      ...["--runtimes", CURRENT, "--no-micro", "--out", dir.path],
    ];
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) =>
        execFile(
          RUNTIMES[CURRENT],
          args,
          { timeout: 180_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? (error.code as number) ?? null : 0, stdout, stderr }),
        ),
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const { records } = JSON.parse(readFileSync(join(dir.path, "results.json"), "utf8")) as {
      records: Record<string, unknown>[];
    };
    // Every case of the catalog, for C and this runtime, has its record.
    const impls = hasCommand("gcc") ? ["c", CURRENT] as const : [CURRENT];
    const planned = GROUPS.flatMap((g) =>
      impls.flatMap((impl) => groupCases(g, impl, { messages: 12, warmup: 3, firstWarmup: 2 }))
    ).map((c) => `${c.impl} ${keyOf(c)}`);
    const got = records.map((r) => `${r.runtime} ${r.mechanism}:${r.mode}:${r.kind}:${r.size}`);
    assert.deepEqual(got.sort(), planned.sort());
    for (const r of records) {
      const name = `${r.runtime} ${r.mechanism} ${r.mode} ${r.kind} ${r.size}`;
      assert.equal(r.rounds, 1, `${name}: no result`);
      assert.equal(r.bytes_checked, true, `${name}: the receiver did not check every byte`);
      for (
        const field of [
          "mechanism",
          "runtime",
          "mode",
          "placement",
          "size",
          "p50_ns",
          "p99_ns",
          "msgs_per_s",
          "bytes_per_s",
          "ratio_c",
          "ratio_builtin",
        ]
      ) assert.ok(field in r, `${name}: no ${field}`);
    }
    for (const file of ["results.md", "ratios.svg"]) assert.ok(existsSync(join(dir.path, file)));
  });

  it("compares a stream by its mean time per message, a round trip by its median", () => {
    const def = (impl: CaseDef["impl"], kind: CaseDef["kind"], mech = "port"): CaseDef => ({
      group: "port",
      impl,
      mech: impl === "c" ? "shm" : mech,
      mode: impl === "c" ? "memcpy" : "async",
      kind,
      size: MIB,
      messages: 10,
      warmup: 1,
      batch: 1,
    });
    const sample = (p50: number, mean: number): Sample => ({
      p50_ns: p50,
      p99_ns: 10 * mean,
      mean_ns: mean,
      bytes: 10 * MIB,
      messages: 10,
    });
    const stream = def("deno", "stream");
    const cStream = def("c", "stream");
    const samples = new Map([
      // A receiver that drains bursts: short median interval, long stalls between bursts.
      [`same|deno|${keyOf(stream)}`, [sample(80_000, 160_000)]],
      [`same|c|${keyOf(cStream)}`, [sample(32_000, 40_000)]],
    ]);
    const [record] = buildRecords([{ pin: "same", c: stream }], samples, new Map(), 1);
    assert.equal(record!.time_ns, 160_000);
    assert.equal(record!.ratio_c, 4);
    assert.deepEqual(record!.targets.map((t) => t.pass), [true]);
    samples.set(`same|deno|${keyOf(stream)}`, [sample(80_000, 161_000)]);
    const [missed] = buildRecords([{ pin: "same", c: stream }], samples, new Map(), 1);
    assert.deepEqual(missed!.targets.map((t) => t.pass), [false], "4.025× C misses 4×");
    const rtt = { ...def("deno", "rtt"), size: 64 };
    samples.set(`same|deno|${keyOf(rtt)}`, [sample(9_000, 12_000)]);
    const [round] = buildRecords([{ pin: "same", c: rtt }], samples, new Map(), 1);
    assert.equal(round!.time_ns, 9_000);
  });
});

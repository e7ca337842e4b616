/**
 * Helpers shared by the sem tests: the C peer (tests/fixtures/sem_peer.c, compiled once per
 * process), running it, and reading a glibc semaphore's waiter count from /dev/shm.
 *
 * @module
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FixtureResult, ROOT } from "./helpers.ts";

function compile(): { path: string; skip: false } | { path: ""; skip: string } {
  const dir = mkdtempSync(join(tmpdir(), "sysipc-sem-"));
  const path = join(dir, "sem_peer");
  const source = join(ROOT, "tests", "fixtures", "sem_peer.c");
  const r = spawnSync("gcc", ["-O2", "-Wall", "-o", path, source], { encoding: "utf8" });
  if ((r.error as { code?: string } | undefined)?.code === "ENOENT") {
    return { path: "", skip: "gcc is not installed (apt-get install gcc libc6-dev)" };
  }
  if (r.status !== 0) throw new Error(`gcc failed on sem_peer.c: ${r.stderr}`);
  return { path, skip: false };
}

/** The compiled C peer, or why the tests that need it are skipped. */
export const cPeer: { path: string; skip: string | false } = compile();

/**
 * Runs the C peer to completion.
 *
 * @param args Its arguments (see sem_peer.c).
 * @param timeoutMs Kill it after this long.
 * @returns Exit code and output.
 */
export function runC(args: string[], timeoutMs = 20_000): Promise<FixtureResult> {
  return new Promise((resolve) => {
    execFile(
      cPeer.path,
      args,
      { timeout: timeoutMs, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The units a peer (C or fixture) reports in its JSON line, after checking it succeeded.
 *
 * @param result The finished peer.
 * @returns `units` from its output.
 */
export function unitsOf(result: FixtureResult): number {
  if (result.code !== 0) throw new Error(`peer failed (${result.code}): ${result.stderr}`);
  return (JSON.parse(result.stdout.trim().split("\n").pop()!) as { units: number }).units;
}

/**
 * How many waiters glibc's `sem_t` of a named semaphore counts (the high half of its first
 * 64-bit word, in /dev/shm/sem.NAME).
 *
 * @param name The semaphore's name, `"/name"`.
 * @returns The waiter count.
 */
export function countedWaiters(name: string): number {
  const bytes = readFileSync(`/dev/shm/sem.${name.slice(1)}`);
  return bytes.readUInt32LE(4);
}

/**
 * Helpers shared by the sem tests: the C peer (tests/fixtures/sem_peer.c, compiled once per
 * version of it), running it, and reading a glibc semaphore's waiter count from /dev/shm.
 *
 * @module
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { IpcError } from "../mod.ts";
import type { WaitOptions } from "../ffi/wait/mod.ts";
import { type FixtureResult, ROOT } from "./helpers.ts";

/**
 * Compiles the C peer into node_modules/.cache (ignored by git), once per version of its
 * source: test processes (which do not run exit handlers) leave nothing behind in /tmp,
 * and concurrent ones each build into a file of their own, then rename it into place.
 */
function compile(): { path: string; skip: false } | { path: ""; skip: string } {
  const source = join(ROOT, "tests", "fixtures", "sem_peer.c");
  const hash = createHash("sha256").update(readFileSync(source)).digest("hex").slice(0, 16);
  const dir = join(ROOT, "node_modules", ".cache", "sysipc-tests");
  const path = join(dir, `sem_peer-${hash}`);
  if (existsSync(path)) return { path, skip: false };
  mkdirSync(dir, { recursive: true });
  const building = `${path}.${process.pid}`;
  const r = spawnSync("gcc", ["-O2", "-Wall", "-o", building, source], { encoding: "utf8" });
  if ((r.error as { code?: string } | undefined)?.code === "ENOENT") {
    return { path: "", skip: "gcc is not installed (apt-get install gcc libc6-dev)" };
  }
  if (r.status !== 0) throw new Error(`gcc failed on sem_peer.c: ${r.stderr}`);
  renameSync(building, path);
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

/** A semaphore under test, whatever its kind. */
export interface Units {
  /** Takes one unit, waiting as the options say. */
  take(options: WaitOptions): Promise<unknown>;
  /** Takes one unit, blocking. */
  takeSync(options: WaitOptions): unknown;
  /** Gives one unit. */
  give(): void;
  /** The current value. */
  value(): number;
}

/**
 * Takes units until none comes for `idleMs`.
 *
 * @param units The semaphore.
 * @param idleMs How long a wait may last before the posts are taken to be over.
 * @returns How many were taken.
 */
export async function takeUntilIdle(units: Units, idleMs: number): Promise<number> {
  let taken = 0;
  try {
    while (true) {
      await units.take({ timeout: idleMs });
      taken++;
    }
  } catch (e) {
    if (!(e instanceof IpcError && e.code === "ETIMEDOUT")) throw e;
  }
  return taken;
}

/**
 * Takes units while a poster runs, giving waits up at random after 0–3 ms, half by their
 * timeout and half by an abort, so that waits end at every stage (spinning, parked, in
 * the kernel, just woken).
 *
 * @param units The semaphore.
 * @param posting The poster, running.
 * @returns How many units were taken and how many waits were given up.
 */
export async function takeWhileGivingUp(
  units: Units,
  posting: Promise<FixtureResult>,
): Promise<{ taken: number; gaveUp: number }> {
  let taken = 0, gaveUp = 0, done = false;
  void posting.then(() => done = true);
  while (!done || units.value() > 0) {
    const controller = new AbortController();
    const ms = Math.random() * 3;
    const timer = setTimeout(() => controller.abort("gave up"), ms);
    try {
      await units.take(Math.random() < 0.5 ? { timeout: ms } : { signal: controller.signal });
      taken++;
    } catch (e) {
      if (e !== "gave up" && !(e instanceof IpcError && e.code === "ETIMEDOUT")) throw e;
      gaveUp++;
    } finally {
      clearTimeout(timer);
    }
  }
  return { taken, gaveUp };
}

/**
 * Waits (sync or async) for 20 units from a peer that posts them, then posts 20 for the
 * same peer waiting.
 *
 * @param units The semaphore.
 * @param mode How this process waits, and so the peer.
 * @param peer Starts the peer with `post` or `wait-<mode>` as its action.
 */
export async function exchangeWithPeer(
  units: Units,
  mode: string,
  peer: (action: string) => Promise<FixtureResult>,
): Promise<void> {
  const posting = peer("post");
  for (let i = 0; i < 20; i++) {
    if (mode === "sync") units.takeSync({ timeout: 10_000 });
    else await units.take({ timeout: 10_000 });
  }
  if (unitsOf(await posting) !== 20) throw new Error("the peer posted a wrong count");
  const waiting = peer(`wait-${mode}`);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, Math.random() * 3));
    units.give();
  }
  if (unitsOf(await waiting) !== 20) throw new Error("the peer took a wrong count");
  if (units.value() !== 0) throw new Error(`${units.value()} units left`);
}

/**
 * Takes units while a C waiter, blocked first, takes them too and another process posts
 * 200, then checks that each side had a fair share: at least 30. Measured here: sysipc
 * takes 33–44 % with io_uring, 21–44 % on the polling backend (its wake-ups cross a helper
 * thread, so it loses more races to the C waiter just woken); waits that poll a word or
 * retry on a timer took 0–1 %.
 *
 * @param units The semaphore.
 * @param draining The C waiter (`drain` or `sysv-drain`), already blocked.
 * @param posting The poster of 200 units.
 */
export async function shareWithC(
  units: Units,
  draining: Promise<FixtureResult>,
  posting: Promise<FixtureResult>,
): Promise<void> {
  const mine = await takeUntilIdle(units, 1500);
  if (unitsOf(await posting) !== 200) throw new Error("the poster posted a wrong count");
  const theirs = unitsOf(await draining);
  if (mine + theirs !== 200 || mine < 30 || theirs < 30) {
    throw new Error(`not a fair share of 200: sysipc took ${mine}, C ${theirs}`);
  }
}

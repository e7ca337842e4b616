/**
 * Every case of the benchmark suite, which C case and which built-in each is compared
 * with, and the targets (issue 12). It measures nothing itself: bench/run.ts runs the
 * cases, bench/report.ts writes what they gave.
 *
 * A case is measured by one side of a group (bench/side.ts for Deno and Bun,
 * bench/baseline.c for C): `mech:mode:kind:size`, where `kind` is `rtt` (two-process
 * ping-pong: the time of one round trip) or `stream` (one way, the child sends: the time
 * per message at the receiver).
 *
 * @module
 */
import type { Case } from "./groups/_common.ts";

/** Who runs a case. */
export type Impl = "c" | "deno" | "bun";

/** A group: one pair of processes runs all its cases, one after the other. */
export type GroupName =
  | "pipe"
  | "fifo"
  | "uds"
  | "shm"
  | "mq"
  | "sem"
  | "signal"
  | "unix"
  | "worker"
  | "ipc"
  | "port";

/** The groups, in the order each round runs them. */
export const GROUPS: readonly GroupName[] = [
  "pipe",
  "fifo",
  "uds",
  "shm",
  "mq",
  "sem",
  "signal",
  "unix",
  "worker",
  "ipc",
  "port",
];

/** The groups only the JavaScript runtimes run (their C baseline is another group's). */
const BUILTIN_GROUPS: ReadonlySet<GroupName> = new Set(["unix", "worker", "ipc"]);

/** One case of one implementation. */
export interface CaseDef extends Case {
  group: GroupName;
  impl: Impl;
}

/** The key of a case, without the implementation: `mech:mode:kind:size`. */
export function keyOf(c: { mech: string; mode: string; kind: string; size: number }): string {
  return `${c.mech}:${c.mode}:${c.kind}:${c.size}`;
}

/** How many messages: the suite's scale. */
export interface Scale {
  /** Measured round trips of a small case (≤ 4 KiB). */
  messages: number;
  /** Warm-up round trips of a small case. */
  warmup: number;
  /**
   * How many times longer the first case of each mechanism, mode and kind (round trips or
   * stream; messages below 64 KiB or not) warms up on Deno and Bun: until their JIT
   * compilers have finished with its code. On one CPU, the compilers' threads otherwise
   * run during the measurement and take the CPU from both sides, and code not yet
   * optimized makes its FFI calls on the slow path (seen: System V queue, sync, 64 B, Deno
   * 1.29-1.31× C after 20,000 round trips and 1.18× after 50,000 or 100,000; Bun, 4 KiB,
   * 13 µs a round trip after 10,000 and 9.8 µs after 20,000, in a run of that case alone;
   * port, 1 MiB stream, Deno 227 µs a message after 50 warm-up messages, 167 after 500).
   */
  firstWarmup: number;
}

/** `--quick`: about two minutes for everything, on this machine. */
export const QUICK: Scale = { messages: 1000, warmup: 500, firstWarmup: 4 };
/** The full run. */
export const FULL: Scale = { messages: 4000, warmup: 1000, firstWarmup: 50 };

const RTT_SIZES = [64, 4096, 65536];
/** 1 MiB. */
export const MIB = 1 << 20;
/**
 * The port group's small object as a message on the socket (bench/groups/port.ts checks
 * it): record header, value length, value.
 */
export const ORDER_SIZE = 85;
/** Sizes at which the port group measures its socket path against its ring. */
const CROSSOVER_RTT = [64, 1024, 4096, 16384, 65536];
const CROSSOVER_STREAM = [64, 4096, 65536, MIB];

/** The size classes that warm up separately (see `groupCases`). */
function sizeClass(size: number): number {
  return size >= MIB ? 2 : size >= 65536 ? 1 : 0;
}

/** Counts for a case: bigger messages get fewer, sub-microsecond ones more, in batches. */
function counts(
  mech: string,
  kind: "rtt" | "stream",
  size: number,
  s: Scale,
): Pick<Case, "messages" | "warmup" | "batch"> {
  const shm = mech === "shm" || mech === "shm-sysv";
  if (size >= MIB) {
    // A stream of them is judged by its mean: enough messages that a collection of the
    // runtime's garbage (every 8-18 MiB) is part of the mean, after a warm-up that lets the
    // collector's thresholds settle (port, 1 MiB stream: 310-620 µs a message after 50
    // warm-up messages, 175-245 after 500 more).
    return {
      messages: Math.max(20, s.messages / 10),
      warmup: Math.max(5, s.warmup / 2),
      batch: 1,
    };
  }
  if (size >= 65536) return { messages: s.messages / 4, warmup: s.warmup / 4, batch: 1 };
  // A reading of the clock costs 25 ns in C and 50-70 ns in JavaScript: cases of about a
  // microsecond (shared memory, small streamed messages) read it every 20 messages.
  if (shm || kind === "stream") {
    return { messages: s.messages * 10, warmup: s.warmup * (shm ? 10 : 2), batch: 20 };
  }
  return { messages: s.messages, warmup: s.warmup, batch: 1 };
}

function make(
  group: GroupName,
  impl: Impl,
  mech: string,
  mode: string,
  kind: "rtt" | "stream",
  size: number,
  s: Scale,
): CaseDef {
  const n = counts(mech, kind, size, s);
  return {
    group,
    impl,
    mech,
    mode,
    kind,
    size,
    messages: Math.round(n.messages),
    warmup: Math.round(n.warmup),
    batch: n.batch,
  };
}

/**
 * The cases of a group for one implementation, in the order its pair runs them.
 *
 * @param group The group.
 * @param impl Who runs it.
 * @param s The scale.
 * @returns The cases (none when `impl` does not run this group).
 */
export function groupCases(group: GroupName, impl: Impl, s: Scale): CaseDef[] {
  const c = impl === "c";
  if (c && BUILTIN_GROUPS.has(group)) return [];
  const modes = c ? ["block"] : ["sync", "async"];
  const out: CaseDef[] = [];
  const add = (mech: string, mode: string, kind: "rtt" | "stream", size: number) =>
    out.push(make(group, impl, mech, mode, kind, size, s));
  const both = (mech: string, rtt: number[], stream: number[]) => {
    for (const mode of modes) {
      for (const size of rtt) add(mech, mode, "rtt", size);
      for (const size of stream) add(mech, mode, "stream", size);
    }
  };
  switch (group) {
    case "pipe":
      both("pipe", RTT_SIZES, [64, 65536, MIB]);
      add("pipe", c ? "spin" : "async-nospin", "rtt", 64);
      break;
    case "fifo":
      both("fifo", RTT_SIZES, [65536]);
      break;
    case "uds":
      both("uds-stream", RTT_SIZES, [64, 65536, MIB]);
      both("uds-seqpacket", RTT_SIZES, [64, 65536]);
      both("uds-dgram", RTT_SIZES, [64, 65536]);
      break;
    case "shm":
      if (c) {
        for (const size of RTT_SIZES) add("shm", "spin", "rtt", size);
        add("shm", "futex", "rtt", 64);
        for (const size of [64, 65536, MIB]) add("shm", "spin", "stream", size);
        for (const size of [65536, MIB]) add("shm", "memcpy", "stream", size);
      } else {
        both("shm", RTT_SIZES, [64, 65536, MIB]);
      }
      add("shm-sysv", "spin", "rtt", 64);
      break;
    case "mq":
      // Linux caps a message at 8 KiB by default (fs.mqueue.msgsize_max, kernel.msgmax).
      both("mq-posix", [64, 4096], [64, 4096]);
      both("mq-sysv", [64, 4096], [64, 4096]);
      if (!c) both("mq-posix-ffi", [64], []); // the runtime's floors
      if (!c) both("mq-sysv-ffi", [64, 4096], []);
      break;
    case "sem":
      both("sem-posix", [0], []);
      both("sem-sysv", [0], []);
      both("eventfd", [0], []);
      if (!c) both("eventfd-ffi", [0], []); // the runtime's floor
      break;
    case "signal":
      if (c) {
        add("signal", "wait", "rtt", 4);
        add("signal", "handler", "rtt", 4);
      } else {
        both("signal", [4], []);
      }
      break;
    case "unix":
      for (const size of RTT_SIZES) add("unix-builtin", "builtin", "rtt", size);
      add("unix-builtin", "builtin", "stream", 65536);
      break;
    case "worker":
      for (const size of RTT_SIZES) add("worker", "builtin", "rtt", size);
      break;
    case "ipc":
      for (const size of RTT_SIZES) add("child-ipc", "builtin", "rtt", size);
      break;
    case "port":
      if (c) {
        add("uds-seqpacket", "block", "rtt", ORDER_SIZE);
        break;
      }
      add("port-object", "async", "rtt", ORDER_SIZE);
      add("worker-object", "builtin", "rtt", ORDER_SIZE);
      add("child-ipc-object", "builtin", "rtt", ORDER_SIZE);
      if (impl === "bun") add("bun-ipc-object", "builtin", "rtt", ORDER_SIZE);
      for (const size of RTT_SIZES) add("port", "async", "rtt", size);
      for (const size of [64, 65536, MIB]) add("port", "async", "stream", size);
      add("fresh-copy", "builtin", "stream", MIB);
      add("copy-floor", "builtin", "stream", MIB);
      add("ring-floor", "builtin", "stream", MIB);
      for (const mode of ["socket", "ring"]) {
        for (const size of CROSSOVER_RTT) add("port", mode, "rtt", size);
        for (const size of CROSSOVER_STREAM) add("port", mode, "stream", size);
      }
      break;
  }
  if (!c) {
    // The first case of each mechanism, mode, kind and size class warms up the JIT
    // compilers: messages below 64 KiB, from 64 KiB, and from 1 MiB go through different
    // code (chunks, streams, message assembly), and the code that runs once per message is
    // compiled last, after as many messages (port, 1 MiB stream, Bun, one CPU: JIT threads
    // still compiled 35 ms of code between the 500th and the 900th message after 12,500
    // warm-up messages of 64 KiB; mean 178-219 µs a message after 500 more, 129-158 µs
    // after 15,000).
    const seen = new Set<string>();
    for (const d of out) {
      const kind = `${d.mech}:${d.mode}:${d.kind}:${sizeClass(d.size)}`;
      if (!seen.has(kind)) d.warmup *= s.firstWarmup;
      seen.add(kind);
    }
  }
  return out;
}

/** The C case a sysipc or built-in case is compared with (`ratio_c`), and extra ones. */
export function cBaselines(c: Case): { main?: string; extra: string[] } {
  const same = (mech: string, mode: string) => keyOf({ ...c, mech, mode });
  switch (c.mech) {
    case "pipe":
      return {
        main: same("pipe", "block"),
        extra: c.kind === "rtt" && c.size === 64 ? [same("pipe", "spin")] : [],
      };
    case "shm":
      return {
        main: same("shm", "spin"),
        extra: [
          ...(c.kind === "rtt" && c.size === 64 ? [same("shm", "futex")] : []),
          ...(c.kind === "stream" && c.size >= 65536 ? [same("shm", "memcpy")] : []),
        ],
      };
    case "shm-sysv":
      return { main: same("shm-sysv", "spin"), extra: [] };
    case "signal":
      return { main: same("signal", "wait"), extra: [same("signal", "handler")] };
    case "unix-builtin":
    case "worker":
    case "child-ipc":
      return { main: same("uds-stream", "block"), extra: [] };
    case "port-object":
    case "worker-object":
    case "child-ipc-object":
    case "bun-ipc-object":
      return { main: same("uds-seqpacket", "block"), extra: [] };
    case "fresh-copy":
    case "copy-floor":
    case "ring-floor":
      return { main: same("shm", "memcpy"), extra: [] };
    case "port":
      return {
        main: c.kind === "stream" && c.size === MIB
          ? same("shm", "memcpy")
          : same("uds-seqpacket", "block"),
        extra: [],
      };
    default:
      // A raw FFI floor (`eventfd-ffi`, …) is compared with C doing its mechanism's exchange.
      return { main: same(c.mech.replace(/-ffi$/, ""), "block"), extra: [] };
  }
}

/** The same runtime's built-in case a case is compared with (`ratio_builtin`), if any. */
export function builtinBaseline(c: Case): string | undefined {
  if (c.mech === "port-object") {
    // The runtime's own process IPC: Bun's Bun.spawn({ ipc }), Deno's node:child_process.
    const mech = (c as Partial<CaseDef>).impl === "bun" ? "bun-ipc-object" : "child-ipc-object";
    return keyOf({ ...c, mech, mode: "builtin" });
  }
  if (c.mech === "unix-builtin" || c.mech.endsWith("-object")) return undefined;
  if (c.kind === "rtt" && RTT_SIZES.includes(c.size)) {
    return keyOf({ mech: "unix-builtin", mode: "builtin", kind: "rtt", size: c.size });
  }
  if (c.kind === "stream" && c.size === 65536) {
    return keyOf({ mech: "unix-builtin", mode: "builtin", kind: "stream", size: c.size });
  }
  return undefined;
}

/** Mechanisms whose sync calls are system-call bound (the 1.2× target). */
const SYSCALL_BOUND = new Set([
  "pipe",
  "fifo",
  "uds-stream",
  "uds-seqpacket",
  "uds-dgram",
  "mq-posix",
  "mq-sysv",
  "sem-posix",
  "sem-sysv",
  "eventfd",
  "signal",
]);

/**
 * Async targets the semaphore and message-queue issues set per mechanism, in both
 * placements; other mechanisms have 1.5× on two CPUs and 2× on one.
 */
const ASYNC_TARGETS: Record<string, number | undefined> = {
  "eventfd": 1.5,
  "sem-posix": 2,
  "sem-sysv": 2.5,
  "mq-posix": 1.5,
  "mq-sysv": 2.5,
};

/** One target a case is held to. */
export interface Target {
  /** Which ratio: `c` (× its C case) or `builtin` (× the runtime's Unix socket). */
  ratio: "c" | "builtin";
  /** The largest value allowed. */
  max: number;
  /** As the issue states it. */
  text: string;
}

/**
 * The targets for a sysipc case in a placement. Targets apply to round trips, and
 * to the port's 1 MiB stream (its throughput); other streams are reported for information.
 *
 * @param c The case.
 * @param placement `split` or `same`.
 * @returns Its targets (none for baselines and built-ins).
 */
export function targets(c: Case, placement: string): Target[] {
  if (c.mech === "port-object") {
    return [
      { ratio: "c", max: 2, text: "≤ 2× C seqpacket ping-pong of the encoded bytes" },
      { ratio: "builtin", max: 1, text: "faster than the runtime's own process IPC" },
    ];
  }
  if (c.mech === "port" && c.mode === "async" && c.kind === "stream" && c.size === MIB) {
    return [{ ratio: "c", max: 4, text: "≥ 25 % of memcpy bandwidth" }];
  }
  if (c.kind !== "rtt" || c.mode === "builtin" || c.mode === "async-nospin") return [];
  const out: Target[] = [];
  if (c.mech === "shm") {
    out.push({ ratio: "c", max: 3, text: "≤ 3× C spin" });
    out.push({ ratio: "builtin", max: 1 / 20, text: "≥ 20× faster than the built-in socket" });
    return out;
  }
  if (!SYSCALL_BOUND.has(c.mech)) return out;
  const own = ASYNC_TARGETS[c.mech];
  if (c.mode === "sync") out.push({ ratio: "c", max: 1.2, text: "sync ≤ 1.2× C" });
  else if (own !== undefined) out.push({ ratio: "c", max: own, text: `async ≤ ${own}× C` });
  else if (placement === "same") out.push({ ratio: "c", max: 2, text: "async ≤ 2× C (one CPU)" });
  else out.push({ ratio: "c", max: 1.5, text: "async ≤ 1.5× C (two CPUs)" });
  if (c.mech.startsWith("uds-") && builtinBaseline(c) !== undefined) {
    out.push({ ratio: "builtin", max: 1, text: "no slower than the built-in socket" });
  }
  return out;
}

/**
 * Soak (issue 14): for each queue-like mechanism — POSIX message queue, System V message
 * queue, ShmChannel, pipe (packet mode), seqpacket socket — several producers and several
 * consumers, alternately Deno and Bun processes (tests/fixtures/soak_peer.ts), move
 * messages with sequence numbers and checksums at once. Then: every message arrived
 * exactly once (per producer, the count and a sum of hashes of the sequence numbers over
 * every consumer equal those of 0 … n − 1), uncorrupted (length, checksum, every payload
 * byte), and in order where the mechanism promises it (each consumer sees each producer's
 * messages in increasing order; a seqpacket connection delivers all of them in order). The
 * resident memory of each process at its start, once warm (a tenth of its messages) and at
 * its end is printed.
 *
 * CI runs a short seeded round (`SYSIPC_SOAK_MESSAGES`, default 20,000 per mechanism);
 * `npm run soak` moves 1,000,000 per mechanism and checks that memory stays flat.
 * `SYSIPC_SOAK_SEED` replays a run (the seed is printed).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { after, describe, it } from "node:test";
import { type Child, MessageQueue, pipe, ShmChannel, spawn, SysVMessageQueue } from "../mod.ts";
import { seqHash } from "./fixtures/frames.ts";
import {
  CURRENT,
  fixtureCommand,
  type RuntimeName,
  sleep,
  tempDir,
  uniqueName,
} from "./helpers.ts";

const SEED = Number(process.env.SYSIPC_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MESSAGES = Number(process.env.SYSIPC_SOAK_MESSAGES ?? "20000");
const PRODUCERS = Number(process.env.SYSIPC_SOAK_PRODUCERS ?? "3");
const CONSUMERS = Number(process.env.SYSIPC_SOAK_CONSUMERS ?? "3");
/** How much a process's memory may grow from warm to end before the soak calls it a leak. */
const RSS_GROWTH = Number(process.env.SYSIPC_SOAK_RSS_GROWTH ?? "0");
/** The whole run of one mechanism, ms: long enough for 1,000,000 on a busy 2-CPU machine. */
const LIMIT = Math.max(60_000, MESSAGES / 20);

interface Report {
  role: "producer" | "consumer";
  id: number;
  runtime: RuntimeName;
  seconds: number;
  rssStart: number;
  rssWarm: number;
  rssEnd: number;
  sent?: number;
  count?: number;
  counts?: (number | null)[];
  hashes?: (number | null)[];
  problems?: string[];
}

const totals = { seed: SEED, messages: 0, processes: 0 };

type Mechanism = "mq" | "sysv" | "channel" | "pipe" | "seqpacket";

/** The object a run uses, how its peers reach it, and how it ends. */
interface Setup {
  /** The `<object>` argument of each peer (pipes: the fd number in the child). */
  object(role: "producer" | "consumer", id: number): string;
  /** Descriptors to hand to a peer. */
  fds?(role: "producer" | "consumer"): Record<number, number>;
  /** After the consumers started (seqpacket: they listen). */
  consumersStarted?(): Promise<void>;
  /** After every producer started: pipes close the parent's ends here. */
  producersStarted?(): void;
  /** After every producer ended: tells the consumers there is no more. */
  end(): Promise<void>;
  cleanup(): void;
}

interface Peer {
  child: Child;
  report: string;
  role: string;
  id: number;
}

function setup(mechanism: Mechanism, dir: string): Setup {
  const stop = new TextEncoder().encode("STOP");
  switch (mechanism) {
    case "mq": {
      const name = `/${uniqueName("soak-mq")}`;
      const q = MessageQueue.open(name, {
        create: true,
        exclusive: true,
        maxMessages: 10,
        messageSize: 256,
      });
      return {
        object: () => name,
        async end() {
          for (let i = 0; i < CONSUMERS; i++) await q.send(stop, { timeout: 30_000 });
        },
        cleanup() {
          q.unlink();
          q.close();
        },
      };
    }
    case "sysv": {
      const q = SysVMessageQueue.get("private", { create: true });
      return {
        object: () => `${q.id}`,
        async end() {
          for (let i = 0; i < CONSUMERS; i++) await q.send(1, stop, { timeout: 30_000 });
        },
        cleanup: () => q.remove(),
      };
    }
    case "channel": {
      const name = `/${uniqueName("soak-chan")}`;
      const c = ShmChannel.create(name, { slots: 64, slotSize: 256 });
      return {
        object: () => name,
        async end() {
          for (let i = 0; i < CONSUMERS; i++) await c.send(stop, { timeout: 30_000 });
        },
        cleanup() {
          c.unlink();
          c.close();
        },
      };
    }
    case "pipe": {
      const [reader, writer] = pipe({ packet: true });
      return {
        object: () => "3",
        fds: (role) => ({ 3: role === "producer" ? writer.fd : reader.fd }),
        producersStarted() {
          // Consumers see the end of the stream once every producer closed its copy.
          reader.close();
          writer.close();
        },
        end: () => Promise.resolve(),
        cleanup() {
          reader.close();
          writer.close();
        },
      };
    }
    case "seqpacket": {
      const path = (i: number) => join(dir, `c${i % CONSUMERS}.sock`);
      return {
        object: (_role, id) => path(id),
        async consumersStarted() {
          for (let i = 0; i < CONSUMERS; i++) {
            const deadline = performance.now() + 20_000;
            while (!existsSync(path(i))) {
              assert.ok(performance.now() < deadline, `consumer ${i} never listened`);
              await sleep(10);
            }
          }
        },
        end: () => Promise.resolve(),
        cleanup() {},
      };
    }
  }
}

/** Producer i sends this many (the first ones one more, to make MESSAGES in all). */
function share(i: number): number {
  return Math.floor(MESSAGES / PRODUCERS) + (i < MESSAGES % PRODUCERS ? 1 : 0);
}

async function soak(mechanism: Mechanism): Promise<Report[]> {
  using dir = tempDir();
  const s = setup(mechanism, dir.path);
  const peers: Peer[] = [];
  const start = (role: "producer" | "consumer", id: number, runtime: RuntimeName) => {
    const report = join(dir.path, `${role}${id}.json`);
    const count = role === "producer" ? share(id) : Math.ceil(MESSAGES / CONSUMERS);
    const connections = [...Array(PRODUCERS).keys()].filter((p) => p % CONSUMERS === id).length;
    const args = [mechanism, role, `${SEED}`, s.object(role, id), `${id}`, `${count}`, report];
    const [command, argv] = fixtureCommand(runtime, "soak_peer.ts", [...args, `${connections}`]);
    const child = spawn(command, argv, {
      fds: s.fds?.(role),
      env: { ...process.env } as Record<string, string>,
    });
    const peer = { child, report, role, id };
    peers.push(peer);
    return peer;
  };
  const runtimeOf = (i: number): RuntimeName => (i % 2 === 0 ? "deno" : "bun");
  const limit = setTimeout(() => {
    for (const p of peers) {
      try {
        p.child.kill("SIGKILL");
      } catch {
        // ended already
      }
    }
  }, LIMIT);
  try {
    const consumers = [...Array(CONSUMERS).keys()].map((i) =>
      start("consumer", i, runtimeOf(i + 1))
    );
    await s.consumersStarted?.();
    const producers = [...Array(PRODUCERS).keys()].map((i) => start("producer", i, runtimeOf(i)));
    s.producersStarted?.();
    for (const p of producers) {
      assert.deepEqual(await p.child.status, { code: 0, signal: null }, `producer ${p.id}`);
    }
    await s.end();
    for (const c of consumers) {
      assert.deepEqual(await c.child.status, { code: 0, signal: null }, `consumer ${c.id}`);
    }
  } finally {
    clearTimeout(limit);
    for (const p of peers) await p.child.status;
    s.cleanup();
  }
  const reports = peers.map((p) => JSON.parse(readFileSync(p.report, "utf8")) as Report);
  // Nothing lost, duplicated or corrupted; each consumer saw each producer in order.
  let received = 0;
  for (const r of reports.filter((r) => r.role === "consumer")) {
    assert.deepEqual(r.problems, [], `consumer ${r.id} (${r.runtime})`);
    received += r.count!;
  }
  for (let p = 0; p < PRODUCERS; p++) {
    let count = 0;
    let hash = 0;
    for (const r of reports) {
      count += r.counts?.[p] ?? 0;
      hash = (hash + (r.hashes?.[p] ?? 0)) >>> 0;
    }
    let expected = 0;
    for (let seq = 0; seq < share(p); seq++) expected = (expected + seqHash(seq)) >>> 0;
    assert.equal(count, share(p), `producer ${p}: messages received`);
    assert.equal(hash, expected, `producer ${p}: the sequence numbers received`);
  }
  assert.equal(received, MESSAGES);
  totals.messages += received;
  totals.processes += reports.length;
  return reports;
}

const MB = (n: number) => (n / 2 ** 20).toFixed(1);

describe(
  `soak: ${PRODUCERS} producers, ${CONSUMERS} consumers, ${MESSAGES} messages per mechanism ` +
    `(seed ${SEED})`,
  () => {
    after(() => console.log(`soak totals (${CURRENT}): ${JSON.stringify(totals)}`));
    for (const mechanism of ["mq", "sysv", "channel", "pipe", "seqpacket"] as const) {
      it(`${mechanism}: nothing lost, duplicated, reordered or corrupted`, async () => {
        const reports = await soak(mechanism);
        const lines = reports.map((r) =>
          `  ${r.role} ${r.id} (${r.runtime}): ${r.seconds.toFixed(1)} s, RSS ${
            MB(r.rssStart)
          } → ` +
          `${MB(r.rssWarm)} (warm) → ${MB(r.rssEnd)} MB`
        );
        console.log(`${mechanism}: ${MESSAGES} messages\n${lines.join("\n")}`);
        if (RSS_GROWTH > 0) {
          for (const r of reports) {
            assert.ok(
              r.rssEnd - r.rssWarm <= RSS_GROWTH * 2 ** 20,
              `${r.role} ${r.id} (${r.runtime}) grew from ${MB(r.rssWarm)} to ${MB(r.rssEnd)} MB`,
            );
          }
        }
      });
    }
  },
);

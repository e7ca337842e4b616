/**
 * The semaphore group: post/wait round trips, no payload. This side posts "ping" and waits
 * for "pong"; the child waits for "ping" and posts "pong".
 * - `sem-posix`: two POSIX named semaphores (`release` / `acquire`);
 * - `sem-sysv`: one System V set of two (`opSync` / `op` of +1 and -1);
 * - `eventfd`: two eventfds, handed to the child at fds 3 and 4 (`signal` / `wait`).
 * Modes: `sync` (the `*Sync` waits) and `async` (the awaited ones). After each case both
 * semaphores must be back at 0: no post was lost or counted twice.
 *
 * @module
 */
import process from "node:process";
import { EventFd, Semaphore, SysVSemaphoreSet } from "../../sem/mod.ts";
import { type Case, caseKey, timedLoop } from "./_common.ts";
import { type Group, result, session } from "./_group.ts";

/** One direction of the ping-pong. */
interface Channel {
  post(): void;
  waitSync(): unknown;
  wait(): Promise<unknown>;
  /** Whether the count is 0. */
  empty(): boolean;
}

function semaphoreChannel(sem: Semaphore): Channel {
  return {
    post: () => sem.release(),
    waitSync: () => sem.acquireSync(),
    wait: () => sem.acquire(),
    empty: () => sem.value === 0,
  };
}

function setChannel(set: SysVSemaphoreSet, index: number): Channel {
  const up = [{ index, delta: 1 }], down = [{ index, delta: -1 }];
  return {
    post: () => set.opSync(up),
    waitSync: () => set.opSync(down),
    wait: () => set.op(down),
    empty: () => set.getValue(index) === 0,
  };
}

function eventChannel(event: EventFd): Channel {
  return {
    post: () => event.signal(),
    waitSync: () => event.waitSync(),
    wait: () => event.wait(),
    empty: () => {
      try {
        event.waitSync({ timeout: 0 });
        return false;
      } catch {
        return true;
      }
    },
  };
}

type Pair = [Channel, Channel];

export const group: Group = {
  start(_cases, launch) {
    const base = `/sysipc-bench-${process.pid}`;
    const sems = [0, 1].map((i) => Semaphore.open(`${base}-${i}`, { create: true }));
    const set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
    const events = [new EventFd(), new EventFd()];
    const pairs: Record<string, Pair> = {
      "sem-posix": sems.map(semaphoreChannel) as Pair,
      "sem-sysv": [setChannel(set, 0), setChannel(set, 1)],
      eventfd: events.map(eventChannel) as Pair,
    };
    const child = launch([base, String(set.id)], { 3: events[0]!, 4: events[1]! });
    return Promise.resolve(session(
      child,
      async (c: Case) => {
        const [ping, pong] = pairs[c.mech]!;
        const timer = await timedLoop(
          c,
          c.mode === "sync"
            ? () => {
              ping.post();
              pong.waitSync();
            }
            : async () => {
              ping.post();
              await pong.wait();
            },
        );
        if (!ping.empty() || !pong.empty()) {
          throw new Error(`parent ${caseKey(c)}: a semaphore is not back at 0`);
        }
        return result(c, timer, 0);
      },
      () => {
        for (const s of sems) {
          s.unlink();
          s.close();
        }
        set.remove();
        for (const e of events) e.close();
      },
    ));
  },
  async child(cases, [base, id]) {
    const set = SysVSemaphoreSet.fromId(Number(id));
    const pairs: Record<string, Pair> = {
      "sem-posix": [0, 1].map((i) => semaphoreChannel(Semaphore.open(`${base}-${i}`))) as Pair,
      "sem-sysv": [setChannel(set, 0), setChannel(set, 1)],
      eventfd: [3, 4].map((fd) => eventChannel(EventFd.fromFd(fd))) as Pair,
    };
    for (const c of cases) {
      const [ping, pong] = pairs[c.mech]!;
      for (let i = 0; i < c.warmup + c.messages; i++) {
        if (c.mode === "sync") ping.waitSync();
        else await ping.wait();
        pong.post();
      }
    }
  },
};

/**
 * The semaphore group: post/wait round trips, no payload. This side posts "ping" and waits
 * for "pong"; the child waits for "ping" and posts "pong".
 * - `sem-posix`: two POSIX named semaphores (`release` / `acquire`);
 * - `sem-sysv`: one System V set of two (`opSync` / `op` of +1 and -1);
 * - `eventfd`: two eventfds, handed to the child at fds 3 and 4 (`signal` / `wait`);
 * - `eventfd-ffi`: the same eventfds with no sysipc code: libc's `write` and `read` called
 *   through the FFI binding, the runtime's floor for this exchange. `sync` reads blocking;
 *   `async` does the least a wait that does not block the event loop can do on one CPU:
 *   a non-blocking read, and `sched_yield` until the peer has answered (a busy loop, never
 *   a library's wait: on two CPUs it is a spin).
 * Modes: `sync` (the `*Sync` waits) and `async` (the awaited ones). After each case both
 * semaphores must be back at 0: no post was lost or counted twice.
 *
 * @module
 */
import process from "node:process";
import { C } from "../../ffi/constants.ts";
import { CURRENT_POSITION, libc } from "../../ffi/libc.ts";
import { runtime } from "../../ffi/runtime.ts";
import { iovec } from "../../ffi/structs.ts";
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

/** Whether an eventfd's count is 0 (a wait with timeout 0 fails). */
function eventEmpty(event: EventFd): boolean {
  try {
    event.waitSync({ timeout: 0 });
    return false;
  } catch {
    return true;
  }
}

function eventChannel(event: EventFd): Channel {
  return {
    post: () => event.signal(),
    waitSync: () => event.waitSync(),
    wait: () => event.wait(),
    empty: () => eventEmpty(event),
  };
}

/** The eventfd round trip with no sysipc code: the runtime's floor (see the module doc). */
function rawEventChannel(event: EventFd): Channel {
  const fd = event.fd;
  // Over explicit ArrayBuffers: the kernel reads and writes them through their addresses.
  const cell = new BigUint64Array(new ArrayBuffer(8));
  const one = new BigUint64Array(new ArrayBuffer(8));
  one[0] = 1n;
  const iov = new DataView(new ArrayBuffer(iovec.size));
  iov.setBigUint64(iovec.offsets.iov_base, BigInt(runtime.addressOf(cell)), true);
  iov.setBigUint64(iovec.offsets.iov_len, 8n, true);
  const check = (n: number) => {
    if (n !== 8) throw new Error(`eventfd-ffi: a call returned ${n}`);
  };
  const done = Promise.resolve();
  return {
    post: () => check(libc.write(fd, one, 8)),
    waitSync: () => check(libc.read(fd, cell, 8)),
    wait: () => {
      while (libc.preadv2(fd, iov, 1, CURRENT_POSITION, C.RWF_NOWAIT) !== 8) libc.sched_yield();
      return done;
    },
    empty: () => eventEmpty(event),
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
      "eventfd-ffi": events.map(rawEventChannel) as Pair,
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
    const events = [3, 4].map((fd) => EventFd.fromFd(fd));
    const pairs: Record<string, Pair> = {
      "sem-posix": [0, 1].map((i) => semaphoreChannel(Semaphore.open(`${base}-${i}`))) as Pair,
      "sem-sysv": [setChannel(set, 0), setChannel(set, 1)],
      eventfd: events.map(eventChannel) as Pair,
      "eventfd-ffi": events.map(rawEventChannel) as Pair,
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

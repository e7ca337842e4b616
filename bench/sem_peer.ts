/**
 * The child side of the semaphore ping-pong (bench/sem_pingpong.ts), on either runtime:
 * waits for "ping" and posts "pong", `total` times, with the sync or the async waits. It
 * measures nothing itself.
 *
 * Usage: sem_peer.ts posix|sysv|eventfd sync|async <name base | semid | -> <total>
 * (eventfd: the two eventfds are at fds 3 and 4)
 *
 * @module
 */
import process from "node:process";
import { EventFd, Semaphore, SysVSemaphoreSet } from "../sem/mod.ts";

/** The kinds of semaphore measured. */
export const KINDS = ["posix", "sysv", "eventfd"] as const;
/** The ways of waiting measured. */
export const MODES = ["sync", "async"] as const;

/** One direction of the ping-pong. */
export interface Channel {
  /** Gives a unit. */
  post(): void;
  /** Takes a unit, blocking. */
  waitSync(): unknown;
  /** Takes a unit, without blocking the event loop. */
  wait(): Promise<unknown>;
}

if (import.meta.main) {
  const [kind, mode, target, totalText] = process.argv.slice(2) as [string, string, string, string];
  const total = Number(totalText);
  let ping: Channel, pong: Channel;
  if (kind === "posix") {
    const a = Semaphore.open(`${target}-0`), b = Semaphore.open(`${target}-1`);
    ping = { post: () => a.release(), waitSync: () => a.acquireSync(), wait: () => a.acquire() };
    pong = { post: () => b.release(), waitSync: () => b.acquireSync(), wait: () => b.acquire() };
  } else if (kind === "sysv") {
    const set = SysVSemaphoreSet.fromId(Number(target));
    const channel = (index: number): Channel => {
      const up = [{ index, delta: 1 }], down = [{ index, delta: -1 }];
      return {
        post: () => set.opSync(up),
        waitSync: () => set.opSync(down),
        wait: () => set.op(down),
      };
    };
    [ping, pong] = [channel(0), channel(1)];
  } else {
    const a = EventFd.fromFd(3), b = EventFd.fromFd(4);
    ping = { post: () => a.signal(), waitSync: () => a.waitSync(), wait: () => a.wait() };
    pong = { post: () => b.signal(), waitSync: () => b.waitSync(), wait: () => b.wait() };
  }
  if (mode === "sync") {
    for (let i = 0; i < total; i++) {
      ping.waitSync();
      pong.post();
    }
  } else {
    for (let i = 0; i < total; i++) {
      await ping.wait();
      pong.post();
    }
  }
}

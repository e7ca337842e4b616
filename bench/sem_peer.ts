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

/** A named semaphore as a channel. */
export function semaphoreChannel(sem: Semaphore): Channel {
  return {
    post: () => sem.release(),
    waitSync: () => sem.acquireSync(),
    wait: () => sem.acquire(),
  };
}

/** Semaphore `index` of a System V set as a channel. */
export function setChannel(set: SysVSemaphoreSet, index: number): Channel {
  const up = [{ index, delta: 1 }], down = [{ index, delta: -1 }];
  return { post: () => set.opSync(up), waitSync: () => set.opSync(down), wait: () => set.op(down) };
}

/** An eventfd as a channel. */
export function eventChannel(event: EventFd): Channel {
  return { post: () => event.signal(), waitSync: () => event.waitSync(), wait: () => event.wait() };
}

if (import.meta.main) {
  const [kind, mode, target, totalText] = process.argv.slice(2) as [string, string, string, string];
  const total = Number(totalText);
  const [ping, pong] = kind === "posix"
    ? [0, 1].map((i) => semaphoreChannel(Semaphore.open(`${target}-${i}`)))
    : kind === "sysv"
    ? ((set) => [0, 1].map((i) => setChannel(set, i)))(SysVSemaphoreSet.fromId(Number(target)))
    : [3, 4].map((fd) => eventChannel(EventFd.fromFd(fd)));
  if (mode === "sync") {
    for (let i = 0; i < total; i++) {
      ping!.waitSync();
      pong!.post();
    }
  } else {
    for (let i = 0; i < total; i++) {
      await ping!.wait();
      pong!.post();
    }
  }
}

/**
 * `eventfd`: {@linkcode EventFd}, a 64-bit counter in the kernel behind a descriptor.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import {
  checkFd,
  checkInteger,
  FdHandle,
  type FromFdOptions,
  fromFdOwnership,
  type Ownership,
} from "../ffi/handle.ts";
import { CURRENT_POSITION, describeValue, EAGAIN, EINTR, errno, libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { iovec, pollfd } from "../ffi/structs.ts";
import { untilReady } from "../ffi/ready.ts";
import { checkWaitOptions, retryWithDeadline, type WaitOptions } from "../ffi/wait/mod.ts";
import { syncTimeout } from "./timespec.ts";

/** Options of `new EventFd()`. */
export interface EventFdOptions {
  /** The counter's starting value: 0 to 4294967295. Default 0. */
  initial?: number;
  /**
   * Semaphore mode (`EFD_SEMAPHORE`): a wait takes 1 from the counter and returns 1,
   * instead of taking the whole count. Default `false`.
   */
  semaphore?: boolean;
}

const MAX_POLL_MS = 0x7fffffff;

/** Set by `fromFd`: the constructor then adopts this descriptor instead of making one. */
let adopting: { fd: number; ownership: Ownership } | null = null;

function create(options: EventFdOptions | undefined): number {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const initial = options?.initial === undefined
    ? 0
    : checkInteger(options.initial, "initial", 0, 0xffffffff);
  const semaphore = options?.semaphore;
  if (semaphore !== undefined && typeof semaphore !== "boolean") {
    throw new TypeError(`semaphore must be a boolean, got ${describeValue(semaphore)}`);
  }
  const flags = C.EFD_CLOEXEC | (semaphore ? C.EFD_SEMAPHORE : 0);
  const fd = libc.syscall(C.SYS_eventfd2, initial, flags, 0, 0, 0, 0);
  if (fd === -1) throw new IpcError({ errno: errno(), syscall: "eventfd" });
  return fd;
}

/**
 * An event counter in the kernel (`eventfd`), for waking another process or thread:
 * `signal(n)` adds to the counter, a wait takes from it. In counter mode a wait returns
 * the whole count and resets it to 0; in semaphore mode it takes and returns 1. The
 * descriptor can be handed to a child process (`spawn`'s `fds`) and used with
 * `poll`/`epoll` by C code; it is opened close-on-exec and blocking (the async forms never
 * block whatever its mode).
 *
 * @example Waking an async waiter
 * ```ts
 * import { EventFd } from "@sysipc/sysipc/sem";
 * using event = new EventFd();
 * setTimeout(() => event.signal(3), 10);
 * console.log(await event.wait({ timeout: 1000 })); // 3: everything signalled so far
 * ```
 */
export class EventFd extends FdHandle {
  #io = new DataView(new ArrayBuffer(8 + iovec.size + pollfd.size));
  #value = new BigUint64Array(this.#io.buffer, 0, 1);
  /** The counter's cell as two 32-bit halves (little-endian): read and written with no bigint. */
  #halves = new Uint32Array(this.#io.buffer, 0, 2);
  #iov = new DataView(this.#io.buffer, 8, iovec.size);
  #poll = new DataView(this.#io.buffer, 8 + iovec.size, pollfd.size);
  #target = this.readyTarget({ syscall: "read", owner: this.waits, spin: this.spin });
  readonly #attempt = (): number | undefined => this.#tryRead(this.use("read"));

  /**
   * Makes an eventfd.
   *
   * @example
   * ```ts
   * import { EventFd } from "@sysipc/sysipc/sem";
   * using counter = new EventFd(); // a counter that wait() takes whole
   * using tokens = new EventFd({ initial: 2, semaphore: true }); // wait() takes 1 at a time
   * console.log(tokens.waitSync(), tokens.waitSync()); // 1 1
   * ```
   *
   * @param options `initial` (default 0) and `semaphore` (default `false`).
   * @throws {IpcError} `EMFILE`/`ENFILE` when out of descriptors.
   * @throws {TypeError} For options of the wrong type.
   * @throws {RangeError} When `initial` is outside 0 to 4294967295.
   */
  constructor(options?: EventFdOptions) {
    const adopted = adopting;
    adopting = null;
    super(adopted?.fd ?? create(options), adopted?.ownership ?? "owned");
    // The counter's cell sits over an ArrayBuffer of its own: its address never moves.
    this.#iov.setBigUint64(iovec.offsets.iov_base, BigInt(runtime.addressOf(this.#value)), true);
    this.#iov.setBigUint64(iovec.offsets.iov_len, 8n, true);
  }

  /**
   * Wraps an eventfd this process already has, such as one a parent handed over. By
   * default the handle takes it over and `close()` closes it; the garbage collector never
   * closes it.
   *
   * @example
   * ```ts
   * import { EventFd } from "@sysipc/sysipc/sem";
   * using original = new EventFd();
   * using same = EventFd.fromFd(original.fd, { own: false });
   * same.signal();
   * console.log(original.waitSync({ timeout: 0 })); // 1
   * ```
   *
   * @param fd The descriptor.
   * @param options `own` (default `true`): whether `close()` closes `fd`.
   * @returns The handle.
   * @throws {TypeError} When `fd` is not an integer.
   * @throws {RangeError} When `fd` is negative.
   */
  static fromFd(fd: number, options?: FromFdOptions): EventFd {
    adopting = { fd: checkFd(fd), ownership: fromFdOwnership(options) };
    return new EventFd();
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "EventFd";
  }

  /**
   * Adds `n` to the counter (`write(2)`), waking the waiters. As in C, a write that would
   * take the counter past 2^64 - 2 blocks until a wait takes from it: only writes of huge
   * values from elsewhere can bring it there.
   *
   * @example
   * ```ts
   * import { EventFd } from "@sysipc/sysipc/sem";
   * using events = new EventFd();
   * events.signal();
   * events.signal(4);
   * console.log(events.waitSync()); // 5: the whole count
   * ```
   *
   * @param n 0 to 2^53 - 1. Default 1.
   * @throws {IpcError} `EBADF` when closed.
   * @throws {TypeError} When `n` is not an integer.
   * @throws {RangeError} When `n` is outside 0 to 2^53 - 1.
   */
  signal(n = 1): void {
    const fd = this.use("write");
    checkInteger(n, "n", 0, Number.MAX_SAFE_INTEGER);
    // No closure, no bigint: this is a hot path (bench/alloc.ts measures it).
    this.#halves[0] = n % 0x100000000;
    this.#halves[1] = Math.floor(n / 0x100000000);
    while (libc.write(fd, this.#value, 8) < 0) {
      const e = errno();
      if (e !== EINTR) throw new IpcError({ errno: e, syscall: "write" });
    }
  }

  /** The counter's cell as a number (exact up to 2^53 - 1). */
  #taken(): number {
    // Small counts stay small integers (a double would be boxed on the heap).
    const high = this.#halves[1]!;
    return high === 0 ? this.#halves[0]! : high * 0x100000000 + this.#halves[0]!;
  }

  /** One read without waiting: the value taken, or `undefined` when the counter is 0. */
  #tryRead(fd: number): number | undefined {
    while (true) {
      if (libc.preadv2(fd, this.#iov, 1, CURRENT_POSITION, C.RWF_NOWAIT) === 8) {
        return this.#taken();
      }
      const e = errno();
      if (e === EAGAIN) return undefined;
      if (e !== EINTR) throw new IpcError({ errno: e, syscall: "read" });
    }
  }

  /**
   * Waits without blocking the event loop until the counter is above 0, then takes from it.
   *
   * @example
   * ```ts
   * import { EventFd } from "@sysipc/sysipc/sem";
   * using done = new EventFd();
   * setTimeout(() => done.signal(), 10); // another thread or process would, through done.fd
   * console.log(await done.wait({ timeout: 5000 })); // 1
   * ```
   *
   * @param options `timeout` in ms (`0` tries once) and an abort `signal`.
   * @returns The count taken: all of it in counter mode (as a number, exact up to
   *   2^53 - 1), 1 in semaphore mode.
   * @throws {IpcError} `EAGAIN` when `timeout` is 0 and the counter is 0, `ETIMEDOUT` when
   *   the timeout passes, `EBADF` when closed (also while waiting).
   */
  wait(options?: WaitOptions): Promise<number> {
    try {
      this.use("read");
      checkWaitOptions(options);
    } catch (e) {
      return Promise.reject(e);
    }
    // The engine's attempt-wait-attempt loop, with one attempt made once per handle: a
    // wait allocates only its promise.
    return untilReady(this.#target, C.POLLIN, options, this.#attempt);
  }

  /**
   * Waits, blocking the calling thread, until the counter is above 0, then takes from it.
   *
   * @example
   * ```ts
   * import { EventFd } from "@sysipc/sysipc/sem";
   * using tokens = new EventFd({ initial: 2, semaphore: true });
   * console.log(tokens.waitSync(), tokens.waitSync()); // 1 1
   * ```
   *
   * @param options `timeout` in ms: `undefined` waits forever, `0` tries once. A `signal`
   *   is only checked before the call.
   * @returns As {@linkcode EventFd.wait}.
   * @throws {IpcError} As {@linkcode EventFd.wait}.
   */
  waitSync(options?: WaitOptions): number {
    const fd = this.use("read");
    checkWaitOptions(options);
    const timeout = syncTimeout(options);
    if (timeout === undefined) {
      while (libc.eventfd_read(fd, this.#value) < 0) {
        const e = errno();
        if (e !== EINTR) throw new IpcError({ errno: e, syscall: "read" });
      }
      return this.#taken();
    }
    const deadline = performance.now() + timeout;
    const cell = this.#poll;
    cell.setInt32(pollfd.offsets.fd, fd, true);
    cell.setInt16(pollfd.offsets.events, C.POLLIN, true);
    while (true) {
      const value = this.#tryRead(fd);
      if (value !== undefined) return value;
      const left = deadline - performance.now();
      if (timeout === 0) throw IpcError.of("EAGAIN", "read");
      if (left <= 0) throw IpcError.of("ETIMEDOUT", "read", undefined, "Timed out");
      retryWithDeadline(
        (ms) => libc.poll(cell, 1, Math.min(Math.ceil(ms!), MAX_POLL_MS)),
        left,
        "poll",
      );
    }
  }
}

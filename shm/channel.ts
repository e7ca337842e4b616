/**
 * A many-producer, many-consumer message channel in shared memory: {@linkcode ShmChannel}.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkBuffer, checkInteger, toBytes } from "../ffi/handle.ts";
import { posixName } from "../ffi/ipc.ts";
import { check, checkRetry, cString, describeValue, libc } from "../ffi/libc.ts";
import {
  cancelAll,
  checkWaitOptions,
  deadlineOf,
  DONE,
  type FutexWord,
  futexWord,
  newSpinState,
  type Owner,
  type WaitContext,
  waitFutex,
  waitFutexSync,
  type WaitOptions,
  wakeFutex,
} from "../ffi/wait/mod.ts";
import { adaptSpin, spinBudget } from "../ffi/wait/spin.ts";
import {
  CELL_HEADER,
  EMPTY,
  FULL,
  geometry,
  H,
  HEADER_SIZE,
  MAX_SLOT_SIZE,
  MAX_SLOTS,
  readHeader,
  READING,
  SKIP,
  writeHeader,
  WRITING,
} from "./channel_layout.ts";
import { Mapping, MAX_MAP, sizeOf } from "./mapping.ts";
import { threadAlive, threadId } from "./owner.ts";

/** Options of {@linkcode ShmChannel.create}. */
export interface ShmChannelOptions {
  /** How many messages the channel holds at most: 1 to 2^20. */
  slots: number;
  /** The largest message in bytes: 1 to 2^30. */
  slotSize: number;
  /** Permission bits of the segment, reduced by the umask. Default `0o600`. */
  mode?: number;
}

/** Options of the sync forms: `timeout` (ms); a `signal` is only checked once, up front. */
export type SyncWaitOptions = WaitOptions;

/** The two sides a handle can wait as. */
const SEND = 0;
const RECEIVE = 1;
type Side = typeof SEND | typeof RECEIVE;

/** A claim failed: full (send) or empty (receive); see `#blockTid` for who holds the slot. */
const BLOCKED = -1;
/** How often a side that waits on a slot held by another thread checks that it lives, ms. */
const CHECK_MS = 50;
/** How long an async wait spins on the CPU before its first event-loop turn, µs. */
const PRESPIN_US = 5;
const EMPTY_BYTES = new Uint8Array(0);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The slot a side was last blocked on, to check its holder's life at most every CHECK_MS. */
interface Watch {
  position: number;
  state: number;
  checked: number;
}

/** Set by the internal factories: the constructors are not public. */
let constructing = false;
let makeMessage: (channel: ShmChannel, position: number, bytes: Uint8Array) => ShmMessage;
let makeSlot: (channel: ShmChannel, position: number, bytes: Uint8Array) => ShmSlot;
let messagePosition: (lease: ShmMessage) => number;
let slotPosition: (lease: ShmSlot) => number;
let finish: (channel: ShmChannel, lease: ShmMessage | ShmSlot, length: number) => void;
let adopt: (name: string, mapping: Mapping) => ShmChannel;
let reserveSoonOf: (channel: ShmChannel) => ShmSlot | null;

/**
 * A bounded channel of messages in a shared memory segment, for any number of senders and
 * receivers in any processes (Deno, Bun, C, …): each message is received exactly once, in
 * the order the slots were claimed (so each sender's messages arrive in the order it sent
 * them). Messages are byte strings of 0 to `slotSize` bytes; the channel holds `slots` of
 * them.
 *
 * While both sides are busy, a message costs no system call: sending and receiving are a
 * few atomic operations on the shared memory and one copy. A side that must wait (send on
 * a full channel, receive on an empty one) first spins briefly (the sync forms on the
 * CPU, the async forms on event-loop turns), then records itself as a waiter and parks on
 * a futex word: the sync forms with the `futex` system call, the async forms through the
 * wait engine (io_uring `FUTEX_WAIT`, or the polling backend), so an idle receiver costs
 * no CPU and never blocks the event loop. The other side makes the wake-up system call
 * only when a waiter is recorded.
 *
 * Allocation: `trySend`, `sendSync`, `tryReceiveInto` and `receiveIntoSync` allocate nothing
 * per message once warm (with `Uint8Array` data; measured on V8's heap). `receive*` returns
 * a new `Uint8Array` per message (a copy); the zero-copy forms allocate one small object
 * per message (the `ShmMessage` or `ShmSlot`; a message view is reused while lengths
 * repeat); the async forms allocate their promise.
 *
 * Zero copy: `reserve*` hands out a slot to write a message in place
 * ({@linkcode ShmSlot}); `receiveView*` hands out a view of a message in its slot
 * ({@linkcode ShmMessage}). Either holds its slot until committed or released, and other
 * peers wait for that slot meanwhile.
 *
 * A peer that dies while it holds a slot (between claiming and finishing a send or a
 * receive, or while it holds a reservation or a view) does not wedge the others: a peer
 * waiting on that slot checks every 50 ms whether the holder's thread lives (see
 * `threadAlive`: peers must share a PID namespace) and takes the slot back. A receiver
 * that takes back a half-written message gets an `EOWNERDEAD` error for it once (the
 * message is lost), then receives the next ones; a sender that takes back a slot from a
 * dead receiver carries on (the message the receiver took is lost). `lost` counts both.
 *
 * ## Segment layout, version 1
 *
 * A POSIX shared memory segment (`shm_open(name)`), every field a little-endian 32-bit
 * integer; "atomic" words are only accessed with sequentially consistent atomic
 * instructions (C11 `atomic_*` on `_Atomic int32_t`, `__atomic_*(…, __ATOMIC_SEQ_CST)`).
 *
 * | offset | field | |
 * | --- | --- | --- |
 * | 0 | magic0 | `0x43504953` (`"SIPC"`), atomic, stored last by the creator |
 * | 4 | magic1 | `0x4e414843` (`"CHAN"`) |
 * | 8 | version | `1` |
 * | 12 | headerSize | `320`: the offset of cell 0 |
 * | 16 | slots | `N`, 1 to 2^20 |
 * | 20 | slotSize | `S`, the largest message, 1 to 2^30 |
 * | 24 | cellSize | `ceil((64 + S) / 64) × 64` |
 * | 28 | laps | `floor(2^30 / N)`; positions run from 0 to `M − 1`, `M = N × laps` |
 * | 32 | creatorPid | informational |
 * | 64 | tail | atomic: the next position to write |
 * | 128 | head | atomic: the next position to read |
 * | 192 | dataWaiters | atomic: receivers parked, or about to park |
 * | 196 | dataSeq | atomic: the futex word receivers park on |
 * | 256 | spaceWaiters | atomic: senders parked, or about to park |
 * | 260 | spaceSeq | atomic: the futex word senders park on |
 * | 288 | lost | atomic: messages lost to peers that died holding a slot |
 *
 * Other header bytes are 0. Cell `i` starts at `320 + i × cellSize`: a `state` word
 * (atomic) at +0, the message `length` at +4 (`0xffffffff`: no message, skip it), 56
 * reserved bytes (0), and the message at +64, on a cache line of its own so that a peer
 * spinning on the state word does not fight the writer of the message. The segment is
 * `320 + N × cellSize` bytes.
 *
 * Position `p` lives in cell `p mod N`, on lap `L = floor(p / N)`; the position after `p`
 * is `(p + 1) mod M`, the lap after `L` is `(L + 1) mod laps`. A state word is
 * `(value << 2) | kind`: `EMPTY` (0, value = the lap of the next message for the cell),
 * `WRITING` (1, value = the writer's thread id, `gettid()`), `FULL` (2, value = the lap of
 * the message it holds), `READING` (3, value = the reader's thread id). The creator zeroes
 * the segment (every cell `EMPTY` on lap 0, head = tail = 0), writes the header and stores
 * magic0 last.
 *
 * To send: read `t = tail` and the state `s` of its cell. If `s` is `EMPTY` on `t`'s lap,
 * compare-and-swap it to `WRITING(me)` (retry on failure), then compare-and-swap `tail`
 * from `t` to `t + 1` (failure is fine: another peer helped). If `s` is `FULL` on `t`'s
 * lap, or `WRITING` while `head` (read before `s`) is within `N` of `t`, another writer
 * has claimed `t`: help by moving `tail` from `t` to `t + 1`, and retry. If `s` is `FULL`
 * on the previous lap, `READING`, or `WRITING` with `t − head ≥ N`, and `tail` is still
 * `t`, the channel is full. Once claimed, write the message, then its length, then
 * compare-and-swap the state from `WRITING(me)` to `FULL` on `t`'s lap.
 *
 * To receive: read `h = head` and its cell's state `s`. If `s` is `FULL` on `h`'s lap,
 * compare-and-swap it to `READING(me)`, move `head` from `h` to `h + 1` (compare-and-swap;
 * failure is fine), read the length and the message, then compare-and-swap the state from
 * `READING(me)` to `EMPTY` on the next lap. A length of `0xffffffff` is a cancelled
 * message: release it the same way and receive the next. If `s` is `EMPTY` on `h`'s lap,
 * or `WRITING` while `head` is still `h`, nothing is ready. If `s` is `READING` and
 * `tail` (read before a second read of `s` that still shows it) is past `h`, another
 * reader has claimed `h`: help move `head`; if `tail` is `h`, nothing is ready.
 *
 * Waking: a side that will park adds 1 to its waiters word, reads its futex word, checks
 * the channel once more, and then `FUTEX_WAIT`s (shared, not private) on that futex word
 * with the value it read; afterwards it subtracts 1. A sender, right after claiming a
 * slot and again after publishing it, reads `dataWaiters`; when it is not 0, it adds 1 to
 * `dataSeq` and `FUTEX_WAKE`s one waiter on it. A receiver does the same with
 * `spaceWaiters`/`spaceSeq` after claiming and after releasing. A side that gives up a wait
 * (timeout, abort) while others wait wakes one of them, in case it took their wake-up.
 *
 * Dead peers: a side that waits on a cell `WRITING(tid)` or `READING(tid)` checks the
 * holder's life at least every 50 ms. A receiver taking back a dead writer's cell at `h`
 * compare-and-swaps it to `READING(me)`, moves `tail` and `head` past `h`, adds 1 to
 * `lost`, and stores `EMPTY` on the next lap; a sender taking back a dead reader's cell at
 * `t` compare-and-swaps it to `READING(me)`, moves `head` past `t − N`, adds 1 to `lost`,
 * and stores `EMPTY` on `t`'s lap.
 *
 * @example A worker pool: any process may send jobs, any may take them
 * ```ts
 * import { ShmChannel } from "@sysipc/sysipc/shm";
 * const name = `/jobs-${Date.now()}`;
 * using jobs = ShmChannel.create(name, { slots: 64, slotSize: 1024 });
 * using worker = ShmChannel.open(name); // as another process would
 * await jobs.send("resize photo 17");
 * jobs.sendSync(new Uint8Array([1, 2, 3]));
 * console.log(new TextDecoder().decode(await worker.receive({ timeout: 1000 })));
 * console.log(worker.receiveSync()); // Uint8Array [1, 2, 3]
 * console.log(worker.tryReceive()); // null: empty
 * jobs.unlink();
 * ```
 */
export class ShmChannel implements Disposable {
  readonly #name: string;
  readonly #mapping: Mapping;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #slots: number;
  readonly #slotSize: number;
  readonly #cellSize: number;
  readonly #laps: number;
  readonly #limit: number;
  readonly #words: readonly [FutexWord, FutexWord];
  readonly #waits: Owner = new Set();
  readonly #spin = newSpinState();
  readonly #contexts: readonly [WaitContext, WaitContext];
  /** The state words of a cell this thread writes or reads. */
  readonly #writing = (threadId() << 2) | WRITING;
  readonly #reading = (threadId() << 2) | READING;
  #closed = false;
  /** How many of this handle's waits are counted in dataWaiters / spaceWaiters. */
  readonly #parked = [0, 0];
  /** Per cell: the reservation or view handed out and not yet finished, if any. */
  readonly #leases: (ShmMessage | ShmSlot | undefined)[] = [];
  #leaseCount = 0;
  /** Per cell: the last view handed out (reused when the next has the same length). */
  readonly #views: (Uint8Array | undefined)[] = [];
  /** The slot a side last waited on, for life checks of its holder. */
  readonly #watch: readonly [Watch, Watch] = [
    { position: -1, state: 0, checked: 0 },
    { position: -1, state: 0, checked: 0 },
  ];
  /** Set by a failed claim: the position, state and holder's thread id (0: none). */
  #blockPosition = 0;
  #blockState = 0;
  #blockTid = 0;

  static {
    finish = (channel, lease, length) => channel.#finish(lease, length);
    reserveSoonOf = (channel) => {
      channel.#use("reserve");
      const p = channel.#claimNow(SEND, undefined, 0);
      return p < 0 ? null : channel.#lease(p, true) as ShmSlot;
    };
    adopt = (name, mapping) => {
      constructing = true;
      return new ShmChannel(name, mapping);
    };
  }

  private constructor(name: string, mapping: Mapping) {
    if (!constructing) {
      throw new TypeError(
        "ShmChannel has no public constructor: use ShmChannel.create() or open()",
      );
    }
    constructing = false;
    this.#name = name;
    this.#mapping = mapping;
    this.#i32 = new Int32Array(mapping.buffer);
    this.#u8 = new Uint8Array(mapping.buffer);
    const g = readHeader(this.#i32, name);
    this.#slots = g.slots;
    this.#slotSize = g.slotSize;
    this.#cellSize = g.cellSize;
    this.#laps = g.laps;
    this.#limit = g.slots * g.laps;
    this.#words = [futexWord(this.#i32, H.spaceSeq), futexWord(this.#i32, H.dataSeq)];
    const context = (syscall: string): WaitContext => ({
      syscall,
      path: name,
      owner: this.#waits,
      spin: null,
    });
    this.#contexts = [context("send"), context("receive")];
  }

  /**
   * Creates a channel: a new POSIX shared memory segment (never an existing one: `EEXIST`)
   * laid out as described above.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * const name = `/jobs-${Date.now()}`;
   * using jobs = ShmChannel.create(name, { slots: 256, slotSize: 4096, mode: 0o600 });
   * console.log(jobs.slots, jobs.slotSize); // 256 4096
   * jobs.unlink(); // the name goes; processes that opened it keep using it
   * ```
   *
   * @param name `"/name"`: one leading slash, no other, 1–250 characters after it.
   * @param options `slots`, `slotSize`, `mode` (default `0o600`).
   * @returns The channel.
   * @throws {TypeError} For a name that breaks the rule or options of the wrong type.
   * @throws {RangeError} For `slots`, `slotSize` or `mode` out of range, or a segment
   *   larger than `platform.maxMapping`.
   * @throws {IpcError} `EEXIST` when the name is taken, `EACCES`, `ENOSPC`/`ENOMEM`.
   */
  static create(name: string, options: ShmChannelOptions): ShmChannel {
    const cName = posixName(name);
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`options must be { slots, slotSize }, got ${describeValue(options)}`);
    }
    const slots = checkInteger(options.slots, "slots", 1, MAX_SLOTS);
    const slotSize = checkInteger(options.slotSize, "slotSize", 1, MAX_SLOT_SIZE);
    const mode = options.mode === undefined ? 0o600 : checkInteger(options.mode, "mode", 0, 0o777);
    const g = geometry(slots, slotSize);
    if (g.size > MAX_MAP) {
      throw new RangeError(
        `slots × slotSize is too large: the segment would have ${g.size} bytes, more than ` +
          `this runtime maps (${MAX_MAP})`,
      );
    }
    const flags = C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_CLOEXEC;
    const fd = checkRetry(() => libc.shm_open(cName, flags, mode), "shm_open", name);
    let mapping: Mapping | undefined;
    try {
      check(libc.ftruncate(fd, g.size), "ftruncate", name);
      mapping = Mapping.map(fd, g.size, false, name);
      writeHeader(new Int32Array(mapping.buffer), g, libc.getpid());
      constructing = true;
      return new ShmChannel(name, mapping);
    } catch (e) {
      mapping?.unmap();
      libc.shm_unlink(cName);
      throw e;
    } finally {
      libc.close(fd);
    }
  }

  /**
   * Opens a channel another process (or this one) created.
   *
   * @example Opening a channel another process created
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using made = ShmChannel.create(`/example-${Date.now()}`, { slots: 8, slotSize: 128 });
   * using opened = ShmChannel.open(made.name); // in another process, by the same name
   * made.sendSync("hello");
   * console.log(new TextDecoder().decode(opened.receiveSync())); // "hello"
   * made.unlink();
   * ```
   *
   * @param name The channel's name.
   * @returns The channel.
   * @throws {TypeError} For a name that breaks the rule.
   * @throws {IpcError} `ENOENT` when there is no such segment, `EACCES`; `EPROTO` when the
   *   segment is not a channel, has another layout version, or a corrupted header.
   */
  static open(name: string): ShmChannel {
    const cName = posixName(name);
    const fd = checkRetry(
      () => libc.shm_open(cName, C.O_RDWR | C.O_CLOEXEC, 0),
      "shm_open",
      name,
    );
    let mapping: Mapping | undefined;
    try {
      const size = sizeOf(fd, name);
      if (size < HEADER_SIZE || size > MAX_MAP) {
        throw IpcError.of(
          "EPROTO",
          "ShmChannel.open",
          name,
          `Not a ShmChannel: the segment has ${size} bytes`,
        );
      }
      mapping = Mapping.map(fd, size, false, name);
      constructing = true;
      return new ShmChannel(name, mapping);
    } catch (e) {
      mapping?.unmap();
      throw e;
    } finally {
      libc.close(fd);
    }
  }

  /**
   * Removes a channel's name (`shm_unlink`); handles open on it keep working.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * const name = `/example-${Date.now()}`;
   * ShmChannel.create(name, { slots: 1, slotSize: 8 }).close();
   * ShmChannel.unlink(name); // as `rm /dev/shm${name}` would
   * ```
   *
   * @param name The channel's name.
   * @throws {TypeError} For a name that breaks the rule.
   * @throws {IpcError} `ENOENT` when there is no such segment, `EACCES`.
   */
  static unlink(name: string): void {
    check(libc.shm_unlink(posixName(name)), "shm_unlink", name);
  }

  /**
   * The channel's name.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * console.log(channel.name.startsWith("/example-")); // true
   * channel.unlink();
   * ```
   */
  get name(): string {
    return this.#name;
  }

  /**
   * How many messages it holds at most.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * console.log(channel.slots, channel.slotSize); // 4 64
   * channel.unlink();
   * ```
   */
  get slots(): number {
    return this.#slots;
  }

  /**
   * The largest message in bytes.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * console.log(channel.slotSize); // 64: larger messages throw RangeError
   * channel.unlink();
   * ```
   */
  get slotSize(): number {
    return this.#slotSize;
  }

  /**
   * Whether `close()` was called.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * const other = ShmChannel.open(channel.name);
   * other.close();
   * console.log(other.closed, channel.closed); // true false
   * channel.unlink();
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * How many messages were lost to peers that died while holding a slot, since the channel
   * was created (by any process).
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * console.log(channel.lost); // 0 while no peer has died holding a slot
   * channel.unlink();
   * ```
   */
  get lost(): number {
    this.#use("lost");
    return Atomics.load(this.#i32, H.lost);
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  /**
   * Sends a message, waiting for a free slot without blocking the event loop.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * await channel.send("first", { timeout: 1000 }); // waits while the channel is full
   * console.log(new TextDecoder().decode(channel.receiveSync())); // "first"
   * channel.unlink();
   * ```
   *
   * @param data Bytes, or a string sent as UTF-8: at most `slotSize` bytes.
   * @param options `timeout` (ms) and `signal`.
   * @throws {TypeError} When `data` is neither a `Uint8Array` nor a string.
   * @throws {RangeError} When `data` is larger than `slotSize`.
   * @throws {IpcError} `ETIMEDOUT`, `EAGAIN` (`timeout: 0` and full), `EBADF` (closed).
   */
  send(data: Uint8Array | string, options?: WaitOptions): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = this.#message(data, "send");
      checkWaitOptions(options);
      const p = this.#claimNow(SEND, options, 0);
      if (p >= 0) {
        this.#write(p, bytes);
        return DONE;
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#sendLater(bytes, options);
  }

  async #sendLater(bytes: Uint8Array, options: WaitOptions | undefined): Promise<void> {
    this.#write(await this.#acquire(SEND, options, 0), bytes);
  }

  /**
   * Sends a message, blocking the calling thread while the channel is full.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * channel.sendSync(new Uint8Array([1, 2, 3]));
   * console.log(channel.receiveSync()); // Uint8Array [1, 2, 3]
   * channel.unlink();
   * ```
   *
   * @param data Bytes, or a string sent as UTF-8: at most `slotSize` bytes.
   * @param options `timeout` (ms).
   * @throws {TypeError} When `data` is neither a `Uint8Array` nor a string.
   * @throws {RangeError} When `data` is larger than `slotSize`.
   * @throws {IpcError} `ETIMEDOUT`, `EAGAIN` (`timeout: 0` and full), `EBADF` (closed),
   *   `EDEADLK` (the slot to wait for is held by this thread's own view or reservation).
   */
  sendSync(data: Uint8Array | string, options?: SyncWaitOptions): void {
    const bytes = this.#message(data, "sendSync");
    const timeout = syncTimeout(options);
    let p = this.#claimWrite();
    if (p < 0) p = this.#acquireSync(SEND, timeout, 0);
    this.#write(p, bytes);
  }

  /**
   * Sends a message if a slot is free.
   *
   * @example Never waits: false when every slot is taken
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * let sent = 0;
   * while (channel.trySend(`message ${sent}`)) sent++;
   * console.log(sent); // 4: the channel's slots
   * channel.unlink();
   * ```
   *
   * @param data Bytes, or a string sent as UTF-8: at most `slotSize` bytes.
   * @returns `true` when sent, `false` when the channel is full.
   * @throws {TypeError} When `data` is neither a `Uint8Array` nor a string.
   * @throws {RangeError} When `data` is larger than `slotSize`.
   * @throws {IpcError} `EBADF` (closed).
   */
  trySend(data: Uint8Array | string): boolean {
    const bytes = this.#message(data, "trySend");
    let p = this.#claimWrite();
    if (p < 0 && this.#recoverIfDead(SEND)) p = this.#claimWrite();
    if (p < 0) return false;
    this.#write(p, bytes);
    return true;
  }

  /**
   * Reserves a slot to write a message in place (zero copy), waiting for one without
   * blocking the event loop. Receivers wait for this slot until it is committed or
   * cancelled.
   *
   * @example Write a large message straight into the channel
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * const name = `/frames-${Date.now()}`;
   * using ch = ShmChannel.create(name, { slots: 4, slotSize: 65536 });
   * const slot = await ch.reserve();
   * const n = new TextEncoder().encodeInto("frame 1", slot.bytes).written;
   * slot.commit(n); // now receivers can take it
   * using frame = ch.receiveViewSync(); // zero copy on this side too
   * console.log(frame.bytes.length); // 7
   * ch.unlink();
   * ```
   *
   * @param options `timeout` (ms) and `signal`.
   * @returns The reserved slot.
   * @throws {IpcError} `ETIMEDOUT`, `EAGAIN` (`timeout: 0` and full), `EBADF` (closed).
   */
  async reserve(options?: WaitOptions): Promise<ShmSlot> {
    this.#use("reserve");
    checkWaitOptions(options);
    let p = this.#claimNow(SEND, options, 0);
    if (p < 0) p = await this.#acquire(SEND, options, 0);
    return this.#lease(p, true) as ShmSlot;
  }

  /**
   * Reserves a slot to write a message in place, blocking while the channel is full.
   *
   * @example Writing a message in place
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * {
   *   using slot = channel.reserveSync({ timeout: 1000 });
   *   const { written } = new TextEncoder().encodeInto("in place", slot.bytes);
   *   slot.commit(written);
   * }
   * console.log(new TextDecoder().decode(channel.receiveSync())); // "in place"
   * channel.unlink();
   * ```
   *
   * @param options `timeout` (ms).
   * @returns The reserved slot.
   * @throws {IpcError} `ETIMEDOUT`, `EAGAIN` (`timeout: 0` and full), `EBADF` (closed).
   */
  reserveSync(options?: SyncWaitOptions): ShmSlot {
    this.#use("reserveSync");
    const timeout = syncTimeout(options);
    let p = this.#claimWrite();
    if (p < 0) p = this.#acquireSync(SEND, timeout, 0);
    return this.#lease(p, true) as ShmSlot;
  }

  /**
   * Reserves a slot to write a message in place, if one is free.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * const slot = channel.tryReserve(); // null when every slot is taken
   * slot?.bytes.set([7]);
   * slot?.commit(1);
   * console.log(channel.tryReceive()); // Uint8Array [7]
   * channel.unlink();
   * ```
   *
   * @returns The reserved slot, or `null` when the channel is full.
   * @throws {IpcError} `EBADF` (closed).
   */
  tryReserve(): ShmSlot | null {
    this.#use("tryReserve");
    let p = this.#claimWrite();
    if (p < 0 && this.#recoverIfDead(SEND)) p = this.#claimWrite();
    return p < 0 ? null : this.#lease(p, true) as ShmSlot;
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  /**
   * Receives the next message (a copy), waiting without blocking the event loop.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * channel.sendSync("job");
   * const message = await channel.receive({ timeout: 1000 }); // a copy, for this process to keep
   * console.log(new TextDecoder().decode(message)); // "job"
   * channel.unlink();
   * ```
   *
   * @param options `timeout` (ms) and `signal`.
   * @returns The message.
   * @throws {IpcError} `ETIMEDOUT`, `EAGAIN` (`timeout: 0` and empty), `EBADF` (closed),
   *   `EOWNERDEAD` (a sender died while writing the next message, which is lost; receive
   *   again for the ones after it).
   */
  async receive(options?: WaitOptions): Promise<Uint8Array> {
    this.#use("receive");
    checkWaitOptions(options);
    let p = this.#claimNow(RECEIVE, options, MAX_SLOT_SIZE);
    if (p < 0) p = await this.#acquire(RECEIVE, options, MAX_SLOT_SIZE);
    return this.#take(p);
  }

  /**
   * Receives the next message (a copy), blocking the calling thread while the channel is
   * empty.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * channel.sendSync("job");
   * console.log(channel.receiveSync({ timeout: 1000 }).length); // 3
   * channel.unlink();
   * ```
   *
   * @param options `timeout` (ms).
   * @returns The message.
   * @throws {IpcError} As {@linkcode ShmChannel.receive}; `EDEADLK` when the next message
   *   is in a slot this thread has reserved and not committed.
   */
  receiveSync(options?: SyncWaitOptions): Uint8Array {
    this.#use("receiveSync");
    const timeout = syncTimeout(options);
    let p = this.#claimRead(MAX_SLOT_SIZE);
    if (p < 0) p = this.#acquireSync(RECEIVE, timeout, MAX_SLOT_SIZE);
    return this.#take(p);
  }

  /**
   * Receives the next message (a copy) if there is one.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * console.log(channel.tryReceive()); // null: empty
   * channel.sendSync("x");
   * console.log(channel.tryReceive()?.length); // 1
   * channel.unlink();
   * ```
   *
   * @returns The message, or `null` when the channel is empty.
   * @throws {IpcError} `EBADF` (closed), `EOWNERDEAD` (as {@linkcode ShmChannel.receive}).
   */
  tryReceive(): Uint8Array | null {
    this.#use("tryReceive");
    const p = this.#tryClaimRead(MAX_SLOT_SIZE);
    return p < 0 ? null : this.#take(p);
  }

  /**
   * Receives the next message into `into`, waiting without blocking the event loop. A
   * message larger than `into` is left in the channel, and the call throws.
   *
   * @example Into a buffer of your own: nothing is allocated
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * const buffer = new Uint8Array(channel.slotSize);
   * channel.sendSync("reuse me");
   * const n = await channel.receiveInto(buffer, { timeout: 1000 });
   * console.log(new TextDecoder().decode(buffer.subarray(0, n))); // "reuse me"
   * channel.unlink();
   * ```
   *
   * @param into Where the message goes.
   * @param options `timeout` (ms) and `signal`.
   * @returns The message's length.
   * @throws {TypeError} When `into` is not a `Uint8Array`.
   * @throws {RangeError} When the next message is larger than `into` (it stays queued).
   * @throws {IpcError} As {@linkcode ShmChannel.receive}.
   */
  receiveInto(into: Uint8Array, options?: WaitOptions): Promise<number> {
    try {
      this.#use("receiveInto");
      checkBuffer(into);
      checkWaitOptions(options);
      const p = this.#claimNow(RECEIVE, options, into.length);
      if (p >= 0) return Promise.resolve(this.#takeInto(p, into));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#receiveIntoLater(into, options);
  }

  async #receiveIntoLater(into: Uint8Array, options: WaitOptions | undefined): Promise<number> {
    return this.#takeInto(await this.#acquire(RECEIVE, options, into.length), into);
  }

  /**
   * Receives the next message into `into`, blocking the calling thread while the channel
   * is empty; allocates nothing once warm.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * const buffer = new Uint8Array(channel.slotSize);
   * channel.sendSync("abc");
   * console.log(channel.receiveIntoSync(buffer)); // 3
   * channel.unlink();
   * ```
   *
   * @param into Where the message goes.
   * @param options `timeout` (ms).
   * @returns The message's length.
   * @throws {TypeError} When `into` is not a `Uint8Array`.
   * @throws {RangeError} When the next message is larger than `into` (it stays queued).
   * @throws {IpcError} As {@linkcode ShmChannel.receive}.
   */
  receiveIntoSync(into: Uint8Array, options?: SyncWaitOptions): number {
    this.#use("receiveIntoSync");
    checkBuffer(into);
    const timeout = syncTimeout(options);
    let p = this.#claimRead(into.length);
    if (p < 0) p = this.#acquireSync(RECEIVE, timeout, into.length);
    return this.#takeInto(p, into);
  }

  /**
   * Receives the next message into `into` if there is one; allocates nothing once warm.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * const buffer = new Uint8Array(channel.slotSize);
   * console.log(channel.tryReceiveInto(buffer)); // null: empty
   * channel.sendSync("abc");
   * console.log(channel.tryReceiveInto(buffer)); // 3
   * channel.unlink();
   * ```
   *
   * @param into Where the message goes.
   * @returns The message's length, or `null` when the channel is empty.
   * @throws {TypeError} When `into` is not a `Uint8Array`.
   * @throws {RangeError} When the next message is larger than `into` (it stays queued).
   * @throws {IpcError} `EBADF` (closed), `EOWNERDEAD` (as {@linkcode ShmChannel.receive}).
   */
  tryReceiveInto(into: Uint8Array): number | null {
    this.#use("tryReceiveInto");
    checkBuffer(into);
    const p = this.#tryClaimRead(into.length);
    return p < 0 ? null : this.#takeInto(p, into);
  }

  /**
   * Receives the next message as a view of its slot (zero copy), waiting without blocking
   * the event loop. The slot stays taken until the view is released: release it soon
   * (`using` does it at the end of the scope).
   *
   * @example Reading a message where it lies
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * channel.sendSync("zero copy");
   * {
   *   using message = await channel.receiveView({ timeout: 1000 });
   *   console.log(new TextDecoder().decode(message.bytes)); // "zero copy"
   * } // the slot is free again here
   * channel.unlink();
   * ```
   *
   * @param options `timeout` (ms) and `signal`.
   * @returns The message.
   * @throws {IpcError} As {@linkcode ShmChannel.receive}.
   */
  receiveView(options?: WaitOptions): Promise<ShmMessage> {
    try {
      this.#use("receiveView");
      checkWaitOptions(options);
      const p = this.#claimNow(RECEIVE, options, MAX_SLOT_SIZE);
      if (p >= 0) return Promise.resolve(this.#lease(p, false) as ShmMessage);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#receiveViewLater(options);
  }

  async #receiveViewLater(options: WaitOptions | undefined): Promise<ShmMessage> {
    return this.#lease(await this.#acquire(RECEIVE, options, MAX_SLOT_SIZE), false) as ShmMessage;
  }

  /**
   * Receives the next message as a view of its slot (zero copy), blocking the calling
   * thread while the channel is empty.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * channel.sendSync("view");
   * using message = channel.receiveViewSync({ timeout: 1000 });
   * console.log(message.bytes.length); // 4
   * channel.unlink();
   * ```
   *
   * @param options `timeout` (ms).
   * @returns The message.
   * @throws {IpcError} As {@linkcode ShmChannel.receive}.
   */
  receiveViewSync(options?: SyncWaitOptions): ShmMessage {
    this.#use("receiveViewSync");
    const timeout = syncTimeout(options);
    let p = this.#claimRead(MAX_SLOT_SIZE);
    if (p < 0) p = this.#acquireSync(RECEIVE, timeout, MAX_SLOT_SIZE);
    return this.#lease(p, false) as ShmMessage;
  }

  /**
   * Receives the next message as a view of its slot (zero copy) if there is one.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 4, slotSize: 64 });
   * console.log(channel.tryReceiveView()); // null: empty
   * channel.sendSync("v");
   * using message = channel.tryReceiveView()!;
   * console.log(message.bytes[0]); // 118
   * channel.unlink();
   * ```
   *
   * @returns The message, or `null` when the channel is empty.
   * @throws {IpcError} `EBADF` (closed), `EOWNERDEAD` (as {@linkcode ShmChannel.receive}).
   */
  tryReceiveView(): ShmMessage | null {
    this.#use("tryReceiveView");
    const p = this.#tryClaimRead(MAX_SLOT_SIZE);
    return p < 0 ? null : this.#lease(p, false) as ShmMessage;
  }

  // ---------------------------------------------------------------------------------------
  // Lifetime

  /**
   * Removes the channel's name, as {@linkcode ShmChannel.unlink}; works after `close()`.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 1, slotSize: 8 });
   * channel.unlink(); // ShmChannel.open(channel.name) now fails with ENOENT
   * channel.sendSync("works"); // open handles keep working
   * ```
   *
   * @throws {IpcError} `ENOENT` when the name is already gone.
   */
  unlink(): void {
    ShmChannel.unlink(this.#name);
  }

  /**
   * Closes this handle: pending waits reject with `EBADF`, reservations still open are
   * cancelled and views still held are released, then the segment is unmapped. Never
   * removes the channel. Idempotent.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * const channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 1, slotSize: 8 });
   * channel.unlink();
   * const waiting = channel.receive().catch((e) => e.code);
   * channel.close(); // pending waits of this handle reject with EBADF
   * console.log(await waiting); // "EBADF"
   * ```
   */
  close(): void {
    if (this.#closed) return;
    cancelAll(this.#waits, IpcError.closed("ShmChannel", "close"));
    for (let cell = 0; this.#leaseCount > 0 && cell < this.#slots; cell++) {
      const lease = this.#leases[cell];
      if (lease === undefined) continue;
      try {
        this.#finish(lease, lease instanceof ShmSlot ? SKIP : 0);
      } catch {
        // taken back by a peer (see #revoked): nothing of ours to give up
      }
    }
    this.#closed = true;
    // Waits that were cancelled still count as waiters in the segment: uncount them.
    Atomics.sub(this.#i32, H.spaceWaiters, this.#parked[SEND]!);
    Atomics.sub(this.#i32, H.dataWaiters, this.#parked[RECEIVE]!);
    this.#mapping.unmap();
  }

  /**
   * Same as `close()`.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * const name = `/example-${Date.now()}`;
   * {
   *   using channel = ShmChannel.create(name, { slots: 1, slotSize: 8 });
   *   channel.sendSync("x");
   * } // closed here; the segment stays until unlinked
   * ShmChannel.unlink(name);
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  // ---------------------------------------------------------------------------------------
  // The protocol (see the class documentation)

  /** The index in `#i32` of the state word of the cell of position `p`. */
  #stateIndex(p: number, lap: number): number {
    return (HEADER_SIZE + (p - lap * this.#slots) * this.#cellSize) / 4;
  }

  /** The byte offset of the message of position `p`. */
  #dataOffset(p: number): number {
    const lap = (p / this.#slots) | 0;
    return HEADER_SIZE + (p - lap * this.#slots) * this.#cellSize + CELL_HEADER;
  }

  #next(p: number): number {
    return p + 1 === this.#limit ? 0 : p + 1;
  }

  /** Records why a claim failed, for the wait and the life check; returns BLOCKED. */
  #blocked(position: number, state: number, tid: number): number {
    this.#blockPosition = position;
    this.#blockState = state;
    this.#blockTid = tid;
    return BLOCKED;
  }

  #corrupted(what: string): IpcError {
    return IpcError.of(
      "EPROTO",
      "ShmChannel",
      this.#name,
      `The channel's state is corrupted: ${what}`,
    );
  }

  /** Claims the cell of the next position to write: the position, or BLOCKED (full). */
  #claimWrite(): number {
    const i32 = this.#i32;
    const n = this.#slots;
    while (true) {
      const t = Atomics.load(i32, H.tail);
      if (t >>> 0 >= this.#limit) throw this.#corrupted(`tail ${t}`);
      const lap = (t / n) | 0;
      const index = this.#stateIndex(t, lap);
      const s = Atomics.load(i32, index);
      if (s === lap << 2) { // EMPTY on this lap
        if (Atomics.compareExchange(i32, index, s, this.#writing) !== s) continue;
        Atomics.compareExchange(i32, H.tail, t, this.#next(t));
        if (Atomics.load(i32, H.dataWaiters) !== 0) this.#wake(RECEIVE);
        return t;
      }
      const kind = s & 3;
      const value = s >>> 2;
      if (kind === FULL && value === lap) {
        Atomics.compareExchange(i32, H.tail, t, this.#next(t)); // claimed by another: help
        continue;
      }
      if (kind === WRITING) {
        const h = Atomics.load(i32, H.head);
        if (Atomics.load(i32, index) !== s) continue;
        const distance = t >= h ? t - h : t - h + this.#limit;
        if (distance < n) { // t − N was read, so this writer claimed t: help
          Atomics.compareExchange(i32, H.tail, t, this.#next(t));
          continue;
        }
        if (Atomics.load(i32, H.tail) !== t) continue;
        // Full: the oldest message is still being written. Its writer's life is for
        // receivers to check; only this thread's own reservation is recorded (EDEADLK).
        return this.#blocked(t, s, s === this.#writing ? value : 0);
      }
      const previous = lap === 0 ? this.#laps - 1 : lap - 1;
      if (kind === READING || (kind === FULL && value === previous)) {
        if (Atomics.load(i32, H.tail) !== t) continue;
        return this.#blocked(t, s, kind === READING ? value : 0); // full
      }
      if (Atomics.load(i32, H.tail) !== t) continue;
      throw this.#corrupted(`slot state 0x${(s >>> 0).toString(16)} at position ${t}`);
    }
  }

  /**
   * Claims the cell of the next position to read: the position, or BLOCKED (empty).
   * Cancelled messages are skipped.
   *
   * @param max The largest message the caller takes.
   * @throws {RangeError} When the next message is larger than `max` (left in place).
   */
  #claimRead(max: number): number {
    const i32 = this.#i32;
    const n = this.#slots;
    while (true) {
      const h = Atomics.load(i32, H.head);
      if (h >>> 0 >= this.#limit) throw this.#corrupted(`head ${h}`);
      const lap = (h / n) | 0;
      const index = this.#stateIndex(h, lap);
      const s = Atomics.load(i32, index);
      if (s === ((lap << 2) | FULL)) {
        const length = i32[index + 1]!;
        if (length !== SKIP && (length < 0 || length > this.#slotSize)) {
          if (Atomics.load(i32, index) !== s) continue;
          throw this.#corrupted(`message length ${length >>> 0} at position ${h}`);
        }
        if (length > max) {
          if (Atomics.load(i32, index) !== s) continue;
          throw new RangeError(
            `into has ${max} bytes, and the next message has ${length}; it stays in the channel`,
          );
        }
        if (Atomics.compareExchange(i32, index, s, this.#reading) !== s) continue;
        Atomics.compareExchange(i32, H.head, h, this.#next(h));
        if (Atomics.load(i32, H.spaceWaiters) !== 0) this.#wake(SEND);
        if (length === SKIP) {
          this.#release(h);
          continue;
        }
        return h;
      }
      const kind = s & 3;
      const value = s >>> 2;
      if (kind === EMPTY && value === lap) return this.#blocked(h, s, 0); // nothing written
      if (kind === WRITING) {
        if (Atomics.load(i32, H.head) !== h) continue;
        return this.#blocked(h, s, value); // being written
      }
      if (kind === READING) {
        const t = Atomics.load(i32, H.tail);
        if (Atomics.load(i32, index) !== s) continue;
        if (t !== h) { // h was written, so this reader claimed h: help
          Atomics.compareExchange(i32, H.head, h, this.#next(h));
          continue;
        }
        return this.#blocked(h, s, 0); // a slow reader of h − N; nothing written at h
      }
      if (Atomics.load(i32, H.head) !== h) continue;
      throw this.#corrupted(`slot state 0x${(s >>> 0).toString(16)} at position ${h}`);
    }
  }

  /** `#claimRead`, taking back the slot of a dead writer it has waited on long enough. */
  #tryClaimRead(max: number): number {
    const p = this.#claimRead(max);
    if (p >= 0) return p;
    this.#recoverIfDead(RECEIVE); // throws EOWNERDEAD when it took one back
    return BLOCKED;
  }

  /** Publishes the message written at position `p` (`SKIP`: none). */
  #publish(p: number, length: number): void {
    const lap = (p / this.#slots) | 0;
    const index = this.#stateIndex(p, lap);
    const i32 = this.#i32;
    i32[index + 1] = length;
    const mine = this.#writing;
    if (Atomics.compareExchange(i32, index, mine, (lap << 2) | FULL) !== mine) {
      throw this.#revoked("send");
    }
    if (Atomics.load(i32, H.dataWaiters) !== 0) this.#wake(RECEIVE);
  }

  /** Frees the cell of position `p`, which this thread has read. */
  #release(p: number): void {
    const lap = (p / this.#slots) | 0;
    const index = this.#stateIndex(p, lap);
    const next = lap + 1 === this.#laps ? 0 : lap + 1;
    const mine = this.#reading;
    if (Atomics.compareExchange(this.#i32, index, mine, next << 2) !== mine) {
      throw this.#revoked("receive");
    }
    if (Atomics.load(this.#i32, H.spaceWaiters) !== 0) this.#wake(SEND);
  }

  #revoked(syscall: string): IpcError {
    return IpcError.of(
      "EOWNERDEAD",
      syscall,
      this.#name,
      "Another process took this thread's slot back, having found this thread dead " +
        "(are the processes in different PID namespaces?)",
    );
  }

  /** Wakes one waiter of a side. */
  #wake(side: Side): void {
    Atomics.add(this.#i32, side === SEND ? H.spaceSeq : H.dataSeq, 1);
    wakeFutex(this.#words[side], 1);
  }

  /**
   * After a failed claim: when the slot that blocked it is held by the same thread as at
   * the last look, at least CHECK_MS ago, and that thread is dead, takes the slot back.
   *
   * @returns `true` when a slot was taken back for a sender (claim again).
   * @throws {IpcError} `EOWNERDEAD` when a receiver took back a dead writer's slot.
   */
  #recoverIfDead(side: Side): boolean {
    const tid = this.#blockTid;
    if (tid === 0) return false;
    const watch = this.#watch[side];
    const now = performance.now();
    if (watch.position !== this.#blockPosition || watch.state !== this.#blockState) {
      watch.position = this.#blockPosition;
      watch.state = this.#blockState;
      watch.checked = now;
      return false;
    }
    if (now - watch.checked < CHECK_MS) return false;
    watch.checked = now;
    if (threadAlive(tid)) return false;
    watch.position = -1;
    const p = this.#blockPosition;
    const s = this.#blockState;
    const i32 = this.#i32;
    const lap = (p / this.#slots) | 0;
    const index = this.#stateIndex(p, lap);
    if (Atomics.compareExchange(i32, index, s, this.#reading) !== s) return false;
    let next: number;
    if (side === RECEIVE) { // a writer died at p = head
      Atomics.compareExchange(i32, H.tail, p, this.#next(p));
      Atomics.compareExchange(i32, H.head, p, this.#next(p));
      next = lap + 1 === this.#laps ? 0 : lap + 1;
    } else { // a reader died at p − N, blocking position p = tail
      const read = p >= this.#slots ? p - this.#slots : p - this.#slots + this.#limit;
      Atomics.compareExchange(i32, H.head, read, this.#next(read));
      next = lap;
    }
    Atomics.add(i32, H.lost, 1);
    Atomics.store(i32, index, next << 2);
    if (Atomics.load(i32, H.spaceWaiters) !== 0) this.#wake(SEND);
    if (side === SEND) return true;
    throw IpcError.of(
      "EOWNERDEAD",
      "receive",
      this.#name,
      `A sender (thread ${tid}) died while writing the next message; that message is lost`,
    );
  }

  /**
   * Waits, blocking the thread, until a claim succeeds: spins, then parks on the side's
   * futex word (sliced when a thread holds the slot, to check that it lives).
   */
  #acquireSync(side: Side, timeout: number | undefined, max: number): number {
    if (timeout === 0) {
      this.#recoverIfDead(side);
      throw IpcError.of("EAGAIN", this.#contexts[side].syscall, this.#name);
    }
    if (this.#blockTid === threadId()) {
      throw IpcError.of(
        "EDEADLK",
        this.#contexts[side].syscall,
        this.#name,
        "This thread holds the slot it would wait for (a view or reservation not yet " +
          "released): waiting would never end",
      );
    }
    const start = performance.now();
    const deadline = timeout === undefined ? Infinity : start + timeout;
    const budget = spinBudget(this.#spin);
    let p: number;
    for (let k = 1;; k++) {
      p = side === SEND ? this.#claimWrite() : this.#claimRead(max);
      if (p >= 0) return p;
      if ((k & 31) === 0) {
        const now = performance.now();
        if ((now - start) * 1000 >= budget || now >= deadline) break;
        libc.sched_yield(); // let a peer on this CPU run: it may be the one to answer
      }
    }
    const i32 = this.#i32;
    const waiters = side === SEND ? H.spaceWaiters : H.dataWaiters;
    const seq = side === SEND ? H.spaceSeq : H.dataSeq;
    while (true) {
      let timedOut = false;
      Atomics.add(i32, waiters, 1);
      this.#parked[side]!++;
      try {
        const expected = Atomics.load(i32, seq);
        p = side === SEND ? this.#claimWrite() : this.#claimRead(max);
        if (p >= 0) break;
        const left = deadline - performance.now();
        if (left <= 0) timedOut = true;
        else {
          const slice = this.#blockTid !== 0 ? Math.min(left, CHECK_MS) : left;
          try {
            waitFutexSync(this.#words[side], expected, slice === Infinity ? undefined : slice);
          } catch (e) {
            if (!(e instanceof IpcError && e.code === "ETIMEDOUT")) throw e;
            timedOut = true;
          }
        }
      } finally {
        Atomics.sub(i32, waiters, 1);
        this.#parked[side]!--;
      }
      if (this.#recoverIfDead(side)) continue; // a sender took a slot back: claim again
      if (timedOut && performance.now() >= deadline) {
        this.#passOn(side);
        throw IpcError.of("ETIMEDOUT", this.#contexts[side].syscall, this.#name, "Timed out");
      }
    }
    adaptSpin(this.#spin, budget, (performance.now() - start) * 1000);
    return p;
  }

  /**
   * The direct path of every async call, with no async frame: a claim, and unless
   * `timeout` is 0, a spin of a few microseconds that catches a reply that is about to
   * come without an event-loop turn. `-1` when the caller must wait ({@linkcode #acquire}).
   */
  #claimNow(side: Side, options: WaitOptions | undefined, max: number): number {
    let p = side === SEND ? this.#claimWrite() : this.#claimRead(max);
    if (p >= 0 || options?.timeout === 0) return p;
    const start = performance.now();
    const limit = Math.min(spinBudget(this.#spin), PRESPIN_US);
    for (let k = 1;; k++) {
      p = side === SEND ? this.#claimWrite() : this.#claimRead(max);
      if (p >= 0) return p;
      if ((k & 31) === 0) {
        if ((performance.now() - start) * 1000 >= limit) return -1;
        libc.sched_yield(); // a peer on this CPU may be the one to answer
      }
    }
  }

  /**
   * Waits, without blocking the event loop, until a claim succeeds: spins on event-loop
   * turns, then parks on the side's futex word through the wait engine. The caller has
   * tried {@linkcode #claimNow} first.
   */
  async #acquire(side: Side, options: WaitOptions | undefined, max: number): Promise<number> {
    const context = this.#contexts[side];
    if (options?.timeout === 0) {
      this.#recoverIfDead(side);
      throw IpcError.of("EAGAIN", context.syscall, this.#name);
    }
    const signal = options?.signal;
    const start = performance.now();
    const deadline = deadlineOf(options);
    const budget = spinBudget(this.#spin);
    let p: number;
    while ((performance.now() - start) * 1000 < budget && performance.now() < deadline) {
      await turn();
      if (this.#closed) throw IpcError.closed("ShmChannel", context.syscall);
      signal?.throwIfAborted();
      libc.sched_yield();
      p = side === SEND ? this.#claimWrite() : this.#claimRead(max);
      if (p >= 0) return p;
    }
    const i32 = this.#i32;
    const waiters = side === SEND ? H.spaceWaiters : H.dataWaiters;
    const seq = side === SEND ? H.spaceSeq : H.dataSeq;
    while (true) {
      let timedOut = false;
      Atomics.add(i32, waiters, 1);
      this.#parked[side]!++;
      try {
        const expected = Atomics.load(i32, seq);
        p = side === SEND ? this.#claimWrite() : this.#claimRead(max);
        if (p >= 0) break;
        const left = deadline - performance.now();
        if (left <= 0) timedOut = true;
        else {
          const slice = this.#blockTid !== 0 ? Math.min(left, CHECK_MS) : left;
          try {
            await waitFutex(
              this.#words[side],
              expected,
              { timeout: slice === Infinity ? undefined : slice, signal },
              context,
            );
          } catch (e) {
            if (!(e instanceof IpcError && e.code === "ETIMEDOUT") || this.#closed) {
              if (!this.#closed) this.#passOn(side);
              throw e;
            }
            timedOut = true;
          }
        }
      } finally {
        // close() has uncounted this handle's waits already.
        if (!this.#closed) {
          Atomics.sub(i32, waiters, 1);
          this.#parked[side]!--;
        }
      }
      if (this.#closed) throw IpcError.closed("ShmChannel", context.syscall);
      if (this.#recoverIfDead(side)) continue; // a sender took a slot back: claim again
      if (timedOut && performance.now() >= deadline) {
        this.#passOn(side);
        throw IpcError.of("ETIMEDOUT", context.syscall, this.#name, "Timed out");
      }
    }
    adaptSpin(this.#spin, budget, (performance.now() - start) * 1000);
    return p;
  }

  /** A wait given up may have taken a wake-up meant for another waiter: pass one on. */
  #passOn(side: Side): void {
    const waiters = side === SEND ? H.spaceWaiters : H.dataWaiters;
    if (Atomics.load(this.#i32, waiters) !== 0) this.#wake(side);
  }

  // ---------------------------------------------------------------------------------------
  // Data

  #use(syscall: string): void {
    if (this.#closed) throw IpcError.closed("ShmChannel", syscall);
  }

  /** Checks a message to send. */
  #message(data: Uint8Array | string, syscall: string): Uint8Array {
    this.#use(syscall);
    const bytes = toBytes(data);
    if (bytes.length > this.#slotSize) {
      throw new RangeError(
        `data has ${bytes.length} bytes, more than the channel's slotSize (${this.#slotSize})`,
      );
    }
    return bytes;
  }

  #write(p: number, bytes: Uint8Array): void {
    this.#u8.set(bytes, this.#dataOffset(p));
    this.#publish(p, bytes.length);
  }

  /**
   * The length of the message this thread claimed at `p`, checked again: a peer may have
   * overwritten it since the claim looked.
   */
  #length(p: number): number {
    const length = this.#i32[this.#stateIndex(p, (p / this.#slots) | 0) + 1]!;
    if (length < 0 || length > this.#slotSize) {
      try {
        this.#release(p);
      } catch {
        // the state was overwritten too: the slot is not this thread's to give back
      }
      throw this.#corrupted(`message length ${length >>> 0} at position ${p}`);
    }
    return length;
  }

  /** A view of `length` bytes of the cell of `p`, reused when the length repeats. */
  #view(p: number, length: number): Uint8Array {
    const cell = p % this.#slots;
    const view = this.#views[cell];
    if (view !== undefined && view.length === length) return view;
    const fresh = new Uint8Array(this.#mapping.buffer, this.#dataOffset(p), length);
    this.#views[cell] = fresh;
    return fresh;
  }

  #take(p: number): Uint8Array {
    const offset = this.#dataOffset(p);
    const message = this.#u8.slice(offset, offset + this.#length(p));
    this.#release(p);
    return message;
  }

  #takeInto(p: number, into: Uint8Array): number {
    const length = this.#length(p);
    into.set(this.#view(p, length));
    this.#release(p);
    return length;
  }

  #lease(p: number, write: boolean): ShmMessage | ShmSlot {
    const lease = write
      ? makeSlot(this, p, new Uint8Array(this.#mapping.buffer, this.#dataOffset(p), this.#slotSize))
      : makeMessage(this, p, this.#view(p, this.#length(p)));
    this.#leases[p % this.#slots] = lease;
    this.#leaseCount++;
    return lease;
  }

  /** Ends a lease: publishes (`length` ≥ 0, or SKIP) or releases (`length` ignored). */
  #finish(lease: ShmMessage | ShmSlot, length: number): void {
    const p = lease instanceof ShmSlot ? slotPosition(lease) : messagePosition(lease);
    const cell = p % this.#slots;
    if (this.#leases[cell] !== lease) return; // closed meanwhile: close() finished it
    this.#leases[cell] = undefined;
    this.#leaseCount--;
    if (lease instanceof ShmSlot) this.#publish(p, length);
    else this.#release(p);
  }
}

/** The timeout of a sync form's options. */
function syncTimeout(options: SyncWaitOptions | undefined): number | undefined {
  checkWaitOptions(options);
  return options?.timeout;
}

/**
 * A message received without copying ({@linkcode ShmChannel.receiveView}): `bytes` is a
 * view of its slot, which stays taken until `release()` (or the end of a `using` scope).
 * Release it soon: senders that come round to this slot wait for it.
 *
 * @example
 * ```ts
 * import { ShmChannel } from "@sysipc/sysipc/shm";
 * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 2, slotSize: 16 });
 * channel.sendSync("view");
 * {
 *   using message = channel.receiveViewSync();
 *   console.log(message.bytes.length); // 4
 * }
 * channel.unlink();
 * ```
 */
export class ShmMessage implements Disposable {
  readonly #channel: ShmChannel;
  readonly #position: number;
  #bytes: Uint8Array;
  #released = false;

  static {
    makeMessage = (channel, position, bytes) => {
      constructing = true;
      return new ShmMessage(channel, position, bytes);
    };
    messagePosition = (lease) => lease.#position;
  }

  private constructor(channel: ShmChannel, position: number, bytes: Uint8Array) {
    if (!constructing) {
      throw new TypeError("ShmMessage has no public constructor: use receiveView()");
    }
    constructing = false;
    this.#channel = channel;
    this.#position = position;
    this.#bytes = bytes;
  }

  /**
   * The message, in place in the channel's memory; length 0 once released. Do not keep it
   * (or views of its buffer) past `release()`: the slot is reused for later messages.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 2, slotSize: 16 });
   * channel.sendSync("abc");
   * const message = channel.receiveViewSync();
   * const text = new TextDecoder().decode(message.bytes); // copy out what you keep
   * message.release();
   * console.log(text, message.bytes.length); // "abc" 0
   * channel.unlink();
   * ```
   */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /**
   * Frees the slot for senders. Idempotent.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 2, slotSize: 16 });
   * channel.sendSync("abc");
   * const message = channel.receiveViewSync();
   * message.release();
   * message.release(); // idempotent
   * channel.unlink();
   * ```
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#bytes = EMPTY_BYTES;
    finish(this.#channel, this, 0);
  }

  /**
   * Same as `release()`.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 2, slotSize: 16 });
   * channel.sendSync("abc");
   * {
   *   using message = channel.receiveViewSync();
   *   console.log(message.bytes.length); // 3
   * } // released here
   * channel.unlink();
   * ```
   */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * A slot reserved for a message written in place ({@linkcode ShmChannel.reserve}): write
 * the message into `bytes`, then `commit(length)`. `cancel()` (or the end of a `using`
 * scope without a commit) gives the slot up: receivers skip it. Receivers wait for this
 * slot until then, so do not hold it long.
 *
 * @example
 * ```ts
 * import { ShmChannel } from "@sysipc/sysipc/shm";
 * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 2, slotSize: 16 });
 * {
 *   using slot = channel.reserveSync();
 *   slot.bytes[0] = 1;
 *   slot.commit(1);
 * }
 * console.log(channel.tryReceive()); // Uint8Array [1]
 * channel.unlink();
 * ```
 */
export class ShmSlot implements Disposable {
  readonly #channel: ShmChannel;
  readonly #position: number;
  #bytes: Uint8Array;
  #done = false;

  static {
    makeSlot = (channel, position, bytes) => {
      constructing = true;
      return new ShmSlot(channel, position, bytes);
    };
    slotPosition = (lease) => lease.#position;
  }

  private constructor(channel: ShmChannel, position: number, bytes: Uint8Array) {
    if (!constructing) throw new TypeError("ShmSlot has no public constructor: use reserve()");
    constructing = false;
    this.#channel = channel;
    this.#position = position;
    this.#bytes = bytes;
  }

  /**
   * The whole slot (`slotSize` bytes) to write the message into; length 0 once done.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 2, slotSize: 16 });
   * using slot = channel.reserveSync();
   * console.log(slot.bytes.length); // 16: slotSize
   * slot.cancel();
   * channel.unlink();
   * ```
   */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /**
   * Sends the first `length` bytes of `bytes` as the message.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 2, slotSize: 16 });
   * const slot = channel.reserveSync();
   * slot.bytes.set([1, 2, 3, 4]);
   * slot.commit(2); // sends the first 2 bytes
   * console.log(channel.tryReceive()); // Uint8Array [1, 2]
   * channel.unlink();
   * ```
   *
   * @param length The message's length: 0 to `slotSize`.
   * @throws {TypeError} When `length` is not an integer.
   * @throws {RangeError} When it is outside 0 to `slotSize`.
   * @throws {IpcError} `EBADF` when already committed or cancelled, or when the channel
   *   was closed (the message was then not sent).
   */
  commit(length: number): void {
    if (this.#done) throw IpcError.closed("ShmSlot", "commit");
    checkInteger(length, "length", 0, this.#bytes.length);
    if (this.#channel.closed) throw IpcError.closed("ShmChannel", "commit");
    this.#done = true;
    this.#bytes = EMPTY_BYTES;
    finish(this.#channel, this, length);
  }

  /**
   * Gives the slot up without sending (receivers skip it). Idempotent; no-op after commit.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 2, slotSize: 16 });
   * const slot = channel.reserveSync();
   * slot.cancel();
   * console.log(channel.tryReceive()); // null: nothing was sent
   * channel.unlink();
   * ```
   */
  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    this.#bytes = EMPTY_BYTES;
    finish(this.#channel, this, SKIP);
  }

  /**
   * Same as `cancel()`: a slot not committed by the end of the scope is given up.
   *
   * @example
   * ```ts
   * import { ShmChannel } from "@sysipc/sysipc/shm";
   * using channel = ShmChannel.create(`/example-${Date.now()}`, { slots: 2, slotSize: 16 });
   * {
   *   using slot = channel.reserveSync();
   *   slot.bytes[0] = 1; // no commit: given up at the end of the block
   * }
   * console.log(channel.tryReceive()); // null
   * channel.unlink();
   * ```
   */
  [Symbol.dispose](): void {
    this.cancel();
  }
}

/** The seals every anonymous channel carries: its size can never change under a peer. */
const CHANNEL_SEALS = C.F_SEAL_SHRINK | C.F_SEAL_GROW | C.F_SEAL_SEAL;

/**
 * Reserves a slot if one is free, or frees during the short spin that every async call
 * makes before it waits (a few microseconds, yielding the CPU to a reader that shares it).
 * Internal to sysipc: for a writer that must otherwise copy what it was about to write.
 *
 * @param channel The channel.
 * @returns The slot, or `null` when the channel stayed full.
 * @throws {IpcError} `EBADF` (closed).
 */
export function reserveSoon(channel: ShmChannel): ShmSlot | null {
  return reserveSoonOf(channel);
}

/**
 * Creates a channel in a new memfd instead of a named segment (internal to sysipc: for a
 * channel that two processes set up over a Unix socket). The memfd is sealed against
 * resizing, so that no process holding it can make another's mapping fault.
 *
 * @param label The memfd's name in `/proc/<pid>/fd`, and the channel's name in errors.
 * @param slots How many messages it holds.
 * @param slotSize The largest message.
 * @returns The channel, and the memfd's descriptor: the caller hands it on, then closes it.
 * @throws {IpcError} `EMFILE`, `ENOMEM`.
 */
export function createChannelMemfd(
  label: string,
  slots: number,
  slotSize: number,
): { channel: ShmChannel; fd: number } {
  const g = geometry(slots, slotSize);
  const fd = check(
    libc.memfd_create(cString(label, "label"), C.MFD_CLOEXEC | C.MFD_ALLOW_SEALING),
    "memfd_create",
    label,
  );
  let mapping: Mapping | undefined;
  try {
    check(libc.ftruncate(fd, g.size), "ftruncate", label);
    check(libc.fcntl(fd, C.F_ADD_SEALS, CHANNEL_SEALS), "fcntl(F_ADD_SEALS)", label);
    mapping = Mapping.map(fd, g.size, false, label);
    writeHeader(new Int32Array(mapping.buffer), g, libc.getpid());
    return { channel: adopt(label, mapping), fd };
  } catch (e) {
    mapping?.unmap();
    libc.close(fd);
    throw e;
  }
}

/**
 * Maps a channel from a descriptor another process made with
 * {@linkcode createChannelMemfd} and handed over (internal to sysipc). The descriptor
 * stays the caller's. A segment that is not sealed against shrinking is refused: its
 * maker could shrink it under this mapping, and touching the lost pages would end this
 * process with `SIGBUS`.
 *
 * @param fd The descriptor.
 * @param label The channel's name in errors.
 * @returns The channel.
 * @throws {IpcError} `EPROTO` when the segment is not a sealed channel, or has another
 *   layout version or a corrupted header; from `mmap`.
 */
export function openChannelFd(fd: number, label: string): ShmChannel {
  const seals = libc.fcntl(fd, C.F_GET_SEALS, 0);
  if (
    seals < 0 || (seals & (C.F_SEAL_SHRINK | C.F_SEAL_SEAL)) !== (C.F_SEAL_SHRINK | C.F_SEAL_SEAL)
  ) {
    throw IpcError.of(
      "EPROTO",
      "ShmChannel.open",
      label,
      "The segment is not a memfd sealed against shrinking",
    );
  }
  const size = sizeOf(fd, label);
  if (size < HEADER_SIZE || size > MAX_MAP) {
    throw IpcError.of("EPROTO", "ShmChannel.open", label, `Not a ShmChannel: ${size} bytes`);
  }
  const mapping = Mapping.map(fd, size, false, label);
  try {
    return adopt(label, mapping);
  } catch (e) {
    mapping.unmap();
    throw e;
  }
}

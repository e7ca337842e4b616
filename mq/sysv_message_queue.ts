/**
 * System V message queues: {@linkcode SysVMessageQueue}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { errnoName, errnoNumber, IpcError } from "../ffi/errors.ts";
import { checkBuffer, checkInteger, toBytes } from "../ffi/handle.ts";
import {
  type CreateOptions,
  createOptions,
  dateOfSeconds,
  readIpcPerm,
  sysvGetFlags,
  type SysVKey,
  sysvKey,
} from "../ffi/ipc.ts";
import { check, describeValue, EAGAIN, EINTR, errno, libc, longArgument } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { ipcPerm, msginfo, msqidDs } from "../ffi/structs.ts";
import type { NativePointer } from "../ffi/symbols.ts";
import {
  attemptNow,
  cancelAll,
  checkWaitOptions,
  deadlineOf,
  DONE,
  newSpinState,
  offload,
  type Owner,
  remaining,
  retryWithTimer,
  type WaitContext,
  type WaitOptions,
  warmOffload,
} from "../ffi/wait/mod.ts";
import { WriteQueue } from "../ffi/writes.ts";

const E2BIG = errnoNumber("E2BIG");
const EIDRM = errnoNumber("EIDRM");
const EINVAL = errnoNumber("EINVAL");
const ENOMSG = errnoNumber("ENOMSG");
/** Bytes before the text of a `struct msgbuf`: its `long mtype`. */
const HEADER = 8;
const MAX_TYPE = Number.MAX_SAFE_INTEGER;

/** Options of {@linkcode SysVMessageQueue.send}. */
export interface SysVSendOptions extends WaitOptions {}

/** Options of {@linkcode SysVMessageQueue.sendSync}. */
export interface SysVSendSyncOptions {
  /** Milliseconds to wait for room: `undefined` waits forever, `0` tries once. */
  timeout?: number;
}

/** Which message a receive takes, and how much of it. */
export interface SysVSelection {
  /**
   * `0` (default): the first message; `> 0`: the first of exactly that type (or, with
   * `except`, of any other type); `< 0`: the first of the lowest type ≤ `|type|`.
   */
  type?: number;
  /** With a positive `type`: take the first message of any other type (`MSG_EXCEPT`). */
  except?: boolean;
  /**
   * The most bytes to take: a longer message is cut to this size and the rest discarded
   * (`MSG_NOERROR`). Default: the whole message, however long.
   */
  maxSize?: number;
  /**
   * A buffer to receive into: the message's `data` is then a view of its start, and no
   * memory is allocated for the message (the view is overwritten by the next receive into
   * the same buffer). With `maxSize`, it must hold `maxSize` bytes; without, a message
   * longer than the buffer is refused with `E2BIG` and stays in the queue, as `msgrcv`
   * does. Default: a new `Uint8Array` per message.
   */
  into?: Uint8Array;
}

/** Options of {@linkcode SysVMessageQueue.receive}. */
export interface SysVReceiveOptions extends SysVSelection, WaitOptions {}

/** Options of {@linkcode SysVMessageQueue.receiveSync}. */
export interface SysVReceiveSyncOptions extends SysVSelection {
  /** Milliseconds to wait for a message: `undefined` waits forever, `0` tries once. */
  timeout?: number;
}

/** A message taken from a System V queue. */
export interface SysVMessage {
  /** Its type, a positive integer. */
  type: number;
  /** Its bytes. */
  data: Uint8Array;
}

/** What {@linkcode SysVMessageQueue.stat} reports (`msgctl(IPC_STAT)`). */
export interface SysVMessageQueueStat {
  /** The key it was made with (0 for `"private"`), as C's signed `key_t`. */
  key: number;
  /** Messages in the queue. */
  messages: number;
  /** Bytes of message text in the queue. */
  bytes: number;
  /** The most bytes of text the queue holds (`msg_qbytes`). */
  maxBytes: number;
  /** The process that sent last (0: none yet). */
  lastSendPid: number;
  /** The process that received last (0: none yet). */
  lastReceivePid: number;
  /** When the last message was sent, or `null`. */
  lastSendTime: Date | null;
  /** When the last message was received, or `null`. */
  lastReceiveTime: Date | null;
  /** When it was made or last changed with {@linkcode SysVMessageQueue.set}. */
  changeTime: Date | null;
  /** The permission bits. */
  mode: number;
  /** The owner's user id. */
  uid: number;
  /** The owner's group id. */
  gid: number;
  /** The creator's user id. */
  creatorUid: number;
  /** The creator's group id. */
  creatorGid: number;
}

/** What {@linkcode SysVMessageQueue.set} can change (`msgctl(IPC_SET)`). */
export interface SysVMessageQueueChanges {
  /** The permission bits, 0 to 0o777. */
  mode?: number;
  /** The owner's user id. */
  uid?: number;
  /** The owner's group id. */
  gid?: number;
  /**
   * The most bytes of text the queue holds. Above `/proc/sys/kernel/msgmnb` needs
   * `CAP_SYS_RESOURCE`.
   */
  maxBytes?: number;
}

/** A receive's checked selection: the `msgrcv` type, flags and buffer size. */
interface Selection {
  type: number;
  /** `type` as `msgrcv_hot` takes it. */
  typeArgument: NativePointer | null;
  except: boolean;
  /** `undefined`: the whole message (the buffer is `msgmax` bytes). */
  maxSize: number | undefined;
  into: Uint8Array | undefined;
  flags: number;
}

const internal = Symbol("SysVMessageQueue");

/**
 * Sends a message with `IPC_NOWAIT`.
 *
 * @returns `true` when sent, `false` when the queue is full.
 * @throws {IpcError} For any other failure (the queue is gone, the message too long).
 */
function sendNow(id: number, message: Uint8Array, size: number): boolean {
  while (true) {
    if (libc.msgsnd(id, message, size, C.IPC_NOWAIT) === 0) return true;
    const e = errno();
    if (e === EAGAIN) return false;
    if (e !== EINTR) throw new IpcError({ errno: e, syscall: "msgsnd" });
  }
}

/**
 * Memory for a `struct msgbuf` of `size` bytes of text (the type, a long, comes first),
 * placed so that the text starts 64-byte aligned, as a large buffer of the caller's does.
 * Copied to or from a page-aligned buffer, text right after an aligned type sat 8 bytes
 * off, at which distance the CPU's string copy runs 4 times slower (4 KiB: 174 against 45
 * ns, measured in C): Bun paid 1.1 µs a 4 KiB round trip on one CPU for it. (Not part of
 * the public API; the benchmark's raw FFI floor uses it.)
 *
 * @param size The text's size in bytes.
 * @returns A view of `8 + size` bytes.
 */
export function messageBuffer(size: number): Uint8Array {
  const buffer = new ArrayBuffer(HEADER + size + 64);
  const off = (runtime.addressOf(new Uint8Array(buffer)) + HEADER) % 64;
  return new Uint8Array(buffer, off === 0 ? 0 : 64 - off, HEADER + size);
}

/** One `msgrcv` with `IPC_NOWAIT`: the text's length, or -1 (see errno). */
function msgrcvNoWait(id: number, buf: Uint8Array, size: number, selection: Selection): number {
  const flags = selection.flags | C.IPC_NOWAIT;
  return libc.msgrcv_hot(id, buf, longArgument(size), selection.typeArgument, flags);
}

/** Puts back the kept messages of a handle that was never closed (a safety net only). */
const forgotten = new FinalizationRegistry<{ id: number; kept: SysVMessage[] }>(
  ({ id, kept }) => {
    for (const { type, data } of kept) {
      try {
        sendNow(id, packMessage(new Uint8Array(HEADER + data.length), type, data), data.length);
      } catch {
        return; // the queue is gone, and every message with it
      }
    }
  },
);

/** `msgmax`, the system's largest message, as last read (`msgctl(IPC_INFO)`). */
let msgmax = 0;

/** Reads the system's message limits; returns `msgmax`. */
function refreshLimits(): { msgmax: number; msgmnb: number; msgmni: number } {
  const info = new DataView(new ArrayBuffer(msginfo.size));
  check(libc.msgctl(0, C.IPC_INFO, info), "msgctl(IPC_INFO)");
  msgmax = info.getInt32(msginfo.offsets.msgmax, true);
  return {
    msgmax,
    msgmnb: info.getInt32(msginfo.offsets.msgmnb, true),
    msgmni: info.getInt32(msginfo.offsets.msgmni, true),
  };
}

/**
 * A System V message queue (`msgget`): typed messages that the kernel keeps until read.
 * A receive picks a message by type, so one queue can carry several conversations (the
 * classic ping-pong sends type 10 one way and type 11 back).
 *
 * System V queues have no descriptor to poll: an async call tries once with `IPC_NOWAIT`
 * and then makes the blocking call in one of the wait engine's helper threads (made when
 * the handle is, reused, never blocking the event loop). A timeout, abort or `close()`
 * interrupts that call with a signal. A message that arrived at that very moment is not
 * lost: it is **kept on the handle**, and the next receive on this handle whose selection
 * it matches returns it before looking at the queue; `close()` puts kept messages back at
 * the end of the queue (and so does the garbage collector, for a handle never closed, if
 * the queue has room then).
 *
 * `close()` only ends this handle's use of the queue; {@linkcode SysVMessageQueue.remove}
 * destroys the queue and every message in it.
 *
 * @example Typed messages
 * ```ts
 * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
 * using queue = SysVMessageQueue.get("private", { create: true });
 * queue.sendSync(10, "ping");
 * queue.sendSync(11, "pong");
 * const pong = await queue.receive({ type: 11, timeout: 1000 });
 * console.log(pong.type, new TextDecoder().decode(pong.data)); // 11 "pong"
 * console.log(queue.stat().messages); // 1
 * queue.remove();
 * ```
 */
export class SysVMessageQueue implements Disposable {
  #id: number;
  #key: number;
  #closed = false;
  #removed = false;
  #waits: Owner = new Set();
  #spin = newSpinState();
  /** Async sends go out in call order. */
  #order = new WriteQueue();
  /** Messages taken from the queue after their receive was given up (see the class notes). */
  #kept: SysVMessage[] = [];
  /** Memory for calls made on this thread (sync calls, and async calls' first try). */
  #scratch = messageBuffer(64);
  #sendContext: WaitContext;
  #receiveContext: WaitContext;

  /** Not public: use {@linkcode SysVMessageQueue.get} or {@linkcode SysVMessageQueue.fromId}. */
  private constructor(token: symbol, id: number, key: number) {
    if (token !== internal) {
      throw new TypeError(
        "SysVMessageQueue has no public constructor: use SysVMessageQueue.get() or fromId()",
      );
    }
    this.#id = id;
    this.#key = key;
    this.#sendContext = { syscall: "msgsnd", owner: this.#waits, spin: this.#spin };
    this.#receiveContext = { syscall: "msgrcv", owner: this.#waits, spin: this.#spin };
    forgotten.register(this, { id, kept: this.#kept }, this);
    warmOffload();
  }

  /**
   * Gets the queue with a key, or creates it with `create: true`; `"private"` always
   * makes a new queue (`IPC_PRIVATE`), which other processes reach by its
   * {@linkcode SysVMessageQueue.id}.
   *
   * @example A queue other processes find by key
   * ```ts
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { ftok, SysVMessageQueue } from "@sysipc/sysipc/mq";
   * const dir = mkdtempSync(`${tmpdir()}/app-`); // any file the processes agree on
   * const key = ftok(dir, 42); // the same in every process that asks
   * const queue = SysVMessageQueue.get(key, { create: true, mode: 0o640 });
   * console.log(queue.id, queue.stat().mode.toString(8)); // … "640"
   * queue.remove();
   * rmSync(dir, { recursive: true });
   * ```
   *
   * @param key A 32-bit key (such as one from `ftok`), signed or unsigned, or
   *   `"private"`.
   * @param options `create`, `exclusive`, `mode` (default `0o600`).
   * @returns The queue.
   * @throws {TypeError} When `key` or an option has the wrong type, or `exclusive` is given
   *   without `create`.
   * @throws {RangeError} When `key` or `mode` is out of range.
   * @throws {IpcError} `ENOENT` (no queue with that key, without `create`), `EEXIST` (with
   *   `exclusive`), `EACCES`, `ENOSPC` when `/proc/sys/kernel/msgmni` queues exist (the
   *   message names the limit).
   */
  static get(key: SysVKey, options?: CreateOptions): SysVMessageQueue {
    const k = sysvKey(key);
    const flags = sysvGetFlags(createOptions(options));
    const id = libc.msgget(k, flags);
    if (id < 0) {
      const e = errno();
      if (errnoName(e) === "ENOSPC") {
        throw new IpcError({
          errno: e,
          syscall: "msgget",
          detail:
            `No space left: /proc/sys/kernel/msgmni (${refreshLimits().msgmni}) message queues exist already`,
        });
      }
      throw new IpcError({ errno: e, syscall: "msgget", path: keyText(k) });
    }
    return new SysVMessageQueue(internal, id, k);
  }

  /**
   * A handle for a queue known by its id, such as a `"private"` queue another process
   * made and passed on, or one `ipcs -q` lists.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * const made = SysVMessageQueue.get("private", { create: true });
   * const same = SysVMessageQueue.fromId(made.id); // as another process would
   * same.sendSync(1, "hi");
   * console.log(made.tryReceive()?.type); // 1
   * made.remove();
   * ```
   *
   * @param id The queue's id.
   * @returns The queue.
   * @throws {TypeError} When `id` is not an integer.
   * @throws {RangeError} When `id` is negative.
   * @throws {IpcError} `EINVAL` when no queue has that id, `EACCES` without read access.
   */
  static fromId(id: number): SysVMessageQueue {
    checkInteger(id, "id", 0, 0x7fffffff);
    const ds = new DataView(new ArrayBuffer(msqidDs.size));
    if (libc.msgctl(id, C.IPC_STAT, ds) !== 0) throw idError(errno(), "msgctl(IPC_STAT)", id);
    return new SysVMessageQueue(internal, id, readIpcPerm(ds, msqidDs.offsets.msg_perm).key);
  }

  /**
   * The queue's id (`ipcs -q` lists it as `msqid`).
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * console.log(queue.id >= 0); // true: ipcs -q lists it
   * queue.remove();
   * ```
   */
  get id(): number {
    return this.#id;
  }

  /**
   * The key the handle was made with (0 for `"private"`), as C's signed `key_t`.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * console.log(queue.key); // 0: "private"
   * queue.remove();
   * ```
   */
  get key(): number {
    return this.#key;
  }

  /**
   * Whether `close()` was called.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * const same = SysVMessageQueue.fromId(queue.id);
   * same.close();
   * console.log(same.closed, queue.closed); // true false
   * queue.remove();
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a message, waiting for room without blocking the event loop. Async sends on one
   * handle go out in call order.
   *
   * If the wait is given up (timeout, abort, `close()`) at the very moment the kernel
   * takes the message, the promise still rejects, and the message was sent: the kernel
   * cannot take it back.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * await queue.send(10, "ping", { timeout: 1000 }); // waits while the queue is full
   * console.log(queue.tryReceive({ type: 10 })?.type); // 10
   * queue.remove();
   * ```
   *
   * @param type The message type, a positive integer (at most 2^53 - 1).
   * @param data The message: bytes, or a string sent as UTF-8 (empty is allowed).
   * @param options `timeout` (ms) and `signal`.
   * @throws {TypeError} For data of another type, a non-integer type, or bad options.
   * @throws {RangeError} When `type` is not positive.
   * @throws {IpcError} `EMSGSIZE` when the message is longer than the system's
   *   `/proc/sys/kernel/msgmax` or than the queue holds (`maxBytes`); `EBADF` when closed;
   *   `EIDRM` when the queue was removed; `ETIMEDOUT`; `EAGAIN` when `timeout` is 0 and
   *   the queue is full; `EACCES` without write permission.
   */
  send(type: number, data: Uint8Array | string, options?: SysVSendOptions): Promise<void> {
    // The common case first: nothing in line and room in the queue (no line entry, no
    // closure, no async frame).
    let id: number, bytes: Uint8Array;
    try {
      id = this.#use("msgsnd");
      bytes = toBytes(data);
      checkInteger(type, "type", 1, MAX_TYPE);
      checkWaitOptions(options);
      if (!this.#order.busy && this.#trySend(id, type, bytes)) return DONE;
      if (options?.timeout === 0) {
        throw IpcError.of("EAGAIN", "msgsnd"); // full, or it would wait in line
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#sendLater(id, type, bytes, options);
  }

  /** A send that waits: in line behind earlier ones, then for room (on a helper thread). */
  async #sendLater(
    id: number,
    type: number,
    bytes: Uint8Array,
    options: SysVSendOptions | undefined,
  ): Promise<void> {
    const deadline = deadlineOf(options);
    await this.#order.run(options, this.#sendContext, async () => {
      this.#use("msgsnd"); // closed while in line?
      if (this.#trySend(id, type, bytes)) return;
      this.#checkFits(id, bytes.length);
      // The helper thread reads the message after this call returns: memory of its own.
      const message = packMessage(
        new Uint8Array(new ArrayBuffer(HEADER + bytes.length)),
        type,
        bytes,
      );
      try {
        await offload(
          {
            syscall: C.SYS_msgsnd,
            args: [id, runtime.addressOf(message), bytes.length, 0],
            memory: [message],
            attempt: () => this.#trySend(id, type, bytes) ? 0 : undefined,
          },
          remaining(options, deadline),
          this.#sendContext,
        );
      } catch (e) {
        throw this.#explain(e, bytes.length);
      }
    });
  }

  /**
   * Sends a message, blocking the calling thread while the queue is full. Does not wait
   * for async sends pending on this handle.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * queue.sendSync(1, new Uint8Array([42]));
   * console.log(queue.stat().messages); // 1
   * queue.remove();
   * ```
   *
   * @param type The message type, a positive integer.
   * @param data The message.
   * @param options `timeout` (ms; a timer signal interrupts the wait, see `./ffi`'s
   *   `retryWithTimer`).
   * @throws {TypeError} For data of another type or a non-integer type.
   * @throws {RangeError} When `type` is not positive.
   * @throws {IpcError} `EMSGSIZE`, `EBADF`, `EIDRM`, `ETIMEDOUT`, `EAGAIN` (full, with
   *   `timeout: 0`), `EACCES`.
   */
  sendSync(type: number, data: Uint8Array | string, options?: SysVSendSyncOptions): void {
    const id = this.#use("msgsnd");
    const bytes = toBytes(data);
    checkInteger(type, "type", 1, MAX_TYPE);
    checkWaitOptions(options);
    if (this.#trySend(id, type, bytes)) return;
    const timeout = options?.timeout;
    if (timeout === 0) throw IpcError.of("EAGAIN", "msgsnd");
    this.#checkFits(id, bytes.length);
    const message = packMessage(this.#buffer(bytes.length), type, bytes);
    const call = () => libc.msgsnd(id, message, bytes.length, 0);
    try {
      if (timeout === undefined) {
        while (call() !== 0) {
          const e = errno();
          if (e !== EINTR) throw new IpcError({ errno: e, syscall: "msgsnd" });
        }
      } else retryWithTimer(call, timeout, "msgsnd");
    } catch (e) {
      throw this.#explain(e, bytes.length);
    }
  }

  /**
   * Sends a message if the queue has room, never waiting (`IPC_NOWAIT`).
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * console.log(queue.trySend(3, "fits")); // true; false when the queue is full
   * queue.remove();
   * ```
   *
   * @param type The message type, a positive integer.
   * @param data The message.
   * @returns `true` when sent, `false` when the queue is full.
   * @throws {TypeError} For data of another type or a non-integer type.
   * @throws {RangeError} When `type` is not positive.
   * @throws {IpcError} `EMSGSIZE`, `EBADF`, `EIDRM`, `EACCES`.
   */
  trySend(type: number, data: Uint8Array | string): boolean {
    const id = this.#use("msgsnd");
    const bytes = toBytes(data);
    checkInteger(type, "type", 1, MAX_TYPE);
    return this.#trySend(id, type, bytes);
  }

  /**
   * Receives a message, waiting for one without blocking the event loop. A message kept
   * on this handle from a receive that was given up comes first (see the class notes).
   *
   * @example Receiving by type
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * queue.sendSync(11, "pong");
   * queue.sendSync(10, "ping");
   * const message = await queue.receive({ type: 10, timeout: 1000 }); // only type 10
   * console.log(message.type, new TextDecoder().decode(message.data)); // 10 "ping"
   * queue.remove();
   * ```
   *
   * @param options Which message (`type`, `except`), how much of it (`maxSize`),
   *   `timeout` (ms) and `signal`.
   * @returns The message and its type.
   * @throws {TypeError} When `type` is not an integer, or `except` is set without a
   *   positive `type`.
   * @throws {RangeError} When `type` or `maxSize` is out of range.
   * @throws {IpcError} `EBADF` when closed, `EIDRM` when the queue is removed (also while
   *   waiting), `ETIMEDOUT`, `EAGAIN` when `timeout` is 0 and no message matches,
   *   `EACCES` without read permission.
   */
  receive(options?: SysVReceiveOptions): Promise<SysVMessage> {
    // The direct path, with no async frame: a message that is there, or that a sender on
    // this CPU sends while this side yields once (attemptNow).
    let id: number, selection: Selection;
    try {
      id = this.#use("msgrcv");
      selection = checkSelection(options);
      checkWaitOptions(options);
      const ready = attemptNow(this.#receiveNow, selection, this.#spin, options);
      if (ready !== undefined) return Promise.resolve(ready);
      if (options?.timeout === 0) throw IpcError.of("EAGAIN", "msgrcv");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#receiveLater(id, selection, options);
  }

  /** A receive that waits: a helper thread makes the blocking `msgrcv`. */
  async #receiveLater(
    id: number,
    selection: Selection,
    options: SysVReceiveOptions | undefined,
  ): Promise<SysVMessage> {
    const deadline = deadlineOf(options);
    for (let first = true;; first = false) {
      // The direct path has just looked; after msgmax grew, look again.
      const ready = first ? null : this.#tryReceive(id, selection);
      if (ready !== null) return ready;
      const size = this.#size(selection);
      // The helper thread fills this after the call returns: memory of its own.
      const buf = new Uint8Array(new ArrayBuffer(HEADER + size));
      const read = () => msgrcvNoWait(id, buf, size, selection);
      try {
        const n = await offload(
          {
            syscall: C.SYS_msgrcv,
            args: [id, runtime.addressOf(buf), size, selection.type, selection.flags],
            memory: [buf],
            attempt: () => {
              const n = read();
              if (n >= 0) return n;
              const e = errno();
              if (e === ENOMSG || e === EINTR) return undefined;
              throw new IpcError({ errno: e, syscall: "msgrcv" });
            },
            late: (n) => this.#keep(unpackMessage(buf, n)),
          },
          remaining(options, deadline),
          this.#receiveContext,
        );
        return unpackMessage(buf, n, selection.into);
      } catch (e) {
        // A message longer than msgmax was when last read: msgmax grew, so try again.
        if (!(e instanceof IpcError && e.errno === E2BIG && this.#grew(selection))) {
          throw this.#explain(e, undefined, selection.into);
        }
      }
    }
  }

  /**
   * Receives a message, blocking the calling thread until one matches. A message kept on
   * this handle comes first.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * queue.sendSync(5, "five");
   * queue.sendSync(2, "two");
   * console.log(queue.receiveSync({ type: -9 }).type); // 2: the lowest type up to 9
   * queue.remove();
   * ```
   *
   * @example Receiving into one buffer: nothing is allocated per message
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * const request = { type: 10, into: new Uint8Array(512) }; // made once, reused
   * queue.sendSync(10, "ping");
   * const { data } = queue.receiveSync(request); // a view of request.into
   * console.log(new TextDecoder().decode(data)); // "ping"
   * queue.remove();
   * ```
   *
   * @param options Which message (`type`, `except`), how much of it (`maxSize`), where it
   *   goes (`into`), and `timeout` (ms; a timer signal interrupts the wait).
   * @returns The message and its type.
   * @throws {TypeError} When `type` is not an integer, or `except` is set without a
   *   positive `type`.
   * @throws {RangeError} When `type` or `maxSize` is out of range, or `into` is shorter
   *   than `maxSize`.
   * @throws {IpcError} `EBADF`, `EIDRM`, `ETIMEDOUT`, `EAGAIN` (none matches, with
   *   `timeout: 0`), `EACCES`, `E2BIG` (longer than `into`, without `maxSize`).
   */
  receiveSync(options?: SysVReceiveSyncOptions): SysVMessage {
    const id = this.#use("msgrcv");
    const selection = checkSelection(options);
    checkWaitOptions(options);
    const timeout = options?.timeout;
    if (timeout === 0) {
      const message = this.#tryReceive(id, selection);
      if (message === null) throw IpcError.of("EAGAIN", "msgrcv");
      return message;
    }
    const kept = this.#takeKept(selection);
    if (kept !== null) return kept;
    while (true) {
      const size = this.#size(selection);
      const buf = this.#buffer(size);
      try {
        let n: number;
        const sizeArgument = longArgument(size);
        if (timeout === undefined) {
          // No closure made on this path.
          while (
            (n = libc.msgrcv_hot(id, buf, sizeArgument, selection.typeArgument, selection.flags)) <
              0
          ) {
            const e = errno();
            if (e !== EINTR) throw new IpcError({ errno: e, syscall: "msgrcv" });
          }
        } else {
          const call = () =>
            libc.msgrcv_hot(id, buf, sizeArgument, selection.typeArgument, selection.flags);
          n = retryWithTimer(call, timeout, "msgrcv");
        }
        return unpackMessage(buf, n, selection.into);
      } catch (e) {
        if (!(e instanceof IpcError && e.errno === E2BIG && this.#grew(selection))) {
          throw this.#explain(e, undefined, selection.into);
        }
      }
    }
  }

  /**
   * Receives a message if one matches, never waiting (`IPC_NOWAIT`). A message kept on
   * this handle comes first.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * console.log(queue.tryReceive()); // null: empty
   * queue.sendSync(7, "x");
   * console.log(queue.tryReceive({ type: 7, except: true })); // null: only a type other than 7
   * queue.remove();
   * ```
   *
   * @param options Which message (`type`, `except`) and how much of it (`maxSize`).
   * @returns The message, or `null` when none matches.
   * @throws {TypeError} When `type` is not an integer, or `except` is set without a
   *   positive `type`.
   * @throws {RangeError} When `type` or `maxSize` is out of range.
   * @throws {IpcError} `EBADF`, `EIDRM`, `EACCES`.
   */
  tryReceive(options?: SysVSelection): SysVMessage | null {
    const id = this.#use("msgrcv");
    return this.#tryReceive(id, checkSelection(options));
  }

  /**
   * The queue's state (`msgctl(IPC_STAT)`).
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * import process from "node:process";
   * queue.sendSync(1, "hello");
   * const s = queue.stat();
   * console.log(s.messages, s.bytes, s.lastSendPid === process.pid); // 1 5 true
   * queue.remove();
   * ```
   *
   * @returns Depth, limits, last sender and receiver, times, owner and mode.
   * @throws {IpcError} `EBADF` when closed, `EIDRM` when removed, `EACCES` without read
   *   permission.
   */
  stat(): SysVMessageQueueStat {
    const ds = this.#stat(this.#use("msgctl"));
    const perm = readIpcPerm(ds, msqidDs.offsets.msg_perm);
    const o = msqidDs.offsets;
    return {
      key: perm.key,
      messages: Number(ds.getBigUint64(o.msg_qnum, true)),
      bytes: Number(ds.getBigUint64(o.__msg_cbytes, true)),
      maxBytes: Number(ds.getBigUint64(o.msg_qbytes, true)),
      lastSendPid: ds.getInt32(o.msg_lspid, true),
      lastReceivePid: ds.getInt32(o.msg_lrpid, true),
      lastSendTime: dateOfSeconds(ds.getBigInt64(o.msg_stime, true)),
      lastReceiveTime: dateOfSeconds(ds.getBigInt64(o.msg_rtime, true)),
      changeTime: dateOfSeconds(ds.getBigInt64(o.msg_ctime, true)),
      mode: perm.mode,
      uid: perm.uid,
      gid: perm.gid,
      creatorUid: perm.creatorUid,
      creatorGid: perm.creatorGid,
    };
  }

  /**
   * Changes the queue's owner, mode or capacity (`msgctl(IPC_SET)`); what is not given
   * stays as it is. Only the owner, the creator or a privileged process may.
   *
   * @example Shrinking a queue
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * queue.set({ maxBytes: 100, mode: 0o640 });
   * console.log(queue.stat().maxBytes, queue.trySend(1, new Uint8Array(100))); // 100 true
   * console.log(queue.trySend(1, "more")); // false: full
   * queue.remove();
   * ```
   *
   * @param changes `mode`, `uid`, `gid`, `maxBytes`.
   * @throws {TypeError} When `changes` or a field has the wrong type.
   * @throws {RangeError} When a field is out of range.
   * @throws {IpcError} `EPERM` when not the owner, or when raising `maxBytes` above
   *   `/proc/sys/kernel/msgmnb` without `CAP_SYS_RESOURCE` (the message says which);
   *   `EBADF`, `EIDRM`.
   */
  set(changes: SysVMessageQueueChanges): void {
    const id = this.#use("msgctl");
    if (typeof changes !== "object" || changes === null) {
      throw new TypeError(`changes must be an object, got ${describeValue(changes)}`);
    }
    const { mode, uid, gid, maxBytes } = changes;
    if (mode !== undefined) checkInteger(mode, "mode", 0, 0o777);
    if (uid !== undefined) checkInteger(uid, "uid", 0, 0xfffffffe);
    if (gid !== undefined) checkInteger(gid, "gid", 0, 0xfffffffe);
    if (maxBytes !== undefined) checkInteger(maxBytes, "maxBytes", 0, 0x7fffffff);
    const ds = this.#stat(id);
    const perm = (field: keyof typeof ipcPerm.offsets) =>
      msqidDs.offsets.msg_perm + ipcPerm.offsets[field];
    if (mode !== undefined) ds.setUint32(perm("mode"), mode, true);
    if (uid !== undefined) ds.setUint32(perm("uid"), uid, true);
    if (gid !== undefined) ds.setUint32(perm("gid"), gid, true);
    if (maxBytes !== undefined) ds.setBigUint64(msqidDs.offsets.msg_qbytes, BigInt(maxBytes), true);
    if (libc.msgctl(id, C.IPC_SET, ds) === 0) return;
    const e = errno();
    const msgmnb = refreshLimits().msgmnb;
    if (errnoName(e) === "EPERM" && maxBytes !== undefined && maxBytes > msgmnb) {
      throw new IpcError({
        errno: e,
        syscall: "msgctl(IPC_SET)",
        detail: `Operation not permitted: maxBytes ${maxBytes} is above ` +
          `/proc/sys/kernel/msgmnb (${msgmnb}), which needs CAP_SYS_RESOURCE`,
      });
    }
    throw idError(e, "msgctl(IPC_SET)", id);
  }

  /**
   * Destroys the queue and every message in it (`msgctl(IPC_RMID)`); waiting senders and
   * receivers in every process fail with `EIDRM`. This handle is then unusable (`EIDRM`);
   * `close()` is still allowed.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * queue.sendSync(1, "dropped with the queue");
   * queue.remove(); // waiters in every process fail with EIDRM
   * ```
   *
   * @throws {IpcError} `EPERM` when not the owner or creator; `EBADF` when closed;
   *   `EIDRM`/`EINVAL` when already gone.
   */
  remove(): void {
    const id = this.#use("msgctl(IPC_RMID)");
    if (libc.msgctl(id, C.IPC_RMID, null) !== 0) throw idError(errno(), "msgctl(IPC_RMID)", id);
    this.#removed = true;
    this.#kept.length = 0;
  }

  /**
   * Ends this handle's use of the queue: pending waits reject with `EBADF`, and messages
   * kept on the handle go back to the end of the queue. The queue stays. Idempotent.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * const same = SysVMessageQueue.fromId(queue.id);
   * same.close(); // the queue stays
   * console.log(queue.stat().messages); // 0
   * queue.remove();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    forgotten.unregister(this);
    cancelAll(this.#waits, IpcError.closed("SysVMessageQueue", "close"));
    for (const message of this.#kept.splice(0)) this.#putBack(message);
  }

  /**
   * Same as `close()`.
   *
   * @example
   * ```ts
   * import { SysVMessageQueue } from "@sysipc/sysipc/mq";
   * using queue = SysVMessageQueue.get("private", { create: true });
   * {
   *   using same = SysVMessageQueue.fromId(queue.id);
   *   same.sendSync(1, "x");
   * } // closed here; the queue and its message stay
   * console.log(queue.stat().messages); // 1
   * queue.remove();
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  // ---------------------------------------------------------------------------------

  #use(syscall: string): number {
    if (this.#closed) throw IpcError.closed("SysVMessageQueue", syscall);
    if (this.#removed) {
      throw IpcError.of("EIDRM", syscall, undefined, `Queue ${this.#id} was removed`);
    }
    return this.#id;
  }

  /** This thread's memory for a message of `size` bytes, grown as needed. */
  #buffer(size: number): Uint8Array {
    if (this.#scratch.length < HEADER + size) this.#scratch = messageBuffer(size);
    return this.#scratch;
  }

  /** The text size to receive into: `maxSize`, or the system's largest message. */
  #size(selection: Selection): number {
    if (msgmax === 0 || (selection.maxSize !== undefined && selection.maxSize > msgmax)) {
      refreshLimits();
    }
    const limit = selection.maxSize ?? selection.into?.length;
    return limit === undefined ? msgmax : Math.min(limit, msgmax);
  }

  /** After `E2BIG`: whether `msgmax` grew, so that a larger buffer may do. */
  #grew(selection: Selection): boolean {
    const before = msgmax;
    return selection.maxSize === undefined && selection.into === undefined &&
      refreshLimits().msgmax > before;
  }

  /** One send with `IPC_NOWAIT`: `false` when the queue is full. */
  #trySend(id: number, type: number, bytes: Uint8Array): boolean {
    const message = packMessage(this.#buffer(bytes.length), type, bytes);
    try {
      return sendNow(id, message, bytes.length);
    } catch (e) {
      throw this.#explain(e, bytes.length);
    }
  }

  /** {@linkcode #tryReceive} as an engine attempt, made once per handle. */
  readonly #receiveNow = (selection: Selection): SysVMessage | undefined =>
    this.#tryReceive(this.#use("msgrcv"), selection) ?? undefined;

  /** A kept message that matches, else one receive with `IPC_NOWAIT`; `null` if none. */
  #tryReceive(id: number, selection: Selection): SysVMessage | null {
    const kept = this.#takeKept(selection);
    if (kept !== null) return kept;
    while (true) {
      const size = this.#size(selection);
      const buf = this.#buffer(size);
      const n = msgrcvNoWait(id, buf, size, selection);
      if (n >= 0) return unpackMessage(buf, n, selection.into);
      const e = errno();
      if (e === ENOMSG) return null;
      if (e === EINTR || (e === E2BIG && this.#grew(selection))) continue;
      throw this.#explain(new IpcError({ errno: e, syscall: "msgrcv" }), undefined, selection.into);
    }
  }

  /**
   * Refuses a message that can never fit in the queue (longer than its `maxBytes`),
   * which `msgsnd` would wait for forever. Called only when the queue looked full.
   */
  #checkFits(id: number, size: number): void {
    const maxBytes = Number(this.#stat(id).getBigUint64(msqidDs.offsets.msg_qbytes, true));
    if (size > maxBytes) {
      throw IpcError.of(
        "EMSGSIZE",
        "msgsnd",
        undefined,
        `Message too long: ${size} bytes, and queue ${id} holds at most ${maxBytes} bytes ` +
          "(its maxBytes: raise it with set({ maxBytes }))",
      );
    }
  }

  #stat(id: number): DataView {
    const ds = new DataView(new ArrayBuffer(msqidDs.size));
    if (libc.msgctl(id, C.IPC_STAT, ds) !== 0) throw idError(errno(), "msgctl(IPC_STAT)", id);
    return ds;
  }

  /** Keeps a message whose receive was given up; puts it back if the handle is closed. */
  #keep(message: SysVMessage): void {
    if (this.#closed) this.#putBack(message);
    else if (!this.#removed) this.#kept.push(message);
  }

  /** The first kept message that `selection` would take, removed from the kept ones. */
  #takeKept(selection: Selection): SysVMessage | null {
    const kept = this.#kept;
    if (kept.length === 0) return null;
    const { type, except } = selection;
    let at = -1;
    if (type === 0) at = 0;
    else if (type > 0) at = kept.findIndex((m) => except ? m.type !== type : m.type === type);
    else {
      for (let i = 0; i < kept.length; i++) {
        const t = kept[i]!.type;
        if (t <= -type && (at < 0 || t < kept[at]!.type)) at = i;
      }
    }
    if (at < 0) return null;
    const { maxSize, into } = selection;
    const length = kept[at]!.data.length;
    if (into !== undefined && maxSize === undefined && length > into.length) {
      // As msgrcv would: refused, and the message stays.
      throw this.#explain(IpcError.of("E2BIG", "msgrcv"), undefined, into);
    }
    const message = kept.splice(at, 1)[0]!;
    const n = maxSize === undefined ? length : Math.min(length, maxSize);
    if (into !== undefined) {
      into.set(message.data.subarray(0, n));
      return { type: message.type, data: into.subarray(0, n) };
    }
    return n < length ? { type: message.type, data: message.data.slice(0, n) } : message;
  }

  /**
   * Puts a kept message back at the end of the queue: at once if there is room, else by
   * an async send that waits for room for as long as the process runs (without keeping
   * it alive). Lost only if the queue is removed first.
   */
  #putBack(message: SysVMessage): void {
    const { type, data } = message;
    try {
      if (this.#trySend(this.#id, type, data)) return;
    } catch {
      return; // the queue is gone, and every message with it
    }
    const copy = packMessage(new Uint8Array(new ArrayBuffer(HEADER + data.length)), type, data);
    offload(
      {
        syscall: C.SYS_msgsnd,
        args: [this.#id, runtime.addressOf(copy), data.length, 0],
        memory: [copy],
        attempt: () => sendNow(this.#id, copy, data.length) ? 0 : undefined,
      },
      undefined,
      { syscall: "msgsnd", ref: false, spin: null },
    ).catch(() => {});
  }

  /** Adds the limit that refused a call to its error, where errno alone is unclear. */
  #explain(error: unknown, size?: number, into?: Uint8Array): unknown {
    if (!(error instanceof IpcError)) return error;
    if (error.errno === E2BIG && into !== undefined) {
      return IpcError.of(
        "E2BIG",
        error.syscall,
        undefined,
        `The message is longer than into (${into.length} bytes); it stays in the queue ` +
          "(maxSize cuts it instead)",
      );
    }
    if (error.errno === EINVAL && size !== undefined && size > refreshLimits().msgmax) {
      return IpcError.of(
        "EMSGSIZE",
        error.syscall,
        undefined,
        `Message too long: ${size} bytes, and /proc/sys/kernel/msgmax is ${msgmax}`,
      );
    }
    if (error.errno === EINVAL || error.errno === EIDRM) {
      return idError(error.errno, error.syscall, this.#id);
    }
    return error;
  }
}

const ANY: Selection = {
  type: 0,
  typeArgument: longArgument(0),
  except: false,
  maxSize: undefined,
  into: undefined,
  flags: 0,
};

/** Checks a receive's `type`, `except`, `maxSize` and `into`. */
function checkSelection(options: SysVSelection | undefined): Selection {
  if (options === undefined) return ANY;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { type = 0, except = false, maxSize, into } = options;
  checkInteger(type, "type", -MAX_TYPE, MAX_TYPE);
  if (typeof except !== "boolean") {
    throw new TypeError(`except must be a boolean, got ${describeValue(except)}`);
  }
  if (except && type <= 0) throw new TypeError(`except needs a positive type, got ${type}`);
  if (maxSize !== undefined) checkInteger(maxSize, "maxSize", 0, 0x7fffffff);
  if (into !== undefined) {
    checkBuffer(into);
    if (maxSize !== undefined && into.length < maxSize) {
      throw new RangeError(`into must hold maxSize (${maxSize} bytes), got ${into.length}`);
    }
  }
  return {
    type,
    typeArgument: longArgument(type),
    except,
    maxSize,
    into,
    flags: (except ? C.MSG_EXCEPT : 0) | (maxSize !== undefined ? C.MSG_NOERROR : 0),
  };
}

const TWO_32 = 0x100000000;

/** Writes a `struct msgbuf` (type, then text) into `into`; returns it. */
function packMessage(into: Uint8Array, type: number, bytes: Uint8Array): Uint8Array {
  // The type, a positive safe integer, as a little-endian long: no BigInt per message.
  const low = type % TWO_32;
  const high = (type - low) / TWO_32;
  into[0] = low & 0xff;
  into[1] = (low >>> 8) & 0xff;
  into[2] = (low >>> 16) & 0xff;
  into[3] = low >>> 24;
  into[4] = high & 0xff;
  into[5] = (high >>> 8) & 0xff;
  into[6] = (high >>> 16) & 0xff;
  into[7] = high >>> 24;
  into.set(bytes, HEADER);
  return into;
}

/**
 * The type and text of the `struct msgbuf` in `buf`: the text copied into `into` (a view
 * of it is returned), or into a new array.
 */
function unpackMessage(buf: Uint8Array, n: number, into?: Uint8Array): SysVMessage {
  // The kernel takes only positive types: the long's sign bit is never set.
  const type = (buf[0]! | (buf[1]! << 8) | (buf[2]! << 16)) + buf[3]! * 2 ** 24 +
    ((buf[4]! | (buf[5]! << 8) | (buf[6]! << 16)) + buf[7]! * 2 ** 24) * TWO_32;
  if (into === undefined) return { type, data: buf.slice(HEADER, HEADER + n) };
  into.set(buf.subarray(HEADER, HEADER + n));
  return { type, data: into.subarray(0, n) };
}

/** A key as `ipcs` prints it, for messages. */
function keyText(key: number): string {
  return key === 0 ? "IPC_PRIVATE" : `key 0x${(key >>> 0).toString(16).padStart(8, "0")}`;
}

/** The error of a call on a queue id, saying the queue is gone where that is why. */
function idError(e: number, syscall: string, id: number): IpcError {
  const code = errnoName(e);
  if (code === "EINVAL" || code === "EIDRM") {
    return new IpcError({
      errno: e,
      syscall,
      detail: `${code === "EIDRM" ? "Identifier removed" : "Invalid argument"}: no System V ` +
        `message queue has id ${id} (it was removed, or never existed)`,
    });
  }
  return new IpcError({ errno: e, syscall });
}

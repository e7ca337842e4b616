/**
 * POSIX message queues: {@linkcode MessageQueue}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkBuffer, checkInteger, FdHandle, toBytes, untilClosed } from "../ffi/handle.ts";
import { type CreateOptions, createOptions, openCreateFlags, posixName } from "../ffi/ipc.ts";
import { check, describeValue, EAGAIN, EINTR, errno, ETIMEDOUT, libc } from "../ffi/libc.ts";
import { mqAttr, timespec } from "../ffi/structs.ts";
import { type ReadyTarget, untilReady } from "../ffi/ready.ts";
import {
  checkWaitOptions,
  deadlineOf,
  DONE,
  remaining,
  type WaitOptions,
} from "../ffi/wait/mod.ts";
import { WriteQueue } from "../ffi/writes.ts";
import { readLimit, resourceLimit } from "./shared.ts";

/** The kernel's hard ceiling on a queue's `maxMessages` (`HARD_MSGMAX`). */
const HARD_MAX_MESSAGES = 65536;
/** The kernel's hard ceiling on a queue's `messageSize` (`HARD_MSGSIZEMAX`, 16 MiB). */
const HARD_MESSAGE_SIZE = 16 * 1024 * 1024;
const PROC = "/proc/sys/fs/mqueue";

/** Options of {@linkcode MessageQueue.open}. */
export interface MessageQueueOptions extends CreateOptions {
  /**
   * With `create`: how many messages the queue holds, 1 to 65536. Default: the system's
   * `/proc/sys/fs/mqueue/msg_default` (10). Without `CAP_SYS_RESOURCE` at most
   * `/proc/sys/fs/mqueue/msg_max` (10 by default). Ignored when the queue exists already.
   */
  maxMessages?: number;
  /**
   * With `create`: the largest message in bytes, 1 to 16 MiB. Default: the system's
   * `/proc/sys/fs/mqueue/msgsize_default` (8192). Without `CAP_SYS_RESOURCE` at most
   * `/proc/sys/fs/mqueue/msgsize_max` (8192 by default). Ignored when the queue exists.
   */
  messageSize?: number;
  /** Open for receiving only. Default `false` (send and receive). */
  readOnly?: boolean;
  /** Open for sending only. Default `false`. */
  writeOnly?: boolean;
  /**
   * Open with `O_NONBLOCK`: `sendSync` and `receiveSync` then throw `EAGAIN` at once
   * instead of waiting, whatever their timeout. Async calls wait either way. Default
   * `false`; change it later with {@linkcode MessageQueue.nonBlocking}.
   */
  nonBlocking?: boolean;
}

/** Options of {@linkcode MessageQueue.send}. */
export interface MessageSendOptions extends WaitOptions {
  /** 0 (the default, lowest) to 32767 (`MQ_PRIO_MAX - 1`). */
  priority?: number;
}

/** Options of {@linkcode MessageQueue.sendSync}. */
export interface MessageSendSyncOptions {
  /** 0 (the default, lowest) to 32767 (`MQ_PRIO_MAX - 1`). */
  priority?: number;
  /** Milliseconds to wait for room: `undefined` waits forever, `0` tries once. */
  timeout?: number;
}

/** Where a receive puts the message (all receives of {@linkcode MessageQueue}). */
export interface MessageReceiveInto {
  /**
   * A buffer of at least `messageSize` bytes to receive into: the message's `data` is then
   * a view of its start, and no memory is allocated for the message. The view is
   * overwritten by the next receive into the same buffer. Default: a new `Uint8Array`
   * per message.
   */
  into?: Uint8Array;
}

/** Options of {@linkcode MessageQueue.receive}. */
export interface MessageReceiveOptions extends MessageReceiveInto, WaitOptions {}

/** Options of {@linkcode MessageQueue.receiveSync}. */
export interface MessageReceiveSyncOptions extends MessageReceiveInto {
  /** Milliseconds to wait for a message: `undefined` waits forever, `0` tries once. */
  timeout?: number;
}

/** A message taken from a POSIX queue. */
export interface Message {
  /** Its bytes. */
  data: Uint8Array;
  /** Its priority, 0 to 32767. */
  priority: number;
}

/** What {@linkcode MessageQueue.attributes} reports. */
export interface MessageQueueAttributes {
  /** How many messages the queue holds at most. */
  maxMessages: number;
  /** The largest message in bytes. */
  messageSize: number;
  /** How many messages are in it now. */
  currentMessages: number;
  /** Whether this handle's description is `O_NONBLOCK`. */
  nonBlocking: boolean;
}

const internal = Symbol("MessageQueue");

/** An absolute `CLOCK_REALTIME` time of 0: a timed call with it never waits. */
const NO_WAIT = new DataView(new ArrayBuffer(timespec.size));

/**
 * A POSIX message queue (`mq_open`): whole messages with priorities, kept by the kernel
 * until read, even after the sender exits. A receive takes the oldest message of the
 * highest priority.
 *
 * The descriptor is pollable: an async call tries once without blocking (a timed call
 * with a deadline in the past, which leaves the handle's own `O_NONBLOCK` flag alone),
 * then waits for readiness in the wait engine (no helper thread), so sync and async calls
 * mix freely on one handle. Async sends on one handle go out in call order.
 *
 * Sync calls with a timeout use `mq_timedsend`/`mq_timedreceive`, which only take an
 * absolute `CLOCK_REALTIME` time: sysipc keeps the deadline on the monotonic clock and
 * converts the time left before each call, and a wait that the system clock cut short
 * (set forward) is resumed. A system clock set backwards during the wait lengthens it by
 * as much; the async forms have no such limit.
 *
 * `close()` never removes the queue: {@linkcode MessageQueue.unlink} does. A removed
 * queue lives on until its last descriptor closes, so an open handle keeps working.
 *
 * @example Priorities
 * ```ts
 * import { MessageQueue } from "@sysipc/sysipc/mq";
 * const name = `/example-${Date.now()}`;
 * using queue = MessageQueue.open(name, { create: true, maxMessages: 8, messageSize: 256 });
 * queue.sendSync("routine");
 * queue.sendSync("urgent", { priority: 9 });
 * const first = await queue.receive({ timeout: 1000 });
 * console.log(new TextDecoder().decode(first.data), first.priority); // "urgent" 9
 * console.log(queue.tryReceive()?.priority); // 0
 * queue.unlink();
 * ```
 */
export class MessageQueue extends FdHandle {
  #name: string;
  #cname: Uint8Array<ArrayBuffer>;
  #maxMessages: number;
  #messageSize: number;
  #access: number;
  #scratch: Uint8Array | undefined;
  #priority = new Uint32Array(1);
  #deadline = new DataView(new ArrayBuffer(timespec.size));
  /** Async sends go out in call order. */
  #order = new WriteQueue();
  #sendTarget: ReadyTarget;
  #receiveTarget: ReadyTarget;

  /** Not public: use {@linkcode MessageQueue.open}. */
  private constructor(
    token: symbol,
    fd: number,
    name: string,
    cname: Uint8Array<ArrayBuffer>,
    attr: DataView,
    access: number,
  ) {
    if (token !== internal) {
      throw new TypeError("MessageQueue has no public constructor: use MessageQueue.open()");
    }
    super(fd, "owned");
    this.#name = name;
    this.#cname = cname;
    this.#maxMessages = Number(attr.getBigInt64(mqAttr.offsets.mq_maxmsg, true));
    this.#messageSize = Number(attr.getBigInt64(mqAttr.offsets.mq_msgsize, true));
    this.#access = access;
    const context = (syscall: string) => ({
      syscall,
      path: name,
      owner: this.waits,
      spin: this.spin,
    });
    this.#sendTarget = this.readyTarget(context("mq_send"));
    this.#receiveTarget = this.readyTarget(context("mq_receive"));
  }

  /**
   * Opens a queue, or creates it with `create: true`. The descriptor is close-on-exec.
   *
   * @example Creating a small queue
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/jobs-${Date.now()}`;
   * const queue = MessageQueue.open(name, { create: true, exclusive: true, maxMessages: 4 });
   * console.log(queue.attributes()); // { maxMessages: 4, messageSize: 8192, … }
   * queue.close();
   * MessageQueue.unlink(name);
   * ```
   *
   * @param name `"/name"`: one leading slash, no other, 1–250 characters after it.
   * @param options `create`, `exclusive`, `mode` (default `0o600`, reduced by the umask),
   *   `maxMessages` and `messageSize` (with `create`), `readOnly` or `writeOnly`,
   *   `nonBlocking`.
   * @returns The open queue.
   * @throws {TypeError} When `name` breaks the rule, an option has the wrong type,
   *   `exclusive` or `maxMessages`/`messageSize` is given without `create`, or both
   *   `readOnly` and `writeOnly` are set.
   * @throws {RangeError} When `mode`, `maxMessages` or `messageSize` is out of range.
   * @throws {IpcError} `ENOENT` (no such queue, without `create`), `EEXIST` (with
   *   `exclusive`), `EACCES`; `EINVAL` when `maxMessages` or `messageSize` is above
   *   `/proc/sys/fs/mqueue/msg_max` or `msgsize_max` for a process without
   *   `CAP_SYS_RESOURCE`; `EMFILE` when the user's queues would exceed `RLIMIT_MSGQUEUE`
   *   bytes (or the process is out of descriptors); `ENOSPC` when
   *   `/proc/sys/fs/mqueue/queues_max` queues exist. Each message names the limit.
   */
  static open(name: string, options?: MessageQueueOptions): MessageQueue {
    const cname = posixName(name);
    const create = createOptions(options);
    for (const field of ["readOnly", "writeOnly", "nonBlocking"] as const) {
      const value = options?.[field];
      if (value !== undefined && typeof value !== "boolean") {
        throw new TypeError(`${field} must be a boolean, got ${describeValue(value)}`);
      }
    }
    if (options?.readOnly && options.writeOnly) {
      throw new TypeError("readOnly and writeOnly cannot both be set");
    }
    const { maxMessages, messageSize } = options ?? {};
    if (maxMessages !== undefined) checkInteger(maxMessages, "maxMessages", 1, HARD_MAX_MESSAGES);
    if (messageSize !== undefined) checkInteger(messageSize, "messageSize", 1, HARD_MESSAGE_SIZE);
    if ((maxMessages !== undefined || messageSize !== undefined) && !create.create) {
      throw new TypeError("maxMessages and messageSize need create: true");
    }
    const access = options?.readOnly ? C.O_RDONLY : options?.writeOnly ? C.O_WRONLY : C.O_RDWR;
    const flags = access | C.O_CLOEXEC | openCreateFlags(create) |
      (options?.nonBlocking ? C.O_NONBLOCK : 0);
    let attr: DataView | null = null;
    let wanted: { maxMessages: number; messageSize: number } | undefined;
    if (maxMessages !== undefined || messageSize !== undefined) {
      // mq_open takes both or neither: the one not given is the system's default.
      wanted = {
        maxMessages: maxMessages ?? readLimit(`${PROC}/msg_default`) ?? 10,
        messageSize: messageSize ?? readLimit(`${PROC}/msgsize_default`) ?? 8192,
      };
      attr = new DataView(new ArrayBuffer(mqAttr.size));
      attr.setBigInt64(mqAttr.offsets.mq_maxmsg, BigInt(wanted.maxMessages), true);
      attr.setBigInt64(mqAttr.offsets.mq_msgsize, BigInt(wanted.messageSize), true);
    }
    let fd: number;
    do fd = libc.mq_open(cname, flags, create.mode, attr); while (fd < 0 && errno() === EINTR);
    if (fd < 0) throw openError(errno(), name, create.create, wanted);
    const current = new DataView(new ArrayBuffer(mqAttr.size));
    if (libc.mq_getattr(fd, current) !== 0) {
      const error = new IpcError({ errno: errno(), syscall: "mq_getattr", path: name });
      libc.close(fd);
      throw error;
    }
    return new MessageQueue(internal, fd, name, cname, current, access);
  }

  /**
   * Removes a queue's name (`mq_unlink`). The queue itself lives on until every
   * descriptor of it is closed; a new queue may then be made under the same name.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/gone-${Date.now()}`;
   * MessageQueue.open(name, { create: true }).close();
   * MessageQueue.unlink(name);
   * ```
   *
   * @param name The queue's name.
   * @throws {TypeError} When `name` breaks the naming rule.
   * @throws {IpcError} `ENOENT` when no queue has that name, `EACCES`.
   */
  static unlink(name: string): void {
    check(libc.mq_unlink(posixName(name)), "mq_unlink", name);
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "MessageQueue";
  }

  /**
   * The queue's name, as given to `open`.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * console.log(queue.name === name); // true
   * queue.unlink();
   * ```
   */
  get name(): string {
    return this.#name;
  }

  /**
   * Removes the queue's name (see {@linkcode MessageQueue.unlink}); this handle keeps
   * working.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * queue.sendSync("kept"); // the queue lives on for handles already open
   * queue.unlink(); // MessageQueue.open(name) now fails with ENOENT
   * console.log(new TextDecoder().decode(queue.receiveSync().data)); // "kept"
   * ```
   *
   * @throws {IpcError} `ENOENT` when the name is gone already.
   */
  unlink(): void {
    check(libc.mq_unlink(this.#cname), "mq_unlink", this.#name);
  }

  /**
   * Sends a message, waiting for room without blocking the event loop.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * await queue.send("routine");
   * await queue.send("urgent", { priority: 5, timeout: 1000 }); // waits while the queue is full
   * console.log(new TextDecoder().decode(queue.receiveSync().data)); // "urgent": highest first
   * queue.unlink();
   * ```
   *
   * @param data The message: bytes, or a string sent as UTF-8; at most the queue's
   *   `messageSize` bytes (empty is allowed).
   * @param options `priority` (default 0), `timeout` (ms) and `signal`.
   * @throws {TypeError} For data of another type, or bad options.
   * @throws {RangeError} When `priority` is outside 0 to 32767.
   * @throws {IpcError} `EMSGSIZE` when the message is larger than the queue's
   *   `messageSize`; `EBADF` when the handle is closed or read-only; `ETIMEDOUT`;
   *   `EAGAIN` when `timeout` is 0 and the queue is full.
   */
  send(data: Uint8Array | string, options?: MessageSendOptions): Promise<void> {
    // The common case first, as pipes do: nothing in line and room in the queue (no line
    // entry, no closure, no async frame).
    let bytes: Uint8Array, priority: number;
    try {
      const fd = this.#use("mq_send", C.O_RDONLY);
      bytes = this.#message(data);
      priority = checkPriority(options);
      checkWaitOptions(options);
      if (!this.#order.busy && this.#trySend(fd, bytes, priority)) return DONE;
      if (options?.timeout === 0) {
        // Full, or it would wait in line behind other sends.
        throw IpcError.of("EAGAIN", "mq_send", this.#name);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#sendLater(bytes, priority, options);
  }

  /** A send that waits: in line behind earlier ones, then for room. */
  async #sendLater(bytes: Uint8Array, priority: number, options?: WaitOptions): Promise<void> {
    const deadline = deadlineOf(options);
    // Joins the line synchronously, so that sends go out in call order.
    await this.#order.run(options, this.#sendTarget.context, () => {
      const now = this.#use("mq_send"); // closed while in line?
      return untilReady(
        this.#sendTarget,
        C.POLLOUT,
        remaining(options, deadline),
        () => this.#trySend(now, bytes, priority) || undefined,
      );
    });
  }

  /**
   * Sends a message, blocking the calling thread while the queue is full (unless the
   * handle is `nonBlocking`). Does not wait for async sends pending on this handle.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * queue.sendSync(new Uint8Array([1, 2]), { priority: 1 });
   * console.log(queue.attributes().currentMessages); // 1
   * queue.unlink();
   * ```
   *
   * @param data The message, at most `messageSize` bytes.
   * @param options `priority` (default 0) and `timeout` (ms; see the class notes on the
   *   clock).
   * @throws {TypeError} For data of another type, or bad options.
   * @throws {RangeError} When `priority` is outside 0 to 32767.
   * @throws {IpcError} `EMSGSIZE`, `EBADF` (closed or read-only), `ETIMEDOUT`, `EAGAIN`
   *   (queue full with `timeout: 0`, or on a `nonBlocking` handle).
   */
  sendSync(data: Uint8Array | string, options?: MessageSendSyncOptions): void {
    const fd = this.#use("mq_send", C.O_RDONLY);
    const bytes = this.#message(data);
    const priority = checkPriority(options);
    checkWaitOptions(options);
    const timeout = options?.timeout;
    if (timeout === 0) {
      if (!this.#trySend(fd, bytes, priority)) throw IpcError.of("EAGAIN", "mq_send", this.#name);
      return;
    }
    // The common case first, with no closure made.
    if (timeout === undefined && libc.mq_send(fd, bytes, bytes.length, priority) === 0) return;
    this.#blocking(
      timeout,
      "mq_send",
      () => libc.mq_send(fd, bytes, bytes.length, priority),
      (deadline) => libc.mq_timedsend(fd, bytes, bytes.length, priority, deadline),
    );
  }

  /**
   * Sends a message if the queue has room, never waiting.
   *
   * @example Never waits: false when the queue is full
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * let sent = 0;
   * while (queue.trySend(`message ${sent}`)) sent++;
   * console.log(sent); // 4: maxMessages
   * queue.unlink();
   * ```
   *
   * @param data The message, at most `messageSize` bytes.
   * @param options `priority` (default 0).
   * @returns `true` when sent, `false` when the queue is full.
   * @throws {TypeError} For data of another type.
   * @throws {RangeError} When `priority` is outside 0 to 32767.
   * @throws {IpcError} `EMSGSIZE`, `EBADF` (closed or read-only).
   */
  trySend(data: Uint8Array | string, options?: { priority?: number }): boolean {
    const fd = this.#use("mq_send", C.O_RDONLY);
    const bytes = this.#message(data);
    return this.#trySend(fd, bytes, checkPriority(options));
  }

  /**
   * Receives the oldest message of the highest priority, waiting for one without
   * blocking the event loop.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * setTimeout(() => queue.sendSync("later", { priority: 2 }), 10);
   * const { data, priority } = await queue.receive({ timeout: 5000 });
   * console.log(new TextDecoder().decode(data), priority); // "later" 2
   * queue.unlink();
   * ```
   *
   * @param options `timeout` (ms), `signal`, and `into`: a buffer to receive into.
   * @returns The message and its priority.
   * @throws {IpcError} `EBADF` when the handle is closed or write-only, `ETIMEDOUT`,
   *   `EAGAIN` when `timeout` is 0 and the queue is empty.
   * @throws {RangeError} When `into` is shorter than `messageSize`.
   */
  receive(options?: MessageReceiveOptions): Promise<Message> {
    let into: Uint8Array | undefined;
    try {
      this.#use("mq_receive", C.O_WRONLY);
      checkWaitOptions(options);
      into = this.#into(options);
    } catch (e) {
      return Promise.reject(e);
    }
    return untilReady(this.#receiveTarget, C.POLLIN, options, this.#receiveNow, into);
  }

  /**
   * Receives the oldest message of the highest priority, blocking the calling thread
   * until one comes (unless the handle is `nonBlocking`).
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * queue.sendSync("now");
   * console.log(queue.receiveSync({ timeout: 1000 }).data.length); // 3
   * queue.unlink();
   * ```
   *
   * @example Receiving into one buffer: nothing is allocated per message
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * const buffer = new Uint8Array(queue.attributes().messageSize);
   * queue.sendSync("one");
   * queue.sendSync("two");
   * for (let i = 0; i < 2; i++) {
   *   const { data } = queue.receiveSync({ into: buffer }); // a view of buffer's start
   *   console.log(new TextDecoder().decode(data)); // "one", then "two"
   * }
   * queue.unlink();
   * ```
   *
   * @param options `timeout` (ms; see the class notes on the clock), and `into`: a buffer
   *   to receive into.
   * @returns The message and its priority.
   * @throws {IpcError} `EBADF` (closed or write-only), `ETIMEDOUT`, `EAGAIN` (empty with
   *   `timeout: 0`, or on a `nonBlocking` handle).
   */
  receiveSync(options?: MessageReceiveSyncOptions): Message {
    const fd = this.#use("mq_receive", C.O_WRONLY);
    checkWaitOptions(options);
    const into = this.#into(options);
    const timeout = options?.timeout;
    if (timeout === 0) {
      const message = this.#tryReceive(fd, into);
      if (message === null) throw IpcError.of("EAGAIN", "mq_receive", this.#name);
      return message;
    }
    const buf = into ?? this.#buffer();
    if (timeout === undefined) {
      // The common case first, with no closure made.
      const n = libc.mq_receive(fd, buf, buf.length, this.#priority);
      if (n >= 0) return this.#received(buf, n, into);
    }
    const n = this.#blocking(
      timeout,
      "mq_receive",
      () => libc.mq_receive(fd, buf, buf.length, this.#priority),
      (deadline) => libc.mq_timedreceive(fd, buf, buf.length, this.#priority, deadline),
    );
    return this.#received(buf, n, into);
  }

  /**
   * Receives a message if there is one, never waiting.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * console.log(queue.tryReceive()); // null: empty
   * queue.sendSync("x");
   * console.log(queue.tryReceive()?.priority); // 0
   * queue.unlink();
   * ```
   *
   * @param options `into`: a buffer to receive into.
   * @returns The message and its priority, or `null` when the queue is empty.
   * @throws {IpcError} `EBADF` when the handle is closed or write-only.
   * @throws {RangeError} When `into` is shorter than `messageSize`.
   */
  tryReceive(options?: MessageReceiveInto): Message | null {
    const fd = this.#use("mq_receive", C.O_WRONLY);
    return this.#tryReceive(fd, this.#into(options));
  }

  /**
   * The queue's attributes now (`mq_getattr`).
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * queue.sendSync("one");
   * console.log(queue.attributes()); // { maxMessages: 4, messageSize: 64, currentMessages: 1 }
   * queue.unlink();
   * ```
   *
   * @returns Its capacity, message size, current depth, and this handle's
   *   `O_NONBLOCK` flag.
   * @throws {IpcError} `EBADF` when the handle is closed.
   */
  attributes(): MessageQueueAttributes {
    const attr = this.#getattr();
    return {
      maxMessages: this.#maxMessages,
      messageSize: this.#messageSize,
      currentMessages: Number(attr.getBigInt64(mqAttr.offsets.mq_curmsgs, true)),
      nonBlocking: (Number(attr.getBigInt64(mqAttr.offsets.mq_flags, true)) & C.O_NONBLOCK) !==
        0,
    };
  }

  /**
   * Whether the sync calls of this handle fail with `EAGAIN` instead of waiting
   * (`O_NONBLOCK`, read with `mq_getattr` and set with `mq_setattr`). The flag belongs
   * to the open description, which a child process given this descriptor shares.
   * Async calls wait either way.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/example-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * queue.nonBlocking = true; // sync calls now fail with EAGAIN instead of waiting
   * try {
   *   queue.receiveSync();
   * } catch (e) {
   *   console.log((e as { code?: string }).code); // "EAGAIN"
   * }
   * console.log(queue.nonBlocking); // true
   * queue.unlink();
   * ```
   */
  get nonBlocking(): boolean {
    return (Number(this.#getattr().getBigInt64(mqAttr.offsets.mq_flags, true)) &
      C.O_NONBLOCK) !== 0;
  }

  /**
   * Sets `O_NONBLOCK` on the queue's open description: see the getter.
   *
   * @param value `true`: sync calls fail with `EAGAIN` instead of waiting.
   */
  set nonBlocking(value: boolean) {
    const fd = this.#use("mq_setattr");
    if (typeof value !== "boolean") {
      throw new TypeError(`nonBlocking must be a boolean, got ${describeValue(value)}`);
    }
    const attr = new DataView(new ArrayBuffer(mqAttr.size));
    attr.setBigInt64(mqAttr.offsets.mq_flags, BigInt(value ? C.O_NONBLOCK : 0), true);
    check(libc.mq_setattr(fd, attr, null), "mq_setattr", this.#name);
  }

  /**
   * Receives messages one after another, forever; ends when the handle is closed.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@sysipc/sysipc/mq";
   * const name = `/iterate-${Date.now()}`;
   * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
   * for (const word of ["one", "two", "three"]) queue.sendSync(word);
   * for await (const { data } of queue) {
   *   const text = new TextDecoder().decode(data);
   *   console.log(text);
   *   if (text === "three") break;
   * }
   * queue.unlink();
   * ```
   *
   * @returns An async iterator of messages.
   * @throws {IpcError} `EBADF` when the handle is closed before iterating or is
   *   write-only; what {@linkcode MessageQueue.receive} throws.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    this.#use("mq_receive", C.O_WRONLY);
    yield* untilClosed(() => this.closed, () => this.receive());
  }

  // ---------------------------------------------------------------------------------

  /** The open descriptor; `EBADF` when closed or opened without the needed access. */
  #use(syscall: string, refused?: number): number {
    const fd = this.use(syscall);
    if (refused !== undefined && this.#access === refused) {
      throw IpcError.of(
        "EBADF",
        syscall,
        this.#name,
        `This MessageQueue was opened ${refused === C.O_RDONLY ? "readOnly" : "writeOnly"}`,
      );
    }
    return fd;
  }

  /** The bytes of a message, checked against the queue's message size. */
  #message(data: unknown): Uint8Array {
    const bytes = toBytes(data);
    if (bytes.length > this.#messageSize) {
      throw IpcError.of(
        "EMSGSIZE",
        "mq_send",
        this.#name,
        `Message too long: ${bytes.length} bytes, and the queue's messageSize is ` +
          `${this.#messageSize}`,
      );
    }
    return bytes;
  }

  #buffer(): Uint8Array {
    return this.#scratch ??= new Uint8Array(this.#messageSize);
  }

  /** One send that never waits: `false` when the queue is full. */
  #trySend(fd: number, bytes: Uint8Array, priority: number): boolean {
    while (true) {
      if (libc.mq_timedsend(fd, bytes, bytes.length, priority, NO_WAIT) === 0) return true;
      const e = errno();
      if (e === ETIMEDOUT || e === EAGAIN) return false;
      if (e !== EINTR) throw new IpcError({ errno: e, syscall: "mq_send", path: this.#name });
    }
  }

  /** The checked `into` option: a buffer that holds any message of this queue. */
  #into(options: MessageReceiveInto | undefined): Uint8Array | undefined {
    const into = options?.into;
    if (into === undefined) return undefined;
    checkBuffer(into);
    if (into.length < this.#messageSize) {
      throw new RangeError(
        `into must hold the queue's messageSize (${this.#messageSize} bytes), got ${into.length}`,
      );
    }
    return into;
  }

  /** The message of `n` bytes just received into `buf`: a view of `into`, else a copy. */
  #received(buf: Uint8Array, n: number, into: Uint8Array | undefined): Message {
    return {
      data: into === undefined ? buf.slice(0, n) : into.subarray(0, n),
      priority: this.#priority[0]!,
    };
  }

  /** {@linkcode #tryReceive} as the engine's attempt, made once per handle. */
  readonly #receiveNow = (into: Uint8Array | undefined): Message | undefined =>
    this.#tryReceive(this.#use("mq_receive"), into) ?? undefined;

  /** One receive that never waits: `null` when the queue is empty. */
  #tryReceive(fd: number, into: Uint8Array | undefined): Message | null {
    const buf = into ?? this.#buffer();
    while (true) {
      const n = libc.mq_timedreceive(fd, buf, buf.length, this.#priority, NO_WAIT);
      if (n >= 0) return this.#received(buf, n, into);
      const e = errno();
      if (e === ETIMEDOUT || e === EAGAIN) return null;
      if (e !== EINTR) throw new IpcError({ errno: e, syscall: "mq_receive", path: this.#name });
    }
  }

  /**
   * A sync call that may block: the plain call without a timeout, else the timed call
   * with the monotonic time left converted to an absolute `CLOCK_REALTIME` deadline
   * before each try. `EINTR` (signals, io_uring completions) and an early `ETIMEDOUT`
   * (the system clock was set forward) retry with the time left.
   */
  #blocking(
    timeout: number | undefined,
    syscall: string,
    plain: () => number,
    timed: (deadline: DataView) => number,
  ): number {
    const end = timeout === undefined ? Infinity : performance.now() + timeout;
    while (true) {
      let result: number;
      if (end === Infinity) result = plain();
      else {
        this.#realtimeIn(end - performance.now());
        result = timed(this.#deadline);
      }
      if (result >= 0) return result;
      const e = errno();
      if (e === ETIMEDOUT) {
        if (performance.now() >= end) {
          throw IpcError.of("ETIMEDOUT", syscall, this.#name, "Timed out");
        }
      } else if (e !== EINTR) throw new IpcError({ errno: e, syscall, path: this.#name });
    }
  }

  /** Sets `#deadline` to `CLOCK_REALTIME` now plus `ms` (at least now). */
  #realtimeIn(ms: number): void {
    const t = this.#deadline;
    check(libc.clock_gettime(C.CLOCK_REALTIME, t), "clock_gettime");
    const left = Math.max(0, ms);
    const whole = Math.floor(left / 1000);
    let ns = Number(t.getBigInt64(timespec.offsets.tv_nsec, true)) +
      Math.round((left - whole * 1000) * 1e6);
    let s = t.getBigInt64(timespec.offsets.tv_sec, true) + BigInt(whole);
    if (ns >= 1e9) {
      ns -= 1e9;
      s += 1n;
    }
    t.setBigInt64(timespec.offsets.tv_sec, s, true);
    t.setBigInt64(timespec.offsets.tv_nsec, BigInt(ns), true);
  }

  #getattr(): DataView {
    const attr = new DataView(new ArrayBuffer(mqAttr.size));
    check(libc.mq_getattr(this.use("mq_getattr"), attr), "mq_getattr", this.#name);
    return attr;
  }
}

/** The checked `priority` of send options (default 0). */
function checkPriority(options: { priority?: number } | undefined): number {
  if (options === undefined) return 0;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { priority } = options;
  return priority === undefined ? 0 : checkInteger(priority, "priority", 0, C.MQ_PRIO_MAX - 1);
}

/** The error of a failed `mq_open`, naming the system limit that refused it. */
function openError(
  e: number,
  name: string,
  create: boolean,
  wanted: { maxMessages: number; messageSize: number } | undefined,
): IpcError {
  const error = new IpcError({ errno: e, syscall: "mq_open", path: name });
  let detail: string | undefined;
  const code = error.code;
  if (code === "EINVAL" && create && wanted) {
    const over = [
      ["maxMessages", wanted.maxMessages, "msg_max"],
      ["messageSize", wanted.messageSize, "msgsize_max"],
    ] as const;
    const reasons = over.flatMap(([option, value, file]) => {
      const limit = readLimit(`${PROC}/${file}`);
      return limit !== undefined && value > limit
        ? [`${option} ${value} is above ${PROC}/${file} (${limit})`]
        : [];
    });
    if (reasons.length > 0) {
      detail = `Invalid argument: ${reasons.join(", and ")}, the limit for processes ` +
        "without CAP_SYS_RESOURCE";
    }
  } else if (code === "EMFILE" && create) {
    const size = wanted ?? {
      maxMessages: readLimit(`${PROC}/msg_default`) ?? 10,
      messageSize: readLimit(`${PROC}/msgsize_default`) ?? 8192,
    };
    // The kernel's charge: the messages, plus one msg_msg header and one priority-tree
    // node (48 bytes each on 64-bit Linux) per message.
    const bytes = size.maxMessages * (size.messageSize + 96);
    detail = "Too many open files, or too many message queue bytes: a new queue of " +
      `${size.maxMessages} × ${size.messageSize} bytes is charged about ${bytes} bytes to ` +
      `the user's RLIMIT_MSGQUEUE (${resourceLimit(C.RLIMIT_MSGQUEUE)} bytes, shared by ` +
      "all the user's queues), unless this process is out of descriptors (RLIMIT_NOFILE " +
      `${resourceLimit(C.RLIMIT_NOFILE)})`;
  } else if (code === "ENOSPC" && create) {
    detail = `No space left: ${PROC}/queues_max (${
      readLimit(`${PROC}/queues_max`) ?? "unknown"
    }) message queues exist already`;
  }
  return detail === undefined
    ? error
    : new IpcError({ errno: e, syscall: "mq_open", path: name, detail });
}

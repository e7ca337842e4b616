/**
 * A connected Unix socket: {@linkcode UnixConnection}, and {@linkcode socketpair}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import {
  checkBuffer,
  checkFd,
  checkOptions,
  FdHandle,
  type FromFdOptions,
  fromFdOwnership,
  type Ownership,
  toBytes,
} from "../ffi/handle.ts";
import { check, describeValue, EAGAIN, EINTR, errno, libc } from "../ffi/libc.ts";
import { readiness, untilReady } from "../ffi/ready.ts";
import { readableOf } from "../ffi/streams.ts";
import { checkWaitOptions, deadlineOf, readyEvents, type WaitOptions } from "../ffi/wait/mod.ts";
import { partialWriteError, writeAll, WriteQueue } from "../ffi/writes.ts";
import { SOCKET_TYPES, type SocketType } from "./address.ts";
import {
  checkFds,
  checkReceive,
  type Credentials,
  getIntOption,
  MessageIo,
  peerCredentials,
  setIntOption,
  type UnixMessage,
  type UnixReceiveOptions,
  type UnixSendOptions,
  waitSync,
} from "./io.ts";

const MAX_TRANSFER = 0x7ffff000;
const NONBLOCKING_SEND = C.MSG_DONTWAIT | C.MSG_NOSIGNAL;

/** Which direction `shutdown` ends. */
export type ShutdownHow = "read" | "write" | "both";

const SHUTDOWN: Readonly<Record<ShutdownHow, number>> = {
  read: C.SHUT_RD,
  write: C.SHUT_WR,
  both: C.SHUT_RDWR,
};

/** Set by the internal factory: the constructor is not public. */
let constructing = false;
let make: (fd: number, type: SocketType, ownership: Ownership) => UnixConnection;

/**
 * A connection for a socket sysipc opened (`socketpair`, `connect`, `accept`).
 *
 * @param fd The connected socket.
 * @param type Its type.
 * @param ownership Who closes it.
 * @returns The connection.
 */
export function newConnection(
  fd: number,
  type: SocketType,
  ownership: Ownership = "owned",
): UnixConnection {
  constructing = true;
  return make(fd, type, ownership);
}

/**
 * The type of a Unix socket.
 *
 * @param fd The descriptor.
 * @returns Its type.
 * @throws {IpcError} `ENOTSOCK` when it is no socket, `EAFNOSUPPORT` when it is not a Unix
 *   socket, `EBADF` when it is not open.
 */
export function unixSocketType(fd: number): SocketType {
  if (getIntOption(fd, C.SO_DOMAIN, "SO_DOMAIN") !== C.AF_UNIX) {
    throw IpcError.of(
      "EAFNOSUPPORT",
      "getsockopt",
      undefined,
      `fd ${fd} is not a Unix socket`,
    );
  }
  const type = getIntOption(fd, C.SO_TYPE, "SO_TYPE");
  const name = (Object.keys(SOCKET_TYPES) as SocketType[]).find((t) => SOCKET_TYPES[t] === type);
  if (name === undefined) {
    throw IpcError.of("EPROTOTYPE", "getsockopt", undefined, `Unknown socket type ${type}`);
  }
  return name;
}

/**
 * A connected Unix socket of any type: a byte stream (`read`/`write`, Web Streams), and
 * messages with descriptors (`send`/`receive`), the peer's credentials, and `shutdown`.
 *
 * On a `"seqpacket"` or `"dgram"` socket every `write`/`send` is one message and every
 * `read`/`receive` takes one message (what does not fit is discarded by the kernel). On a
 * `"stream"` socket bytes have no boundaries; descriptors travel with the bytes they were
 * sent with. Async calls never block the event loop; the sync forms block the calling
 * thread. Descriptors that arrive during a `read` (which has no room for them) are closed
 * by the kernel: use `receive` to take them.
 *
 * @example A pipe end passed over a socket pair
 * ```ts
 * import { pipe, PipeWriter } from "@sysipc/sysipc/pipe";
 * import { socketpair } from "@sysipc/sysipc/uds";
 * const [a, b] = socketpair("seqpacket");
 * const [reader, writer] = pipe();
 * await a.send("here is a pipe", { fds: [writer] });
 * writer.close(); // b's process has its own copy now
 * const message = await b.receive();
 * console.log(new TextDecoder().decode(message!.data)); // "here is a pipe"
 * using w = PipeWriter.fromFd(message!.fds[0]!);
 * w.writeSync("through the passed end");
 * w.close();
 * console.log(await new Response(reader.readable).text()); // "through the passed end"
 * a.close();
 * b.close();
 * ```
 */
export class UnixConnection extends FdHandle {
  /** The socket's type. */
  readonly type: SocketType;
  #io = new MessageIo();
  #queue = new WriteQueue();
  #reading = this.readyTarget({ syscall: "read", owner: this.waits, spin: this.spin });
  #writing = this.readyTarget({ syscall: "write", owner: this.waits, spin: this.spin });
  #receiving = this.readyTarget({ syscall: "recvmsg", owner: this.waits, spin: this.spin });
  #sending = this.readyTarget({ syscall: "sendmsg", owner: this.waits, spin: this.spin });
  #readable?: ReadableStream<Uint8Array>;
  #writable?: WritableStream<Uint8Array>;
  /** One byte to peek into (over an `ArrayBuffer` of its own, see `MessageIo`). */
  #peek = new Uint8Array(new ArrayBuffer(1));
  #readEnded = false;
  #writeEnded = false;

  static {
    make = (fd, type, ownership) => new UnixConnection(fd, type, ownership);
  }

  private constructor(fd: number, type: SocketType, ownership: Ownership) {
    if (!constructing) {
      throw new TypeError(
        "UnixConnection has no public constructor: use connect(), socketpair(), " +
          "a listener's accept() or UnixConnection.fromFd(fd)",
      );
    }
    constructing = false;
    super(fd, ownership);
    this.type = type;
  }

  /**
   * Wraps a connected Unix socket this process already has: one a parent handed over, or
   * one that arrived in a message. By default the connection takes it over and `close()`
   * closes it; the garbage collector never closes it.
   *
   * @example Using a socket that arrived in a message
   * ```ts
   * import { socketpair, UnixConnection } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair();
   * const [inner, outer] = socketpair("seqpacket");
   * await a.send("x", { fds: [inner] });
   * inner.close();
   * const { fds } = (await b.receive())!;
   * using passed = UnixConnection.fromFd(fds[0]!);
   * console.log(passed.type); // "seqpacket"
   * outer.writeSync("hi");
   * console.log(new TextDecoder().decode((await passed.receive())!.data)); // "hi"
   * for (const h of [a, b, outer]) h.close();
   * ```
   *
   * @param fd The socket's descriptor.
   * @param options `own` (default `true`): whether `close()` closes `fd`.
   * @returns The connection.
   * @throws {TypeError} When `fd` is not an integer.
   * @throws {RangeError} When `fd` is negative.
   * @throws {IpcError} `EBADF` when `fd` is not open, `ENOTSOCK` when it is no socket,
   *   `EAFNOSUPPORT` when it is not a Unix socket.
   */
  static fromFd(fd: number, options?: FromFdOptions): UnixConnection {
    checkFd(fd);
    const ownership = fromFdOwnership(options);
    const connection = newConnection(fd, unixSocketType(fd), ownership);
    connection.#io.passCredentials = getIntOption(fd, C.SO_PASSCRED, "SO_PASSCRED") !== 0;
    return connection;
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "UnixConnection";
  }

  /** Whether a read of 0 bytes is the end: always on a stream, on seqpacket once the peer is gone. */
  #ended(fd: number, n: number): boolean {
    if (n !== 0 || this.type === "dgram") return false;
    if (this.type === "stream") return true;
    // A seqpacket socket reads 0 bytes for an empty message too. The end is when the peer
    // has shut down and no message with bytes is queued behind this one (empty messages
    // sent right before the end read as the end: Linux cannot tell them apart).
    if ((readyEvents(fd, C.POLLRDHUP) & (C.POLLRDHUP | C.POLLHUP)) === 0) return false;
    return libc.recv(fd, this.#peek, 1, C.MSG_PEEK | C.MSG_DONTWAIT) <= 0;
  }

  /**
   * Reads up to `into.length` bytes (on seqpacket and datagram sockets: one message, cut to
   * `into.length`), waiting without blocking the event loop.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair();
   * await a.write("bytes");
   * const buf = new Uint8Array(16);
   * const n = await b.read(buf, { timeout: 1000 });
   * console.log(new TextDecoder().decode(buf.subarray(0, n!))); // "bytes"
   * a.close();
   * console.log(await b.read(buf)); // null: the peer closed
   * b.close();
   * ```
   *
   * @param into Where the bytes go.
   * @param options `timeout` (ms) and `signal`.
   * @returns The number of bytes read, or `null` at end of stream (the peer closed or shut
   *   down its writing side).
   * @throws {IpcError} `EBADF` when closed, `ETIMEDOUT`, `EAGAIN` when `timeout` is 0 and
   *   nothing is there, `ECONNRESET` when the peer closed with data unread.
   */
  read(into: Uint8Array, options?: WaitOptions): Promise<number | null> {
    return this.readInto(this.#reading, into, options, this.#readAttempt);
  }

  /** One non-blocking read into `into`: made once, so that a read allocates no closure. */
  readonly #readAttempt = (into: Uint8Array): number | null | undefined => {
    const fd = this.use("read");
    while (true) {
      const n = libc.recv(fd, into, Math.min(into.length, MAX_TRANSFER), C.MSG_DONTWAIT);
      if (n >= 0) return this.#ended(fd, n) ? null : n;
      const e = errno();
      if (e === EAGAIN) return undefined;
      if (e !== EINTR) throw new IpcError({ errno: e, syscall: "read" });
    }
  };

  /**
   * Reads up to `into.length` bytes, blocking the calling thread until some arrive.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair();
   * a.writeSync("abc");
   * console.log(b.readSync(new Uint8Array(8))); // 3
   * a.close();
   * b.close();
   * ```
   *
   * @param into Where the bytes go.
   * @param options `timeout` (ms): `undefined` waits forever, 0 tries once.
   * @returns The number of bytes read, or `null` at end of stream.
   * @throws {IpcError} `EBADF` when closed, `ECONNRESET`, `ETIMEDOUT`, `EAGAIN` when
   *   `timeout` is 0 and nothing is there.
   */
  readSync(into: Uint8Array, options?: { timeout?: number }): number | null {
    const fd = this.use("read");
    checkBuffer(into);
    checkWaitOptions(options);
    if (into.length === 0) return 0;
    const timeout = options?.timeout;
    const deadline = deadlineOf(options);
    const flags = timeout === undefined ? 0 : C.MSG_DONTWAIT;
    while (true) {
      const n = libc.recv(fd, into, Math.min(into.length, MAX_TRANSFER), flags);
      if (n >= 0) return this.#ended(fd, n) ? null : n;
      const e = errno();
      if (e === EAGAIN && timeout !== undefined) waitSync(fd, C.POLLIN, timeout, deadline, "read");
      else if (e !== EINTR) throw new IpcError({ errno: e, syscall: "read" });
    }
  }

  /** One non-blocking `send` from `offset`: the count sent, or -1 when it would block. */
  #sendAttempt(fd: number, bytes: Uint8Array, offset: number, flags: number): number {
    while (true) {
      const rest = offset === 0 ? bytes : bytes.subarray(offset);
      const n = libc.send(fd, rest, Math.min(rest.length, MAX_TRANSFER), flags);
      if (n >= 0) return n;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN && (flags & C.MSG_DONTWAIT)) return -1;
      throw new IpcError({ errno: e, syscall: "write" });
    }
  }

  /**
   * Writes all of `data` (on seqpacket and datagram sockets: as one message), waiting for
   * room without blocking the event loop. Writes and sends on one connection never mix:
   * each starts after the previous one is over.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair();
   * console.log(await a.write("hello", { timeout: 1000 })); // 5
   * console.log(b.readSync(new Uint8Array(8))); // 5
   * a.close();
   * b.close();
   * ```
   *
   * @param data Bytes, or a string written as UTF-8.
   * @param options `timeout` (ms, for the whole write) and `signal`.
   * @returns The number of bytes written: all of them (with `timeout: 0`, what fitted).
   * @throws {IpcError} `EPIPE` when the peer is gone, `EBADF` when closed, `ETIMEDOUT`,
   *   `EAGAIN` when `timeout` is 0 and there is no room, `EMSGSIZE` for a message larger
   *   than the socket takes. After a partial write the error's `bytesWritten` says how
   *   much went through.
   */
  async write(data: Uint8Array | string, options?: WaitOptions): Promise<number> {
    return await this.send(data, options);
  }

  /**
   * Writes all of `data` (as one message on seqpacket and datagram sockets), blocking the
   * calling thread until it is written.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair();
   * console.log(a.writeSync(new Uint8Array([1, 2, 3]))); // 3
   * a.close();
   * b.close();
   * ```
   *
   * @param data Bytes, or a string written as UTF-8.
   * @param options `timeout` (ms, for the whole write): `undefined` waits forever.
   * @returns The number of bytes written.
   * @throws {IpcError} `EPIPE`, `EBADF`, `EMSGSIZE`, `EBUSY` while an async write on this
   *   connection is not over (its bytes and these would mix), `ETIMEDOUT` (`EAGAIN` for a
   *   timeout of 0); after a partial write the error's `bytesWritten` says how much went.
   */
  writeSync(data: Uint8Array | string, options?: { timeout?: number }): number {
    return this.sendSync(data, options);
  }

  /**
   * Sends `data` with descriptors (`SCM_RIGHTS`): one message on seqpacket and datagram
   * sockets; on a stream socket the descriptors travel with its first byte. Waits for room
   * without blocking the event loop; queued behind earlier writes and sends.
   *
   * @example Whole messages
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair("seqpacket");
   * await a.send("first");
   * await a.send("second", { timeout: 1000 });
   * const m = await b.receive();
   * console.log(new TextDecoder().decode(m!.data)); // "first": whole messages on seqpacket
   * a.close();
   * b.close();
   * ```
   *
   * @param data Bytes, or a string sent as UTF-8.
   * @param options `fds` (numbers or handles, at most 253), `timeout` (ms) and `signal`.
   * @returns The number of bytes sent: all of them.
   * @throws {IpcError} `EBADF` naming a descriptor in `fds` that is not open, or when
   *   closed; `EPIPE`, `ETIMEDOUT`, `EAGAIN` (timeout 0), `EMSGSIZE`, `ETOOMANYREFS` when
   *   descriptors in flight nest too deep.
   * @throws {TypeError} When `fds` is not an array of descriptors, or a stream send of
   *   descriptors has no data.
   * @throws {RangeError} When `fds` holds more than 253 descriptors.
   */
  async send(data: Uint8Array | string, options?: UnixSendOptions): Promise<number> {
    const fd = this.use("write");
    const bytes = toBytes(data);
    checkOptions(options);
    const fds = this.#checkSendFds(bytes, options?.fds);
    checkWaitOptions(options);
    // The common case first: nothing queued, and the socket takes it all at once.
    let sent = 0;
    if (!this.#queue.busy && fds.length === 0 && bytes.length > 0) {
      sent = this.#sendAttempt(fd, bytes, 0, NONBLOCKING_SEND);
      if (sent === bytes.length) return sent;
      if (sent > 0 && options?.timeout === 0) return sent;
      sent = Math.max(sent, 0);
    }
    const target = fds.length > 0 ? this.#sending : this.#writing;
    const syscall = target.context.syscall;
    return await this.#queue.run(options, target.context, async () => {
      if (this.closed) throw IpcError.closed(this.kind, syscall);
      if (this.type !== "stream" && bytes.length === 0) {
        // An empty message is still a message.
        return await untilReady(
          target,
          C.POLLOUT,
          options,
          () => this.#io.send(fd, bytes, 0, fds, null, NONBLOCKING_SEND) < 0 ? undefined : 0,
        );
      }
      const attempt = (offset: number) =>
        offset === 0 && fds.length > 0
          ? this.#io.send(fd, bytes, 0, fds, null, NONBLOCKING_SEND)
          : this.#sendAttempt(fd, bytes, offset, NONBLOCKING_SEND);
      return await writeAll(bytes, options, attempt, readiness(target, C.POLLOUT), syscall, sent);
    });
  }

  #checkSendFds(bytes: Uint8Array, sources: unknown): readonly number[] {
    const fds = checkFds(sources);
    if (fds.length > 0 && bytes.length === 0 && this.type === "stream") {
      throw new TypeError(
        "data must not be empty when sending fds on a stream socket: descriptors travel " +
          "with bytes, and an empty send sends nothing",
      );
    }
    return fds;
  }

  /**
   * Sends `data` with descriptors, blocking the calling thread until it is sent.
   *
   * @example Passing a descriptor
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair("seqpacket");
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * a.sendSync("here is a pipe", { fds: [writer] }); // b gets its own copy of the descriptor
   * writer.close();
   * const m = b.receiveSync()!;
   * console.log(m.fds.length); // 1
   * reader.close();
   * a.close();
   * b.close();
   * ```
   *
   * @param data Bytes, or a string sent as UTF-8.
   * @param options `fds`: numbers or handles, at most 253; `timeout` (ms, for the whole
   *   send): `undefined` waits forever.
   * @returns The number of bytes sent.
   * @throws {IpcError} As {@linkcode UnixConnection.send}, and `EBUSY` while an async write
   *   on this connection is not over.
   * @throws {TypeError} As {@linkcode UnixConnection.send}.
   * @throws {RangeError} When `fds` holds more than 253 descriptors.
   */
  sendSync(
    data: Uint8Array | string,
    options?: { fds?: UnixSendOptions["fds"]; timeout?: number },
  ): number {
    const fd = this.use("write");
    const bytes = toBytes(data);
    checkOptions(options);
    checkWaitOptions(options);
    const timeout = options?.timeout;
    const deadline = deadlineOf(options);
    const dontWait = timeout === undefined ? 0 : C.MSG_DONTWAIT;
    const fds = this.#checkSendFds(bytes, options?.fds);
    if (this.#queue.busy) {
      throw IpcError.of(
        "EBUSY",
        "write",
        undefined,
        "An async write on this UnixConnection is not over yet; await it before a sync write",
      );
    }
    let done = 0;
    try {
      if (fds.length > 0 || bytes.length === 0) {
        let n;
        while ((n = this.#io.send(fd, bytes, 0, fds, null, dontWait)) < 0) {
          if (timeout === undefined) throw IpcError.of("EAGAIN", "sendmsg"); // non-blocking fd
          waitSync(fd, C.POLLOUT, timeout, deadline, "sendmsg");
        }
        done = n;
      }
      while (done < bytes.length) {
        const n = this.#sendAttempt(fd, bytes, done, C.MSG_NOSIGNAL | dontWait);
        if (n >= 0) done += n;
        else waitSync(fd, C.POLLOUT, timeout!, deadline, "write");
      }
    } catch (e) {
      throw partialWriteError(e, done, bytes.length, "write");
    }
    return done;
  }

  /**
   * Receives one message (on a stream socket: what bytes are there, up to `maxSize`) with
   * the descriptors that came with it, waiting without blocking the event loop.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair("seqpacket");
   * setTimeout(() => a.sendSync("later"), 10);
   * const message = await b.receive({ timeout: 5000, maxSize: 1024 });
   * console.log(new TextDecoder().decode(message!.data), message!.fds); // "later" []
   * a.close();
   * console.log(await b.receive()); // null: the peer closed
   * b.close();
   * ```
   *
   * @param options `maxSize` (default 65536), `maxFds` (default 253), `timeout` (ms) and
   *   `signal`.
   * @returns The message, or `null` at end of stream.
   * @throws {IpcError} `EBADF` when closed, `ETIMEDOUT`, `EAGAIN` when `timeout` is 0 and
   *   nothing is there, `ECONNRESET`.
   * @throws {RangeError} When `maxSize` or `maxFds` is out of range.
   */
  async receive(options?: UnixReceiveOptions): Promise<UnixMessage | null> {
    const fd = this.use("recvmsg");
    const [maxSize, maxFds] = checkReceive(options);
    checkWaitOptions(options);
    const flags = this.#receiveFlags() | C.MSG_DONTWAIT;
    return await untilReady(this.#receiving, C.POLLIN, options, () => {
      const got = this.#io.receive(fd, maxSize, maxFds, flags, false);
      return got === null ? undefined : this.#endOf(fd, got);
    });
  }

  /**
   * Receives one message with its descriptors, blocking the calling thread until one
   * arrives.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair("seqpacket");
   * a.sendSync("0123456789");
   * const m = b.receiveSync({ maxSize: 4 })!;
   * console.log(m.data.length, m.truncated); // 4 true: the rest of the message is dropped
   * a.close();
   * b.close();
   * ```
   *
   * @param options `maxSize` (default 65536), `maxFds` (default 253) and `timeout` (ms):
   *   `undefined` waits forever, 0 tries once.
   * @returns The message, or `null` at end of stream.
   * @throws {IpcError} `EBADF` when closed, `ECONNRESET`, `ETIMEDOUT`, `EAGAIN` when
   *   `timeout` is 0 and nothing is there.
   * @throws {RangeError} When `maxSize` or `maxFds` is out of range.
   */
  receiveSync(
    options?: { maxSize?: number; maxFds?: number; timeout?: number },
  ): UnixMessage | null {
    const fd = this.use("recvmsg");
    const [maxSize, maxFds] = checkReceive(options);
    checkWaitOptions(options);
    const timeout = options?.timeout;
    const deadline = deadlineOf(options);
    const flags = this.#receiveFlags() | (timeout === undefined ? 0 : C.MSG_DONTWAIT);
    while (true) {
      const got = this.#io.receive(fd, maxSize, maxFds, flags, false);
      if (got !== null) return this.#endOf(fd, got);
      if (timeout === undefined) throw IpcError.of("EAGAIN", "recvmsg"); // a non-blocking fd
      waitSync(fd, C.POLLIN, timeout, deadline, "recvmsg");
    }
  }

  /** A received message, or `null` when it is the end (an empty one that carries nothing). */
  #endOf(fd: number, got: { message: UnixMessage; length: number }): UnixMessage | null {
    const { message, length } = got;
    const carries = message.fds.length > 0 || message.fdsTruncated || message.credentials;
    return !carries && this.#ended(fd, length) ? null : message;
  }

  /** `MSG_TRUNC` on message sockets: the result then says how long the message was. */
  #receiveFlags(): number {
    return this.type === "stream" ? 0 : C.MSG_TRUNC;
  }

  /**
   * The credentials of the process at the other end, as the kernel recorded them when the
   * connection was made (`SO_PEERCRED`): for `connect`, `accept` and `socketpair`.
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair();
   * console.log(a.peerCredentials().pid === process.pid); // true: this process made both
   * a.close();
   * b.close();
   * ```
   *
   * @returns The peer's pid, uid and gid.
   * @throws {IpcError} `EBADF` when closed.
   */
  peerCredentials(): Credentials {
    return peerCredentials(this.use("getsockopt"));
  }

  /**
   * Whether messages received here carry their sender's credentials (`SO_PASSCRED`, then
   * `credentials` in what `receive` returns). Turn it on before the peer sends: the kernel
   * attaches them when a message is sent.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair("seqpacket");
   * import process from "node:process";
   * b.passCredentials = true; // before the peer sends
   * a.sendSync("who am I?");
   * console.log(b.receiveSync()!.credentials?.pid === process.pid); // true
   * a.close();
   * b.close();
   * ```
   */
  get passCredentials(): boolean {
    return getIntOption(this.use("getsockopt"), C.SO_PASSCRED, "SO_PASSCRED") !== 0;
  }

  /**
   * Turns `SO_PASSCRED` on or off: see the getter.
   *
   * @param on Whether received messages carry their sender's credentials.
   */
  set passCredentials(on: boolean) {
    const fd = this.use("setsockopt");
    if (typeof on !== "boolean") {
      throw new TypeError(`passCredentials must be a boolean, got ${describeValue(on)}`);
    }
    setIntOption(fd, C.SO_PASSCRED, on ? 1 : 0, "SO_PASSCRED");
    this.#io.passCredentials = on;
  }

  /**
   * Ends one or both directions of the connection (`shutdown(2)`); the descriptor stays
   * open until `close()`. After `"write"` the peer reads end of stream; after `"read"`
   * reads here return end of stream.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair();
   * a.writeSync("last words");
   * a.shutdown("write"); // b reads to the end, then sees end of stream; a can still read
   * console.log(await new Response(b.readable).text()); // "last words"
   * a.close();
   * ```
   *
   * @param how `"read"`, `"write"` or `"both"` (default).
   * @throws {IpcError} `EBADF` when closed; `ENOTCONN` on a socket that is not connected.
   * @throws {TypeError} For any other `how`.
   */
  shutdown(how: ShutdownHow = "both"): void {
    const fd = this.use("shutdown");
    if (!Object.hasOwn(SHUTDOWN, how)) {
      throw new TypeError(`how must be "read", "write" or "both", got ${describeValue(how)}`);
    }
    check(libc.shutdown(fd, SHUTDOWN[how]), "shutdown");
  }

  /** Closes the connection once both of its streams are done with. */
  #streamEnded(read: boolean): void {
    if (read) this.#readEnded = true;
    else this.#writeEnded = true;
    if (this.#readEnded && this.#writeEnded) this.close();
  }

  /**
   * The connection's incoming bytes as a Web `ReadableStream` (on message sockets, a chunk
   * per message of up to 64 KiB). Reads only when the consumer asks. Once it has ended (end
   * of stream, or cancelled) and the `writable` is closed too, the connection closes.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair();
   * a.writeSync("streamed");
   * a.close();
   * console.log(await new Response(b.readable).text()); // "streamed"
   * ```
   */
  get readable(): ReadableStream<Uint8Array> {
    this.use("readable");
    this.#readable ??= readableOf(
      (into) => this.read(into),
      () => this.#streamEnded(true),
      () => {
        if (!this.closed) this.shutdown("read");
        this.#streamEnded(true);
      },
    );
    return this.#readable;
  }

  /**
   * The connection's outgoing side as a Web `WritableStream` (on message sockets, a
   * message per chunk). Closing it shuts the writing side down (the peer reads end of
   * stream) and closes the connection if its `readable` is done too; aborting it closes
   * the connection.
   *
   * @example
   * ```ts
   * import { socketpair } from "@sysipc/sysipc/uds";
   * const [a, b] = socketpair();
   * const received = new Response(b.readable).text();
   * await new Response("through a WritableStream").body!.pipeTo(a.writable); // closes a at the end
   * console.log(await received); // "through a WritableStream"
   * ```
   */
  get writable(): WritableStream<Uint8Array> {
    this.use("writable");
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => {
        if (!this.closed) this.shutdown("write");
        this.#streamEnded(false);
      },
      abort: () => this.close(),
    });
    return this.#writable;
  }
}

/**
 * Creates a pair of connected Unix sockets (close-on-exec); hand one to a child with
 * `spawn`'s `fds`, or pass it over another socket.
 *
 * @example
 * ```ts
 * import { socketpair } from "@sysipc/sysipc/uds";
 * const [a, b] = socketpair("seqpacket");
 * a.writeSync("one");
 * a.writeSync("two");
 * const buf = new Uint8Array(16);
 * console.log(b.readSync(buf)); // 3: one message, "one"
 * console.log(await b.read(buf)); // 3: "two"
 * a.close();
 * b.close();
 * ```
 *
 * @param type `"stream"` (default), `"seqpacket"` or `"dgram"`.
 * @returns The two ends.
 * @throws {IpcError} `EMFILE`/`ENFILE` when out of descriptors.
 * @throws {TypeError} For another `type`.
 */
export function socketpair(type?: SocketType): [UnixConnection, UnixConnection] {
  if (type !== undefined && !Object.hasOwn(SOCKET_TYPES, type)) {
    throw new TypeError(
      `type must be "stream", "seqpacket" or "dgram", got ${describeValue(type)}`,
    );
  }
  const kind = type ?? "stream";
  const fds = new Int32Array(new ArrayBuffer(8));
  check(libc.socketpair(C.AF_UNIX, SOCKET_TYPES[kind] | C.SOCK_CLOEXEC, 0, fds), "socketpair");
  return [newConnection(fds[0]!, kind), newConnection(fds[1]!, kind)];
}

/**
 * Unix datagram sockets: {@linkcode UnixDatagram}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkOptions, FdHandle, toBytes } from "../ffi/handle.ts";
import { check, describeValue, errno, libc } from "../ffi/libc.ts";
import { sockaddrUn } from "../ffi/structs.ts";
import { untilReady } from "../ffi/ready.ts";
import { checkWaitOptions, deadlineOf, pollUntil } from "../ffi/wait/mod.ts";
import {
  type Address,
  checkMode,
  decodeAddress,
  parseAddress,
  peerError,
  type SocketFile,
  toAddress,
  type UnixAddress,
} from "./address.ts";
import {
  checkFds,
  checkReceive,
  MessageIo,
  setIntOption,
  type UnixDatagramMessage,
  type UnixReceiveOptions,
  type UnixSendOptions,
  waitSync,
} from "./io.ts";
import { bindSocket, openSocket } from "./listener.ts";

/** Options of {@linkcode UnixDatagram.bind}. */
export interface UnixDatagramOptions extends UnixAddress {
  /**
   * Permission bits of the socket file, exactly (the umask does not apply; a sender needs
   * write permission). Default `0o600`. Never more open than this at any moment. Not for
   * abstract names.
   */
  mode?: number;
  /** Turn `passCredentials` on: received datagrams carry their sender's credentials. */
  passCredentials?: boolean;
}

let constructing = false;

/**
 * A Unix datagram socket: whole messages, each with its sender's address, and descriptors
 * passed along (`SCM_RIGHTS`). Sends to a peer whose queue is full wait for room; every
 * async call waits without blocking the event loop. `close()` removes the socket file the
 * socket created.
 *
 * @example A request and a reply
 * ```ts
 * import { UnixDatagram } from "@sysipc/sysipc/uds";
 * const name = `example-${Math.random()}`;
 * using server = UnixDatagram.bind({ abstract: name });
 * using client = UnixDatagram.bind(); // an address picked by the kernel, so replies reach it
 * await client.sendTo({ abstract: name }, "ping");
 * const request = await server.receiveFrom();
 * await server.sendTo(request.from!, "pong");
 * console.log(new TextDecoder().decode((await client.receiveFrom()).data)); // "pong"
 * ```
 */
export class UnixDatagram extends FdHandle {
  #io = new MessageIo();
  #address: string | undefined;
  readonly #file: SocketFile | undefined;
  #peer: Address | null = null;
  /** The last destination, encoded: a reply loop sends to the same one again and again. */
  #last: Address | null = null;
  #receiving = this.readyTarget({ syscall: "recvmsg", owner: this.waits, spin: this.spin });
  #sending = this.readyTarget({ syscall: "sendmsg", owner: this.waits, spin: this.spin });

  private constructor(fd: number, file: SocketFile | undefined) {
    if (!constructing) {
      throw new TypeError("UnixDatagram has no public constructor: use UnixDatagram.bind()");
    }
    constructing = false;
    super(fd, "owned");
    this.#file = file;
  }

  /**
   * Opens a datagram socket bound to a path or an abstract name; without an address the
   * kernel picks a unique abstract name (autobind), so that peers can reply.
   *
   * @example A socket file that others may send to
   * ```ts
   * import { mkdtempSync, rmSync, statSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * const dir = mkdtempSync(tmpdir() + "/example-");
   * const inbox = UnixDatagram.bind({ path: dir + "/inbox", mode: 0o620 });
   * console.log((statSync(dir + "/inbox").mode & 0o777).toString(8)); // "620": group may send
   * using sender = UnixDatagram.bind();
   * sender.sendToSync(dir + "/inbox", "note");
   * console.log(new TextDecoder().decode(inbox.receiveFromSync().data)); // "note"
   * inbox.close(); // removes the socket file
   * rmSync(dir, { recursive: true });
   * ```
   *
   * @param options `path` or `abstract` (or neither), `mode` (default `0o600`),
   *   `passCredentials`.
   * @returns The socket (blocking for the sync forms, close-on-exec).
   * @throws {IpcError} `EADDRINUSE` (the message says what is in the way), `ENOENT` when
   *   the directory does not exist, `EACCES`.
   * @throws {TypeError} When both `path` and `abstract` are given, or an option has the
   *   wrong type.
   * @throws {RangeError} When the path or name is longer than 107 bytes, or `mode` is out
   *   of range.
   */
  // `override`: a class is a function, and this shadows Function.prototype.bind.
  static override bind(options?: UnixDatagramOptions): UnixDatagram {
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw new TypeError(`options must be an object, got ${describeValue(options)}`);
    }
    const named = options?.path !== undefined || options?.abstract !== undefined;
    const address = named ? toAddress(options!) : null;
    if (address === null && options?.mode !== undefined) {
      throw new TypeError("mode applies to socket files only: give a path with it");
    }
    const mode = address === null ? 0 : checkMode(options?.mode, address);
    const passCredentials = options?.passCredentials;
    if (passCredentials !== undefined && typeof passCredentials !== "boolean") {
      throw new TypeError(
        `passCredentials must be a boolean, got ${describeValue(passCredentials)}`,
      );
    }
    const fd = openSocket("dgram");
    let file: SocketFile | undefined;
    try {
      if (address !== null) file = bindSocket(fd, address, mode, false);
      else {
        // A length of just the family asks the kernel for a name of its own (autobind).
        const family = new Uint8Array(new ArrayBuffer(sockaddrUn.size));
        family[0] = C.AF_UNIX;
        check(libc.bind(fd, family, sockaddrUn.offsets.sun_path), "bind");
      }
      if (passCredentials) setIntOption(fd, C.SO_PASSCRED, 1, "SO_PASSCRED");
    } catch (e) {
      libc.close(fd);
      file?.remove();
      throw e;
    }
    constructing = true;
    const socket = new UnixDatagram(fd, file);
    socket.#io.passCredentials = passCredentials === true;
    return socket;
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "UnixDatagram";
  }

  /**
   * The address this socket is bound to, as `from` shows it to its peers: a path, or `"\0"`
   * followed by an abstract name.
   *
   * @example
   * ```ts
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * using server = UnixDatagram.bind({ abstract: `example-${Math.random()}` });
   * using client = UnixDatagram.bind(); // an automatic abstract address, so replies can come back
   * console.log(server.address.startsWith("\0example-")); // true: "\0" marks an abstract name
   * ```
   */
  get address(): string {
    const fd = this.use("getsockname");
    if (this.#address === undefined) {
      const name = new Uint8Array(new ArrayBuffer(sockaddrUn.size));
      const length = new Uint32Array(new ArrayBuffer(4));
      length[0] = sockaddrUn.size;
      check(libc.getsockname(fd, name, length), "getsockname");
      this.#address = decodeAddress(name, length[0]!) ?? "";
    }
    return this.#address;
  }

  #destination(address: unknown): Address {
    const last = this.#last;
    if (
      last !== null &&
      (typeof address === "string"
        ? address === last.text
        : typeof address === "object" && address !== null &&
          (address as UnixAddress).path === last.path &&
          (address as UnixAddress).abstract === last.abstract)
    ) {
      return last;
    }
    return this.#last = parseAddress(address);
  }

  /**
   * Sets the default destination for `send`, and receives only from it from now on
   * (`connect(2)` on a datagram socket; it never waits).
   *
   * @example
   * ```ts
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * using server = UnixDatagram.bind({ abstract: `example-${Math.random()}` });
   * using client = UnixDatagram.bind(); // an automatic abstract address, so replies can come back
   * client.connect(server.address); // send() goes there; only its datagrams are received
   * await client.send("via connect");
   * console.log(new TextDecoder().decode((await server.receiveFrom()).data)); // "via connect"
   * ```
   *
   * @param address A path, `"\0"` and an abstract name, or `{ path }` / `{ abstract }`.
   * @throws {IpcError} `ENOENT`/`ECONNREFUSED` when no socket is there, `EPROTOTYPE` when
   *   it is not a datagram socket, `EBADF` when closed.
   * @throws {TypeError} For an address of the wrong shape.
   * @throws {RangeError} When the path or name is too long.
   */
  connect(address: string | UnixAddress): void {
    const fd = this.use("connect");
    const to = parseAddress(address);
    if (libc.connect(fd, to.bytes, to.length) !== 0) throw peerError(errno(), to, "connect");
    this.#peer = to;
  }

  /** One send: the bytes sent, or -1 when the peer's queue (or this socket's) is full. */
  #attempt(
    fd: number,
    to: Address | null,
    bytes: Uint8Array,
    fds: readonly number[],
    flags: number,
  ) {
    try {
      return this.#io.send(fd, bytes, 0, fds, to, flags);
    } catch (e) {
      if (e instanceof IpcError && ["ENOENT", "ECONNREFUSED", "EPROTOTYPE"].includes(e.code)) {
        throw peerError(e.errno, to ?? this.#peer!, "sendmsg");
      }
      throw e;
    }
  }

  async #send(
    to: Address | null,
    data: Uint8Array | string,
    options: UnixSendOptions | undefined,
  ): Promise<number> {
    const fd = this.use("sendmsg");
    const bytes = toBytes(data);
    checkOptions(options);
    const fds = checkFds(options?.fds);
    checkWaitOptions(options);
    const attempt = () => {
      const sent = this.#attempt(fd, to, bytes, fds, C.MSG_DONTWAIT);
      return sent >= 0 ? sent : undefined;
    };
    // Connected: the socket polls writable once the peer's queue has room.
    if (to === null) return await untilReady(this.#sending, C.POLLOUT, options, attempt);
    // Unconnected: nothing polls for room in another socket's queue, so the attempt is
    // retried on the engine's timer.
    const first = attempt();
    if (first !== undefined) return first;
    if (options?.timeout === 0) throw IpcError.of("EAGAIN", "sendmsg", to.display);
    return await pollUntil(
      () => {
        const error = this.#sending.closed();
        if (error !== undefined) throw error;
        return attempt();
      },
      options,
      { ...this.#sending.context, path: to.display },
    );
  }

  /**
   * Sends one datagram to `address`, with descriptors; waits (without blocking the event
   * loop) while the receiver's queue is full.
   *
   * @example
   * ```ts
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * using server = UnixDatagram.bind({ abstract: `example-${Math.random()}` });
   * using client = UnixDatagram.bind(); // an automatic abstract address, so replies can come back
   * await client.sendTo(server.address, "ping", { timeout: 1000 });
   * const { data, from } = await server.receiveFrom({ timeout: 1000 });
   * await server.sendTo(from!, "pong"); // reply to the sender's address
   * console.log(new TextDecoder().decode(data), new TextDecoder().decode((await client.receive()).data)); // "ping" "pong"
   * ```
   *
   * @param address A path, `"\0"` and an abstract name, or `{ path }` / `{ abstract }`.
   * @param data Bytes, or a string sent as UTF-8.
   * @param options `fds` (numbers or handles, at most 253), `timeout` (ms) and `signal`.
   * @returns The number of bytes sent.
   * @throws {IpcError} `ENOENT`/`ECONNREFUSED` when no socket is there, `EPROTOTYPE` when it
   *   is not a datagram socket, `EMSGSIZE` when too large, `EBADF` naming a descriptor in
   *   `fds` that is not open (or when closed), `ETIMEDOUT`, `EAGAIN` when `timeout` is 0
   *   and the receiver's queue is full.
   * @throws {TypeError} For an address or `fds` of the wrong shape.
   * @throws {RangeError} When the address is too long, or `fds` holds more than 253.
   */
  async sendTo(
    address: string | UnixAddress,
    data: Uint8Array | string,
    options?: UnixSendOptions,
  ): Promise<number> {
    this.use("sendmsg");
    return await this.#send(this.#destination(address), data, options);
  }

  /**
   * Sends one datagram to `address`, blocking the calling thread while the receiver's
   * queue is full.
   *
   * @example
   * ```ts
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * using server = UnixDatagram.bind({ abstract: `example-${Math.random()}` });
   * using client = UnixDatagram.bind(); // an automatic abstract address, so replies can come back
   * client.sendToSync(server.address, new Uint8Array([1, 2]));
   * console.log(server.receiveFromSync().data); // Uint8Array [1, 2]
   * ```
   *
   * @param address A path, `"\0"` and an abstract name, or `{ path }` / `{ abstract }`.
   * @param data Bytes, or a string sent as UTF-8.
   * @param options `fds`: numbers or handles, at most 253; `timeout` (ms): `undefined`
   *   waits forever, 0 tries once.
   * @returns The number of bytes sent.
   * @throws {IpcError} As {@linkcode UnixDatagram.sendTo}.
   * @throws {TypeError} As {@linkcode UnixDatagram.sendTo}.
   * @throws {RangeError} As {@linkcode UnixDatagram.sendTo}.
   */
  sendToSync(
    address: string | UnixAddress,
    data: Uint8Array | string,
    options?: { fds?: UnixSendOptions["fds"]; timeout?: number },
  ): number {
    const fd = this.use("sendmsg");
    const to = this.#destination(address);
    checkOptions(options);
    checkWaitOptions(options);
    const bytes = toBytes(data);
    const fds = checkFds(options?.fds);
    const timeout = options?.timeout;
    if (timeout === undefined) {
      const n = this.#attempt(fd, to, bytes, fds, 0);
      if (n < 0) throw IpcError.of("EAGAIN", "sendmsg", to.display); // a non-blocking fd
      return n;
    }
    const deadline = deadlineOf(options);
    while (true) {
      const n = this.#attempt(fd, to, bytes, fds, C.MSG_DONTWAIT);
      if (n >= 0) return n;
      // The receiver's queue is full; poll cannot see it from here: retry shortly.
      waitSync(fd, 0, timeout, deadline, "sendmsg");
    }
  }

  /**
   * Sends one datagram to the address given to `connect`.
   *
   * @example
   * ```ts
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * using server = UnixDatagram.bind({ abstract: `example-${Math.random()}` });
   * using client = UnixDatagram.bind(); // an automatic abstract address, so replies can come back
   * client.connect(server.address);
   * console.log(await client.send("connected")); // 9
   * ```
   *
   * @param data Bytes, or a string sent as UTF-8.
   * @param options `fds`, `timeout` (ms) and `signal`.
   * @returns The number of bytes sent.
   * @throws {IpcError} `ENOTCONN` before `connect`; otherwise as {@linkcode UnixDatagram.sendTo}.
   * @throws {TypeError} As {@linkcode UnixDatagram.sendTo}.
   * @throws {RangeError} When `fds` holds more than 253.
   */
  async send(data: Uint8Array | string, options?: UnixSendOptions): Promise<number> {
    return await this.#send(null, data, options);
  }

  /**
   * Receives one datagram with its sender's address and descriptors, waiting without
   * blocking the event loop.
   *
   * @example
   * ```ts
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * using server = UnixDatagram.bind({ abstract: `example-${Math.random()}` });
   * using client = UnixDatagram.bind(); // an automatic abstract address, so replies can come back
   * client.sendToSync(server.address, "hello");
   * const message = await server.receiveFrom({ timeout: 1000 });
   * console.log(message.from === client.address); // true
   * ```
   *
   * @param options `maxSize` (default 65536: a longer datagram is cut, see `truncated`),
   *   `maxFds` (default 253), `timeout` (ms) and `signal`.
   * @returns The datagram.
   * @throws {IpcError} `EBADF` when closed, `ETIMEDOUT`, `EAGAIN` when `timeout` is 0 and
   *   none is there.
   * @throws {RangeError} When `maxSize` or `maxFds` is out of range.
   */
  async receiveFrom(options?: UnixReceiveOptions): Promise<UnixDatagramMessage> {
    const fd = this.use("recvmsg");
    const [maxSize, maxFds] = checkReceive(options);
    checkWaitOptions(options);
    return await untilReady(
      this.#receiving,
      C.POLLIN,
      options,
      () => this.#io.receive(fd, maxSize, maxFds, C.MSG_DONTWAIT | C.MSG_TRUNC, true)?.message,
    );
  }

  /**
   * Receives one datagram, blocking the calling thread until one arrives.
   *
   * @example
   * ```ts
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * using server = UnixDatagram.bind({ abstract: `example-${Math.random()}` });
   * using client = UnixDatagram.bind(); // an automatic abstract address, so replies can come back
   * client.sendToSync(server.address, "sync");
   * console.log(server.receiveFromSync({ maxSize: 64 }).data.length); // 4
   * ```
   *
   * @param options `maxSize` (default 65536), `maxFds` (default 253) and `timeout` (ms):
   *   `undefined` waits forever, 0 tries once.
   * @returns The datagram.
   * @throws {IpcError} `EBADF` when closed, `ETIMEDOUT`, `EAGAIN` when `timeout` is 0 and
   *   none is there.
   * @throws {RangeError} When `maxSize` or `maxFds` is out of range.
   */
  receiveFromSync(
    options?: { maxSize?: number; maxFds?: number; timeout?: number },
  ): UnixDatagramMessage {
    const fd = this.use("recvmsg");
    const [maxSize, maxFds] = checkReceive(options);
    checkWaitOptions(options);
    const timeout = options?.timeout;
    const deadline = deadlineOf(options);
    const flags = C.MSG_TRUNC | (timeout === undefined ? 0 : C.MSG_DONTWAIT);
    while (true) {
      const got = this.#io.receive(fd, maxSize, maxFds, flags, true);
      if (got !== null) return got.message;
      if (timeout === undefined) throw IpcError.of("EAGAIN", "recvmsg"); // a non-blocking fd
      waitSync(fd, C.POLLIN, timeout, deadline, "recvmsg");
    }
  }

  /**
   * Same as {@linkcode UnixDatagram.receiveFrom}: after `connect`, datagrams come only
   * from the connected address.
   *
   * @example
   * ```ts
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * using server = UnixDatagram.bind({ abstract: `example-${Math.random()}` });
   * using client = UnixDatagram.bind(); // an automatic abstract address, so replies can come back
   * client.sendToSync(server.address, "x");
   * console.log((await server.receive({ timeout: 1000 })).data.length); // 1
   * ```
   *
   * @param options `maxSize`, `maxFds`, `timeout` (ms) and `signal`.
   * @returns The datagram.
   * @throws {IpcError} As {@linkcode UnixDatagram.receiveFrom}.
   * @throws {RangeError} As {@linkcode UnixDatagram.receiveFrom}.
   */
  async receive(options?: UnixReceiveOptions): Promise<UnixDatagramMessage> {
    return await this.receiveFrom(options);
  }

  /**
   * Closes the socket and removes the socket file it created (unless something else has
   * replaced it since); pending calls reject with `EBADF`. Idempotent.
   *
   * @example
   * ```ts
   * import { UnixDatagram } from "@sysipc/sysipc/uds";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(tmpdir() + "/dgram-");
   * const bound = UnixDatagram.bind({ path: dir + "/s.sock" });
   * bound.close(); // removes s.sock, the file it created
   * bound.close(); // idempotent
   * rmSync(dir, { recursive: true });
   * ```
   */
  override close(): void {
    if (this.closed) return;
    super.close();
    this.#file?.remove();
  }
}

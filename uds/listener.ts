/**
 * Connection-oriented Unix sockets: {@linkcode listen} with {@linkcode UnixListener}, and
 * {@linkcode connect} / {@linkcode connectSync}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { errnoName, IpcError } from "../ffi/errors.ts";
import { checkInteger, FdHandle, untilClosed } from "../ffi/handle.ts";
import { check, describeValue, EAGAIN, EINTR, errno, libc } from "../ffi/libc.ts";
import { pollfd, timeval } from "../ffi/structs.ts";
import { type ReadyTarget, untilReady } from "../ffi/ready.ts";
import {
  checkWaitOptions,
  deadlineOf,
  pollUntil,
  retryWithDeadline,
  type WaitOptions,
} from "../ffi/wait/mod.ts";
import {
  type Address,
  bindError,
  checkMode,
  checkType,
  peerError,
  removeStale,
  SOCKET_TYPES,
  SocketFile,
  type SocketType,
  toAddress,
  type UnixAddress,
} from "./address.ts";
import { newConnection, type UnixConnection } from "./connection.ts";
import { setIntOption } from "./io.ts";

/** Options of {@linkcode listen}. */
export interface UnixListenOptions extends UnixAddress {
  /** `"stream"` (default) or `"seqpacket"`. */
  type?: "stream" | "seqpacket";
  /**
   * Permission bits of the socket file, exactly: the umask does not apply (a client needs
   * write permission to connect, which a umask of 022 would take from the group). Default
   * `0o600`. There is no moment when the file is more open than this: it is created with
   * these bits less the umask, then given the rest. Not for abstract names, which have no
   * permissions.
   */
  mode?: number;
  /** The most connections waiting to be accepted; the kernel caps it at `net.core.somaxconn`. Default 4096. */
  backlog?: number;
  /** Turn `passCredentials` on for every accepted connection. Default `false`. */
  passCredentials?: boolean;
  /**
   * When a socket file is already at `path` but nothing is bound to it any more (a server
   * that ended without closing left it behind; a connect to it is refused), remove it and
   * listen there. A file that a live socket uses, or any other kind of file, still fails
   * with `EADDRINUSE`. Default `false`.
   */
  replaceStale?: boolean;
}

/** Options of {@linkcode connect}. */
export interface UnixConnectOptions extends UnixAddress, WaitOptions {
  /** `"stream"` (default) or `"seqpacket"`: the listener's type. */
  type?: "stream" | "seqpacket";
  /** Turn `passCredentials` on for the connection. Default `false`. */
  passCredentials?: boolean;
}

const CONNECTED_TYPES: readonly SocketType[] = ["stream", "seqpacket"];

function checkFlag(value: unknown, what: string): boolean {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(`${what} must be a boolean, got ${describeValue(value)}`);
  }
  return value === true;
}

function checkOptions(options: unknown): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `options must be an object with path or abstract, got ${describeValue(options)}`,
    );
  }
}

/**
 * Opens a socket, close-on-exec.
 *
 * @param type The socket type.
 * @param flags Extra `SOCK_*` flags.
 * @returns The descriptor.
 * @throws {IpcError} `EMFILE`/`ENFILE`.
 */
export function openSocket(type: SocketType, flags = 0): number {
  return check(libc.socket(C.AF_UNIX, SOCKET_TYPES[type] | C.SOCK_CLOEXEC | flags, 0), "socket");
}

/**
 * Binds `fd` to `address`; a socket file is never more open than `mode`: the kernel
 * creates it with the socket's own mode (set here first) reduced by the umask, and
 * `SocketFile` then sets exactly `mode`.
 *
 * @param fd The socket.
 * @param address Where.
 * @param mode The file's permission bits.
 * @param replaceStale Remove a socket file nobody is bound to any more, and bind again.
 * @returns The socket file, for a path address.
 * @throws {IpcError} From `fchmod` or `bind` (see `bindError`).
 */
export function bindSocket(
  fd: number,
  address: Address,
  mode: number,
  replaceStale: boolean,
): SocketFile | undefined {
  if (address.path !== undefined) check(libc.fchmod(fd, mode), "fchmod", address.display);
  const bind = () => libc.bind(fd, address.bytes, address.length) === 0;
  if (!bind()) {
    const e = errno();
    const retry = replaceStale && address.path !== undefined &&
      errnoName(e) === "EADDRINUSE" && removeStale(address);
    if (!retry) throw bindError(e, address);
    if (!bind()) throw bindError(errno(), address);
  }
  return address.path === undefined ? undefined : new SocketFile(address.path, mode);
}

/**
 * Listens for connections at a path or an abstract name.
 *
 * @example A listener on a path and a client, in one process
 * ```ts
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { connect, listen } from "@sysipc/sysipc/uds";
 * const dir = mkdtempSync(tmpdir() + "/example-");
 * using listener = listen({ path: dir + "/server.sock" }); // mode 0600
 * const [client, server] = await Promise.all([
 *   connect({ path: dir + "/server.sock" }),
 *   listener.accept(),
 * ]);
 * await client.write("ping");
 * const buf = new Uint8Array(4);
 * await server.read(buf); // "ping"
 * console.log(server.peerCredentials()); // { pid, uid, gid } of the client
 * client.close();
 * server.close();
 * listener.close(); // removes server.sock
 * rmSync(dir, { recursive: true });
 * ```
 *
 * @param options `path` or `abstract`; `type`, `mode` (default `0o600`), `backlog`,
 *   `passCredentials`, `replaceStale`.
 * @returns The listener; its socket is non-blocking and close-on-exec.
 * @throws {IpcError} `EADDRINUSE` when the address is taken (the message says whether by a
 *   socket or by another kind of file), `ENOENT` when the directory does not exist,
 *   `EACCES`.
 * @throws {TypeError} When neither or both of `path` and `abstract` are given, or an option
 *   has the wrong type.
 * @throws {RangeError} When the path or name is longer than 107 bytes, or `mode` or
 *   `backlog` is out of range.
 */
export function listen(options: UnixListenOptions): UnixListener {
  checkOptions(options);
  const address = toAddress(options);
  const type = checkType(options.type, CONNECTED_TYPES);
  const mode = checkMode(options.mode, address);
  const backlog = options.backlog === undefined
    ? C.SOMAXCONN
    : checkInteger(options.backlog, "backlog", 0, 0x7fffffff);
  const passCredentials = checkFlag(options.passCredentials, "passCredentials");
  const replaceStale = checkFlag(options.replaceStale, "replaceStale");
  // Non-blocking: an accept must never block, and only this process uses the socket.
  const fd = openSocket(type, C.SOCK_NONBLOCK);
  let file: SocketFile | undefined;
  try {
    file = bindSocket(fd, address, mode, replaceStale);
    if (passCredentials) setIntOption(fd, C.SO_PASSCRED, 1, "SO_PASSCRED");
    check(libc.listen(fd, backlog), "listen", address.display);
  } catch (e) {
    libc.close(fd);
    file?.remove();
    throw e;
  }
  constructing = true;
  return make(fd, type, address, file);
}

/** Set by `listen`: the constructor is not public. */
let constructing = false;
let make: (
  fd: number,
  type: SocketType,
  address: Address,
  file: SocketFile | undefined,
) => UnixListener;

/**
 * A listening Unix socket. `close()` removes the socket file it created (if it is still
 * that file).
 *
 * @example Serving clients one after another
 * ```ts
 * import { connect, listen } from "@sysipc/sysipc/uds";
 * const name = `example-${Math.random()}`;
 * const listener = listen({ abstract: name, type: "seqpacket" });
 * const serving = (async () => {
 *   for await (const connection of listener) {
 *     const message = await connection.receive();
 *     if (message) await connection.send(message.data); // echo
 *     connection.close();
 *   }
 * })();
 * using client = await connect({ abstract: name, type: "seqpacket" });
 * await client.send("hello");
 * console.log(new TextDecoder().decode((await client.receive())!.data)); // "hello"
 * listener.close(); // ends the for-await loop
 * await serving;
 * ```
 */
export class UnixListener extends FdHandle implements AsyncIterable<UnixConnection> {
  /** The socket type of the connections it accepts. */
  readonly type: "stream" | "seqpacket";
  readonly #address: Address;
  readonly #file: SocketFile | undefined;
  readonly #target: ReadyTarget;
  readonly #poll = new DataView(new ArrayBuffer(pollfd.size));

  static {
    make = (fd, type, address, file) => new UnixListener(fd, type, address, file);
  }

  private constructor(
    fd: number,
    type: SocketType,
    address: Address,
    file: SocketFile | undefined,
  ) {
    if (!constructing) throw new TypeError("UnixListener has no public constructor: use listen()");
    constructing = false;
    super(fd, "owned");
    this.type = type as "stream" | "seqpacket";
    this.#address = address;
    this.#file = file;
    // No spin: clients come when they come.
    this.#target = this.readyTarget({
      syscall: "accept",
      path: address.display,
      owner: this.waits,
      spin: null,
    });
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "UnixListener";
  }

  /**
   * The socket file's path; `undefined` for an abstract name.
   *
   * @example
   * ```ts
   * import { connect, listen } from "@sysipc/sysipc/uds";
   * using listener = listen({ abstract: `example-${Math.random()}` });
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(tmpdir() + "/listen-");
   * using onPath = listen({ path: dir + "/s.sock" });
   * console.log(onPath.path === dir + "/s.sock", listener.path); // true undefined
   * onPath.close();
   * rmSync(dir, { recursive: true });
   * ```
   */
  get path(): string | undefined {
    return this.#address.path;
  }

  /**
   * The abstract name; `undefined` for a socket file.
   *
   * @example
   * ```ts
   * import { connect, listen } from "@sysipc/sysipc/uds";
   * using listener = listen({ abstract: `example-${Math.random()}` });
   * console.log(listener.abstract?.startsWith("example-")); // true
   * ```
   */
  get abstract(): string | undefined {
    return this.#address.abstract;
  }

  /** One non-blocking accept: the connection, or `null` when none is waiting. */
  #accept(fd: number): UnixConnection | null {
    while (true) {
      const accepted = libc.accept4(fd, null, null, C.SOCK_CLOEXEC);
      if (accepted >= 0) return newConnection(accepted, this.type);
      const e = errno();
      if (e === EINTR || errnoName(e) === "ECONNABORTED") continue;
      if (e === EAGAIN) return null;
      throw new IpcError({ errno: e, syscall: "accept4", path: this.#address.display });
    }
  }

  /**
   * Accepts the next connection without waiting.
   *
   * @example
   * ```ts
   * import { connect, listen } from "@sysipc/sysipc/uds";
   * using listener = listen({ abstract: `example-${Math.random()}` });
   * console.log(listener.tryAccept()); // null: nobody is connecting
   * using client = await connect({ abstract: listener.abstract });
   * using server = listener.tryAccept()!;
   * console.log(server.peerCredentials().pid > 0); // true
   * ```
   *
   * @returns The connection, or `null` when none is waiting.
   * @throws {IpcError} `EBADF` when closed; `EMFILE`/`ENFILE` when out of descriptors.
   */
  tryAccept(): UnixConnection | null {
    return this.#accept(this.use("accept"));
  }

  /**
   * Accepts the next connection, waiting for one without blocking the event loop.
   *
   * @example
   * ```ts
   * import { connect, listen } from "@sysipc/sysipc/uds";
   * using listener = listen({ abstract: `example-${Math.random()}` });
   * const [server, client] = await Promise.all([
   *   listener.accept({ timeout: 5000 }),
   *   connect({ abstract: listener.abstract }),
   * ]);
   * server.writeSync("welcome");
   * console.log(client.readSync(new Uint8Array(16))); // 7
   * server.close();
   * client.close();
   * ```
   *
   * @param options `timeout` (ms) and `signal`.
   * @returns The connection (blocking and close-on-exec, like every socket sysipc opens).
   * @throws {IpcError} `EBADF` when closed (also for a pending accept), `ETIMEDOUT`,
   *   `EAGAIN` when `timeout` is 0 and no client waits, `EMFILE`/`ENFILE`.
   */
  async accept(options?: WaitOptions): Promise<UnixConnection> {
    const fd = this.use("accept");
    checkWaitOptions(options);
    return await untilReady(this.#target, C.POLLIN, options, () => this.#accept(fd) ?? undefined);
  }

  /**
   * Accepts the next connection, blocking the calling thread until a client connects.
   *
   * @example
   * ```ts
   * import { connect, listen } from "@sysipc/sysipc/uds";
   * using listener = listen({ abstract: `example-${Math.random()}` });
   * using client = await connect({ abstract: listener.abstract }); // queued in the backlog
   * using server = listener.acceptSync({ timeout: 1000 });
   * console.log(server.closed); // false
   * ```
   *
   * @param options `timeout` (ms): `undefined` waits forever, 0 tries once.
   * @returns The connection.
   * @throws {IpcError} `EBADF` when closed, `ETIMEDOUT`, `EAGAIN` when `timeout` is 0 and
   *   no client waits.
   */
  acceptSync(options?: { timeout?: number }): UnixConnection {
    const fd = this.use("accept");
    checkWaitOptions(options);
    const timeout = options?.timeout;
    const deadline = deadlineOf(options);
    while (true) {
      const connection = this.#accept(fd);
      if (connection !== null) return connection;
      if (timeout === 0) throw IpcError.of("EAGAIN", "accept", this.#address.display);
      const p = this.#poll;
      p.setInt32(pollfd.offsets.fd, fd, true);
      p.setInt16(pollfd.offsets.events, C.POLLIN, true);
      const left = deadline === Infinity ? undefined : Math.max(0, deadline - performance.now());
      const ready = retryWithDeadline(
        (ms) => libc.poll(p, 1, ms === undefined ? -1 : Math.ceil(ms)),
        left,
        "poll",
      );
      if (ready === 0) throw IpcError.of("ETIMEDOUT", "accept", this.#address.display, "Timed out");
    }
  }

  /**
   * Accepts connections one after another until the listener is closed (then the loop
   * ends without an error).
   *
   * @example
   * ```ts
   * import { connect, listen } from "@sysipc/sysipc/uds";
   * using listener = listen({ abstract: `example-${Math.random()}` });
   * const serving = (async () => {
   *   for await (const connection of listener) { // ends when the listener closes
   *     connection.writeSync("hi\n");
   *     connection.close();
   *   }
   * })();
   * const client = await connect({ abstract: listener.abstract });
   * console.log(await new Response(client.readable).text()); // "hi\n"
   * listener.close();
   * await serving;
   * ```
   *
   * @returns An async iterator of connections.
   */
  [Symbol.asyncIterator](): AsyncIterator<UnixConnection> {
    return untilClosed(() => this.closed, () => this.accept());
  }

  /**
   * Stops listening: pending accepts reject with `EBADF`, and the socket file this listener
   * created is removed (unless something else has replaced it since). Connections already
   * accepted stay open. Idempotent.
   *
   * @example
   * ```ts
   * import { connect, listen } from "@sysipc/sysipc/uds";
   * using listener = listen({ abstract: `example-${Math.random()}` });
   * import { existsSync, mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(tmpdir() + "/listen-");
   * const onPath = listen({ path: dir + "/s.sock" });
   * onPath.close(); // removes the socket file it created
   * console.log(existsSync(dir + "/s.sock")); // false
   * rmSync(dir, { recursive: true });
   * ```
   */
  override close(): void {
    if (this.closed) return;
    super.close();
    this.#file?.remove();
  }
}

/** One `connect`: `true` when connected, `false` when the listener's backlog is full. */
function tryConnect(fd: number, address: Address): boolean {
  while (true) {
    if (libc.connect(fd, address.bytes, address.length) === 0) return true;
    const e = errno();
    if (e === EINTR) continue;
    if (e === EAGAIN) return false;
    if (errnoName(e) === "EISCONN") return true;
    throw peerError(e, address, "connect");
  }
}

function checkConnect(options: UnixConnectOptions) {
  checkOptions(options);
  const address = toAddress(options);
  const type = checkType(options.type, CONNECTED_TYPES);
  const passCredentials = checkFlag(options.passCredentials, "passCredentials");
  return { address, type, passCredentials };
}

/** Makes a connected socket blocking again, and wraps it. */
function connected(fd: number, type: SocketType, passCredentials: boolean): UnixConnection {
  const flags = check(libc.fcntl(fd, C.F_GETFL, 0), "fcntl");
  if (flags & C.O_NONBLOCK) check(libc.fcntl(fd, C.F_SETFL, flags & ~C.O_NONBLOCK), "fcntl");
  const connection = newConnection(fd, type);
  if (passCredentials) connection.passCredentials = true;
  return connection;
}

/**
 * Connects to a listening Unix socket. When the listener's backlog is full this waits for
 * room (as a blocking `connect` does in C) without blocking the event loop.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@sysipc/sysipc/uds";
 * const name = `example-${Math.random()}`;
 * using listener = listen({ abstract: name });
 * using client = await connect({ abstract: name, timeout: 5000 });
 * using server = await listener.accept();
 * client.writeSync("hi");
 * ```
 *
 * @param options `path` or `abstract`; `type` (the listener's), `passCredentials`,
 *   `timeout` (ms) and `signal`.
 * @returns The connection (a blocking, close-on-exec socket).
 * @throws {IpcError} `ENOENT` when no socket file is at the path, `ECONNREFUSED` when
 *   nothing listens there (the message says when the path is not a socket at all),
 *   `EPROTOTYPE` when the listener has another type, `EACCES` without write permission on
 *   the socket file, `ETIMEDOUT`, `EAGAIN` when `timeout` is 0 and the backlog is full.
 * @throws {TypeError} When neither or both of `path` and `abstract` are given, or an option
 *   has the wrong type.
 * @throws {RangeError} When the path or name is longer than 107 bytes.
 */
export async function connect(options: UnixConnectOptions): Promise<UnixConnection> {
  const { address, type, passCredentials } = checkConnect(options);
  checkWaitOptions(options);
  const waitOptions = { timeout: options.timeout, signal: options.signal };
  // A private socket, so non-blocking is safe; a full backlog gives no readiness to wait
  // for (a Unix socket that is not connected polls as hung up), so the attempt is retried.
  const fd = openSocket(type, C.SOCK_NONBLOCK);
  try {
    if (!tryConnect(fd, address)) {
      if (options.timeout === 0) throw IpcError.of("EAGAIN", "connect", address.display);
      await pollUntil(
        () => tryConnect(fd, address) || undefined,
        waitOptions,
        { syscall: "connect", path: address.display },
      );
    }
    return connected(fd, type, passCredentials);
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}

/**
 * Connects to a listening Unix socket, blocking the calling thread while the listener's
 * backlog is full.
 *
 * @example
 * ```ts
 * import { connectSync, listen } from "@sysipc/sysipc/uds";
 * const name = `example-${Math.random()}`;
 * using listener = listen({ abstract: name, type: "seqpacket" });
 * using client = connectSync({ abstract: name, type: "seqpacket", timeout: 1000 });
 * using server = listener.acceptSync({ timeout: 1000 });
 * client.sendSync("hello");
 * console.log(new TextDecoder().decode(server.receiveSync()!.data)); // "hello"
 * ```
 *
 * @param options `path` or `abstract`; `type`, `passCredentials`, and `timeout` (ms):
 *   `undefined` waits forever, 0 tries once.
 * @returns The connection.
 * @throws {IpcError} As {@linkcode connect}.
 * @throws {TypeError} As {@linkcode connect}.
 * @throws {RangeError} As {@linkcode connect}.
 */
export function connectSync(
  options: Omit<UnixConnectOptions, "signal">,
): UnixConnection {
  const { address, type, passCredentials } = checkConnect(options);
  checkWaitOptions(options);
  const timeout = options.timeout;
  const fd = openSocket(type, timeout === 0 ? C.SOCK_NONBLOCK : 0);
  try {
    if (timeout === 0) {
      if (!tryConnect(fd, address)) throw IpcError.of("EAGAIN", "connect", address.display);
    } else {
      const limit = new DataView(new ArrayBuffer(timeval.size));
      try {
        retryWithDeadline(
          (left) => {
            // The send timeout bounds a blocking connect's wait for room in the backlog.
            if (left !== undefined) setSendTimeout(fd, limit, Math.max(left, 0.001));
            const r = libc.connect(fd, address.bytes, address.length);
            return r === -1 && errnoName(errno()) === "EISCONN" ? 0 : r;
          },
          timeout,
          "connect",
        );
      } catch (e) {
        if (!(e instanceof IpcError)) throw e;
        if (e.code === "EAGAIN") {
          throw IpcError.of("ETIMEDOUT", "connect", address.display, "Timed out");
        }
        throw peerError(e.errno, address, "connect");
      }
      if (timeout !== undefined) setSendTimeout(fd, limit, 0);
    }
    return connected(fd, type, passCredentials);
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}

/** Sets `SO_SNDTIMEO` (0: no timeout). */
function setSendTimeout(fd: number, cell: DataView, ms: number): void {
  const us = Math.ceil(ms * 1000);
  cell.setBigInt64(timeval.offsets.tv_sec, BigInt(Math.floor(us / 1e6)), true);
  cell.setBigInt64(timeval.offsets.tv_usec, BigInt(us % 1e6), true);
  check(libc.setsockopt(fd, C.SOL_SOCKET, C.SO_SNDTIMEO, cell, timeval.size), "setsockopt");
}

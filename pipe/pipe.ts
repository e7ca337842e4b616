/**
 * Anonymous pipes: {@linkcode pipe}, {@linkcode PipeReader} and {@linkcode PipeWriter}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { errnoName, IpcError } from "../ffi/errors.ts";
import {
  checkBuffer,
  checkFd,
  checkInteger,
  FdHandle,
  type FromFdOptions,
  fromFdOwnership,
  type Ownership,
  toBytes,
} from "../ffi/handle.ts";
import {
  check,
  CURRENT_POSITION,
  EAGAIN,
  EINTR,
  ENXIO,
  EOPNOTSUPP,
  errno,
  libc,
  stableCString,
} from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { fileMode, fileTypeName } from "../ffi/stat.ts";
import { iovec } from "../ffi/structs.ts";
import { readiness } from "../ffi/ready.ts";
import { readableOf } from "../ffi/streams.ts";
import { checkWaitOptions, readyEvents, type WaitOptions } from "../ffi/wait/mod.ts";
import { partialWriteError, writeAll, WriteQueue } from "../ffi/writes.ts";

const MAX_TRANSFER = 0x7ffff000;

/**
 * Non-blocking transfers for one handle, which never block whatever the descriptor is.
 * The capability belongs to the descriptor, so each handle finds out for itself, once:
 * - `preadv2`/`pwritev2` with `RWF_NOWAIT` where the file accepts it (anonymous pipes,
 *   sockets): this leaves the descriptor's shared `O_NONBLOCK` flag alone;
 * - FIFOs opened by path and ttys reject `RWF_NOWAIT` (`EOPNOTSUPP`): the handle then
 *   opens a private `O_NONBLOCK` description of the same pipe or device through
 *   `/proc/self/fd/N` and transfers through it (it counts as one more reader or writer
 *   of a FIFO only while the handle is open, like the handle's own descriptor);
 * - regular files and block devices never wait for a peer: plain transfers.
 */
class AsyncIo {
  #iov = new DataView(new ArrayBuffer(iovec.size));
  /** `-1`: `RWF_NOWAIT` on the handle's fd; `-2`: plain transfers; else the private fd. */
  #private = -1;
  /** Whether the fd is a FIFO opened by path (known once `RWF_NOWAIT` was refused). */
  fifo = false;
  #hold: (fd: number) => void;

  constructor(hold: (fd: number) => void) {
    this.#hold = hold;
  }

  /** One transfer: the byte count, or -1 when it would block. */
  transfer(fd: number, bytes: Uint8Array, offset: number, write: boolean): number {
    while (true) {
      // Looked up right before the call: Bun may move a small typed array's bytes when it
      // first hands them to native code, so an address must never be cached.
      const address = runtime.addressOf(bytes) + offset;
      const iov = this.#iov;
      iov.setUint32(iovec.offsets.iov_base, address % 0x100000000, true);
      iov.setUint32(iovec.offsets.iov_base + 4, Math.floor(address / 0x100000000), true);
      iov.setUint32(iovec.offsets.iov_len, Math.min(bytes.length - offset, MAX_TRANSFER), true);
      const target = this.#private >= 0 ? this.#private : fd;
      const flags = this.#private === -1 ? C.RWF_NOWAIT : 0;
      const n = write
        ? libc.pwritev2(target, iov, 1, CURRENT_POSITION, flags)
        : libc.preadv2(target, iov, 1, CURRENT_POSITION, flags);
      if (n >= 0) return n;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return -1;
      if (e === EOPNOTSUPP && this.#private === -1) {
        this.#private = this.#reopen(fd, write);
        if (this.#private >= 0) this.#hold(this.#private);
        continue;
      }
      throw new IpcError({ errno: e, syscall: write ? "write" : "read" });
    }
  }

  #reopen(fd: number, write: boolean): number {
    const syscall = write ? "write" : "read";
    const type = fileMode(fd) & C.S_IFMT;
    if (type === C.S_IFREG || type === C.S_IFBLK) return -2;
    this.fifo = type === C.S_IFIFO;
    if (type !== C.S_IFIFO && type !== C.S_IFCHR) {
      throw IpcError.of(
        "EOPNOTSUPP",
        syscall,
        undefined,
        `Async I/O is not possible on fd ${fd}, which is ${
          fileTypeName(type)
        }: it rejects RWF_NOWAIT; use the sync form`,
      );
    }
    const path = stableCString(`/proc/self/fd/${fd}`);
    const flags = (write ? C.O_WRONLY : C.O_RDONLY) | C.O_NONBLOCK | C.O_CLOEXEC;
    while (true) {
      const own = libc.open(path, flags, 0);
      if (own >= 0) return own;
      const e = errno();
      if (e === EINTR) continue;
      // A FIFO with no reader left: what a blocking write would report.
      if (e === ENXIO && write) throw IpcError.of("EPIPE", "write");
      throw new IpcError({
        errno: e,
        syscall,
        detail: `Async I/O on fd ${fd} (${fileTypeName(type)}) needs a private non-blocking ` +
          `description, and opening /proc/self/fd/${fd} failed with ${errnoName(e)}`,
      });
    }
  }
}

/** Set by the internal factories: the constructors are not public. */
let constructing = false;

function internalOnly(fd: number, kind: string): number {
  if (!constructing) {
    throw new TypeError(
      `${kind} has no public constructor: use pipe(), a FIFO open or ${kind}.fromFd(fd)`,
    );
  }
  constructing = false;
  return fd;
}

let makeReader: (fd: number, ownership: Ownership) => PipeReader;
let makeWriter: (fd: number, ownership: Ownership) => PipeWriter;

/**
 * A reader for a descriptor sysipc opened (for `pipe()` and the FIFO opens).
 *
 * @param fd The read end.
 * @param ownership Who closes it.
 * @returns The reader.
 */
export function newPipeReader(fd: number, ownership: Ownership = "owned"): PipeReader {
  constructing = true;
  return makeReader(fd, ownership);
}

/**
 * A writer for a descriptor sysipc opened (for `pipe()` and the FIFO opens).
 *
 * @param fd The write end.
 * @param ownership Who closes it.
 * @returns The writer.
 */
export function newPipeWriter(fd: number, ownership: Ownership = "owned"): PipeWriter {
  constructing = true;
  return makeWriter(fd, ownership);
}

/**
 * The read end of a pipe or FIFO.
 *
 * @example Reading what a writer sent
 * ```ts
 * import { pipe } from "@sysipc/sysipc/pipe";
 * const [reader, writer] = pipe();
 * await writer.write("hello");
 * writer.close();
 * const buf = new Uint8Array(16);
 * const n = await reader.read(buf);
 * console.log(new TextDecoder().decode(buf.subarray(0, n ?? 0))); // "hello"
 * reader.close();
 * ```
 */
export class PipeReader extends FdHandle {
  #io = new AsyncIo((fd) => this.holdFd(fd));
  #readable?: ReadableStream<Uint8Array>;
  #target = this.readyTarget({ syscall: "read", owner: this.waits, spin: this.spin });

  static {
    makeReader = (fd, ownership) => new PipeReader(fd, ownership);
  }

  private constructor(fd: number, ownership: Ownership) {
    super(internalOnly(fd, "PipeReader"), ownership);
  }

  /**
   * Wraps a descriptor this process already has, such as fd 3 handed over by a parent.
   * By default the reader takes it over and `close()` closes it; the garbage collector
   * never closes it.
   *
   * @example Reading what a parent handed over at fd 3
   * ```ts ignore
   * // Not run alone: it needs a parent that handed over a pipe at fd 3 (see `spawn`).
   * import { PipeReader } from "@sysipc/sysipc/pipe";
   * using input = PipeReader.fromFd(3);
   * const text = await new Response(input.readable).text();
   * ```
   *
   * @param fd The read end's descriptor.
   * @param options `own` (default `true`): whether `close()` closes `fd`.
   * @returns The reader.
   * @throws {TypeError} When `fd` is not an integer.
   * @throws {RangeError} When `fd` is negative.
   */
  static fromFd(fd: number, options?: FromFdOptions): PipeReader {
    return newPipeReader(checkFd(fd), fromFdOwnership(options));
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "PipeReader";
  }

  /**
   * Reads up to `into.length` bytes, waiting for data without blocking the event loop.
   * In packet mode (`pipe({ packet: true })`) a read takes one packet, and the kernel
   * discards what does not fit in `into`: read into at least 4096 bytes (`PIPE_BUF`, the
   * largest packet) to lose nothing.
   *
   * @example Reading with a timeout
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * const buf = new Uint8Array(64);
   * setTimeout(() => writer.writeSync("late data"), 10);
   * const n = await reader.read(buf, { timeout: 5000 }); // waits without blocking the event loop
   * console.log(new TextDecoder().decode(buf.subarray(0, n!))); // "late data"
   * writer.close();
   * console.log(await reader.read(buf)); // null: every writer closed
   * reader.close();
   * ```
   *
   * @param into Where the bytes go.
   * @param options `timeout` (ms) and `signal`.
   * @returns The number of bytes read, or `null` at end of stream (every writer closed).
   * @throws {IpcError} `EBADF` when closed, `ETIMEDOUT` when the timeout passes, `EAGAIN`
   *   when `timeout` is 0 and no data is there.
   */
  read(into: Uint8Array, options?: WaitOptions): Promise<number | null> {
    return this.readInto(this.#target, into, options, this.#readAttempt);
  }

  /** One non-blocking read into `into`: made once, so that a read allocates no closure. */
  readonly #readAttempt = (into: Uint8Array): number | null | undefined => {
    const fd = this.use("read");
    const n = this.#io.transfer(fd, into, 0, false);
    if (n > 0) return n;
    if (n === 0) {
      if (!this.#io.fifo) return null;
      // A FIFO that no writer has opened since this reader did (a non-blocking open, or
      // an open on the polling backend) reads 0 bytes too: end of stream is only when a
      // writer came and left, which poll() reports as POLLHUP on the reader's own fd. A
      // writer may have come, written and left since the read above: its data comes first.
      const events = readyEvents(fd, C.POLLIN);
      if ((events & C.POLLHUP) !== 0 && (events & C.POLLIN) === 0) return null;
    }
    return undefined;
  };

  /**
   * Reads up to `into.length` bytes, blocking the calling thread until data arrives
   * (unless the descriptor is non-blocking). Packet mode: as {@linkcode PipeReader.read}.
   *
   * @example
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * writer.writeSync("hello");
   * const buf = new Uint8Array(16);
   * console.log(reader.readSync(buf)); // 5
   * writer.close();
   * console.log(reader.readSync(buf)); // null
   * reader.close();
   * ```
   *
   * @param into Where the bytes go.
   * @returns The number of bytes read, or `null` at end of stream.
   * @throws {IpcError} `EBADF` when closed; `EAGAIN` on a non-blocking pipe with no data.
   */
  readSync(into: Uint8Array): number | null {
    const fd = this.use("read");
    checkBuffer(into);
    if (into.length === 0) return 0;
    while (true) {
      const n = libc.read(fd, into, Math.min(into.length, MAX_TRANSFER));
      if (n > 0) return n;
      if (n === 0) return null;
      const e = errno();
      if (e !== EINTR) throw new IpcError({ errno: e, syscall: "read" });
    }
  }

  /**
   * The reader as a Web `ReadableStream`; it closes the reader at end of stream or when
   * cancelled. Reads only when the consumer asks (no read-ahead).
   *
   * @example
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * writer.writeSync("streamed ");
   * writer.writeSync("text");
   * writer.close();
   * console.log(await new Response(reader.readable).text()); // "streamed text"
   * ```
   *
   * @throws {IpcError} `EBADF` when the reader is closed.
   */
  get readable(): ReadableStream<Uint8Array> {
    this.use("readable");
    this.#readable ??= readableOf(
      (into) => this.read(into),
      () => this.close(),
      () => this.close(),
    );
    return this.#readable;
  }
}

/**
 * The write end of a pipe or FIFO. Writing when no reader is left throws `EPIPE`; the
 * process survives (`SIGPIPE` is ignored by both runtimes).
 *
 * @example Writing, then closing to signal end of stream
 * ```ts
 * import { pipe } from "@sysipc/sysipc/pipe";
 * const [reader, writer] = pipe();
 * writer.writeSync("one line\n");
 * writer.close();
 * console.log(await new Response(reader.readable).text()); // "one line\n"
 * ```
 */
export class PipeWriter extends FdHandle {
  #io = new AsyncIo((fd) => this.holdFd(fd));
  #writable?: WritableStream<Uint8Array>;
  #target = this.readyTarget({ syscall: "write", owner: this.waits, spin: this.spin });
  #queue = new WriteQueue();

  static {
    makeWriter = (fd, ownership) => new PipeWriter(fd, ownership);
  }

  private constructor(fd: number, ownership: Ownership) {
    super(internalOnly(fd, "PipeWriter"), ownership);
  }

  /**
   * Wraps a descriptor this process already has, such as fd 1 or fd 4 handed over by a
   * parent. By default the writer takes it over and `close()` closes it; with
   * `own: false` it never does. The garbage collector never closes it.
   *
   * @example Writing to stdout without ever closing it
   * ```ts
   * import { PipeWriter } from "@sysipc/sysipc/pipe";
   * const out = PipeWriter.fromFd(1, { own: false });
   * out.writeSync("to stdout\n");
   * out.close(); // stdout stays open
   * ```
   *
   * @param fd The write end's descriptor.
   * @param options `own` (default `true`): whether `close()` closes `fd`.
   * @returns The writer.
   * @throws {TypeError} When `fd` is not an integer.
   * @throws {RangeError} When `fd` is negative.
   */
  static fromFd(fd: number, options?: FromFdOptions): PipeWriter {
    return newPipeWriter(checkFd(fd), fromFdOwnership(options));
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "PipeWriter";
  }

  /**
   * Writes all of `data`, waiting for room without blocking the event loop. Writes of at
   * most `PIPE_BUF` (4096) bytes are atomic; in packet mode each write of at most
   * `PIPE_BUF` bytes is one packet. Writes on one writer never mix: a write starts after
   * the previous one on the same writer is over (its `timeout` counts from the call).
   *
   * @example
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * console.log(await writer.write("hello", { timeout: 1000 })); // 5
   * writer.close();
   * console.log(await new Response(reader.readable).text()); // "hello"
   * ```
   *
   * @param data Bytes, or a string written as UTF-8.
   * @param options `timeout` (ms) and `signal`.
   * @returns The number of bytes written: all of them. With `timeout: 0`, what fitted
   *   (at least one byte).
   * @throws {IpcError} `EPIPE` when no reader is left, `EBADF` when closed, `ETIMEDOUT`
   *   (the timeout covers the whole write), or `EAGAIN` when `timeout` is 0 and the pipe is
   *   full. When part of the data was written first, the error's `bytesWritten` says how
   *   much. An abort rejects with `signal.reason` when nothing was written, and otherwise
   *   with an `ECANCELED` `IpcError` whose `cause` is the reason and whose `bytesWritten`
   *   says how much went through.
   */
  write(data: Uint8Array | string, options?: WaitOptions): Promise<number> {
    // The common case first, as Unix sockets do: nothing queued, and the pipe takes it all
    // at once (no queue entry, no closures, no async frame).
    let fd: number, bytes: Uint8Array, written = 0;
    try {
      fd = this.use("write");
      bytes = toBytes(data);
      checkWaitOptions(options);
      if (!this.#queue.busy && bytes.length > 0) {
        written = this.#io.transfer(fd, bytes, 0, true);
        if (written === bytes.length) return Promise.resolve(written);
        if (written > 0 && options?.timeout === 0) return Promise.resolve(written);
        written = Math.max(written, 0);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#queue.run(options, this.#target.context, () => {
      if (this.closed) throw IpcError.closed(this.kind, "write");
      return writeAll(
        bytes,
        options,
        (offset) => this.#io.transfer(fd, bytes, offset, true),
        readiness(this.#target, C.POLLOUT),
        "write",
        written,
      );
    });
  }

  /**
   * Writes `data`, blocking the calling thread until all of it is written. On a
   * non-blocking pipe it writes what fits and returns that count.
   *
   * @example Writing after the reader has gone throws EPIPE; the process survives
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * console.log(writer.writeSync(new Uint8Array([1, 2, 3]))); // 3
   * reader.close();
   * try {
   *   writer.writeSync("nobody reads this");
   * } catch (e) {
   *   console.log((e as { code?: string }).code); // "EPIPE"
   * }
   * writer.close();
   * ```
   *
   * @param data Bytes, or a string written as UTF-8.
   * @returns The number of bytes written.
   * @throws {IpcError} `EPIPE` when no reader is left, `EBADF` when closed, `EAGAIN` when
   *   a non-blocking pipe is full, `EBUSY` while an async write on this writer is not over
   *   (its bytes and these would mix).
   */
  writeSync(data: Uint8Array | string): number {
    const fd = this.use("write");
    const bytes = toBytes(data);
    if (this.#queue.busy) {
      throw IpcError.of(
        "EBUSY",
        "write",
        undefined,
        "An async write on this PipeWriter is not over yet; await it before writeSync",
      );
    }
    let done = 0;
    while (done < bytes.length) {
      const rest = done === 0 ? bytes : bytes.subarray(done);
      const n = libc.write(fd, rest, Math.min(rest.length, MAX_TRANSFER));
      if (n >= 0) {
        done += n;
        continue;
      }
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN && done > 0) return done;
      throw partialWriteError(
        new IpcError({ errno: e, syscall: "write" }),
        done,
        bytes.length,
        "write",
      );
    }
    return done;
  }

  /**
   * The pipe's capacity in bytes (`F_GETPIPE_SZ`). Setting it (`F_SETPIPE_SZ`) rounds up
   * to a power-of-two number of pages; above `/proc/sys/fs/pipe-max-size` an
   * unprivileged process gets `EPERM`, and below what the pipe holds, `EBUSY`.
   *
   * @example
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * console.log(writer.capacity); // 65536 on Linux
   * writer.capacity = 1 << 20; // 1 MiB, within /proc/sys/fs/pipe-max-size
   * console.log(writer.capacity); // 1048576
   * reader.close();
   * writer.close();
   * ```
   *
   * @throws {IpcError} `EBADF` when closed; setting: `EPERM` above the system's limit without
   *   privileges, `EBUSY` below what the pipe holds.
   * @throws {RangeError} Setting a capacity below 1 or above 2^31 − 1.
   */
  get capacity(): number {
    return check(libc.fcntl(this.use("fcntl"), C.F_GETPIPE_SZ, 0), "fcntl(F_GETPIPE_SZ)");
  }

  /**
   * Sets the capacity (`F_SETPIPE_SZ`): see the getter.
   *
   * @param bytes The new capacity, rounded up by the kernel.
   */
  set capacity(bytes: number) {
    const fd = this.use("fcntl");
    checkInteger(bytes, "capacity", 1, 0x7fffffff);
    check(libc.fcntl(fd, C.F_SETPIPE_SZ, bytes), "fcntl(F_SETPIPE_SZ)");
  }

  /**
   * The writer as a Web `WritableStream`; closing the stream closes the writer.
   *
   * @example
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * const done = new Response(reader.readable).text();
   * await new Response("piped through Web Streams").body!.pipeTo(writer.writable);
   * console.log(await done); // "piped through Web Streams"
   * ```
   *
   * @throws {IpcError} `EBADF` when the writer is closed.
   */
  get writable(): WritableStream<Uint8Array> {
    this.use("writable");
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.close(),
      abort: () => this.close(),
    });
    return this.#writable;
  }
}

/** Options of {@linkcode pipe}. */
export interface PipeOptions {
  /** Open both ends with `O_NONBLOCK`: sync calls then fail with `EAGAIN` instead of blocking. Default `false`. */
  nonBlocking?: boolean;
  /**
   * Packet mode (`O_DIRECT`): each write of up to 4096 bytes is read back as one packet,
   * and a read into a buffer smaller than the packet loses the rest of the packet (the
   * kernel discards it). Default `false`.
   */
  packet?: boolean;
}

/**
 * Checks an options object whose fields are all booleans.
 *
 * @param options The value.
 * @param fields The boolean fields it may have.
 * @throws {TypeError} When it is not an object, or a field is not a boolean.
 */
export function checkFlags(options: unknown, fields: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `options must be an object, got ${options === null ? "null" : typeof options}`,
    );
  }
  for (const field of fields) {
    const value = (options as Record<string, unknown>)[field];
    if (value !== undefined && typeof value !== "boolean") {
      throw new TypeError(`${field} must be a boolean, got ${typeof value}`);
    }
  }
}

/**
 * Creates an anonymous pipe; both ends are close-on-exec (hand one to a child with
 * `spawn`'s `fds`).
 *
 * @example A pipe within one process
 * ```ts
 * import { pipe } from "@sysipc/sysipc/pipe";
 * const [reader, writer] = pipe();
 * writer.writeSync("ping");
 * const buf = new Uint8Array(4);
 * reader.readSync(buf); // 4
 * reader.close();
 * writer.close();
 * ```
 *
 * @param options `nonBlocking` and `packet`.
 * @returns The read end and the write end.
 * @throws {IpcError} `EMFILE`/`ENFILE` when out of descriptors.
 * @throws {TypeError} When `options` is not an object of booleans.
 */
export function pipe(options?: PipeOptions): [PipeReader, PipeWriter] {
  checkFlags(options, ["nonBlocking", "packet"]);
  const fds = new Int32Array(2);
  const flags = C.O_CLOEXEC | (options?.nonBlocking ? C.O_NONBLOCK : 0) |
    (options?.packet ? C.O_DIRECT : 0);
  check(libc.pipe2(fds, flags), "pipe2");
  return [newPipeReader(fds[0]!), newPipeWriter(fds[1]!)];
}

/**
 * Anonymous pipes: {@linkcode pipe}, {@linkcode PipeReader} and {@linkcode PipeWriter}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkBuffer, checkFd, checkInteger, FdHandle, toBytes } from "../ffi/handle.ts";
import { check, EAGAIN, EINTR, EOPNOTSUPP, errno, libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { iovec } from "../ffi/structs.ts";
import { checkWaitOptions, readyEvents, remaining, waitFd, type WaitOptions } from "../ffi/wait.ts";

const CHUNK = 65536;

/**
 * One non-blocking transfer through `preadv2`/`pwritev2` with `RWF_NOWAIT`, which leaves
 * the descriptor's (possibly shared) `O_NONBLOCK` flag alone. Returns the byte count, or
 * -1 when the call would block.
 */
class NowaitIo {
  #iov = new DataView(new ArrayBuffer(iovec.size));
  // RWF_NOWAIT on pipes needs Linux 5.x; before that, check readiness with poll() first.
  static supported = true;

  transfer(fd: number, bytes: Uint8Array, offset: number, write: boolean): number {
    if (!NowaitIo.supported && !readyEvents(fd, write ? C.POLLOUT : C.POLLIN)) return -1;
    // Looked up on every call, right before the call: Bun may move a small typed array's
    // bytes when it first hands them to native code, so an address must never be cached.
    const address = runtime.addressOf(bytes) + offset;
    const iov = this.#iov;
    iov.setUint32(iovec.offsets.iov_base, address % 0x100000000, true);
    iov.setUint32(iovec.offsets.iov_base + 4, Math.floor(address / 0x100000000), true);
    iov.setUint32(iovec.offsets.iov_len, Math.min(bytes.length - offset, 0x7ffff000), true);
    while (true) {
      const n = write
        ? libc.pwritev2(fd, iov, 1, -1, NowaitIo.supported ? C.RWF_NOWAIT : 0)
        : libc.preadv2(fd, iov, 1, -1, NowaitIo.supported ? C.RWF_NOWAIT : 0);
      if (n >= 0) return n;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return -1;
      if (e === EOPNOTSUPP && NowaitIo.supported) {
        NowaitIo.supported = false;
        return -1; // wait for readiness, then transfer without the flag
      }
      throw new IpcError({ errno: e, syscall: write ? "write" : "read" });
    }
  }
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
  #io = new NowaitIo();
  #readable?: ReadableStream<Uint8Array>;

  /** @internal Use {@linkcode pipe}, a FIFO open, or {@linkcode PipeReader.fromFd}. */
  constructor(fd: number) {
    super(fd);
  }

  /**
   * Wraps a descriptor this process already has (such as fd 3 handed over by a parent),
   * taking ownership of it.
   *
   * @param fd The read end's descriptor.
   * @returns A reader that closes `fd` when closed.
   * @throws {TypeError} When `fd` is not an integer.
   * @throws {RangeError} When `fd` is negative.
   */
  static fromFd(fd: number): PipeReader {
    return new PipeReader(checkFd(fd));
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "PipeReader";
  }

  /**
   * Reads up to `into.length` bytes, waiting for data without blocking the event loop.
   *
   * @param into Where the bytes go.
   * @param options `timeout` (ms) and `signal`.
   * @returns The number of bytes read, or `null` at end of stream (every writer closed).
   * @throws {IpcError} `EBADF` when closed, `ETIMEDOUT` when the timeout passes, `EAGAIN`
   *   when `timeout` is 0 and no data is there.
   */
  async read(into: Uint8Array, options?: WaitOptions): Promise<number | null> {
    const fd = this.use("read");
    checkBuffer(into);
    checkWaitOptions(options);
    if (into.length === 0) return 0;
    const deadline = options?.timeout === undefined ? 0 : performance.now() + options.timeout;
    for (let waits = 0;; waits++) {
      const n = this.#io.transfer(fd, into, 0, false);
      if (n > 0) return n;
      if (n === 0) return null;
      if (options?.timeout === 0) throw IpcError.of("EAGAIN", "read");
      await waitFd(fd, C.POLLIN, waits === 0 ? options : remaining(options, deadline), {
        syscall: "read",
        owner: this.waits,
        spin: this.spin,
      });
      if (this.closed) throw IpcError.closed(this.kind, "read");
    }
  }

  /**
   * Reads up to `into.length` bytes, blocking the calling thread until data arrives
   * (unless the descriptor is non-blocking).
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
      const n = libc.read(fd, into, Math.min(into.length, 0x7ffff000));
      if (n > 0) return n;
      if (n === 0) return null;
      const e = errno();
      if (e !== EINTR) throw new IpcError({ errno: e, syscall: "read" });
    }
  }

  /**
   * The reader as a Web `ReadableStream`; it closes the reader at end of stream or when
   * cancelled. Reads only when the consumer asks (no read-ahead).
   */
  get readable(): ReadableStream<Uint8Array> {
    this.use("readable");
    this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = new Uint8Array(CHUNK);
        const n = await this.read(chunk);
        if (n === null) {
          this.close();
          controller.close();
        } else {
          controller.enqueue(chunk.subarray(0, n));
        }
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
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
  #io = new NowaitIo();
  #writable?: WritableStream<Uint8Array>;

  /** @internal Use {@linkcode pipe}, a FIFO open, or {@linkcode PipeWriter.fromFd}. */
  constructor(fd: number) {
    super(fd);
  }

  /**
   * Wraps a descriptor this process already has, taking ownership of it.
   *
   * @param fd The write end's descriptor.
   * @returns A writer that closes `fd` when closed.
   * @throws {TypeError} When `fd` is not an integer.
   * @throws {RangeError} When `fd` is negative.
   */
  static fromFd(fd: number): PipeWriter {
    return new PipeWriter(checkFd(fd));
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "PipeWriter";
  }

  /**
   * Writes all of `data`, waiting for room without blocking the event loop. Writes of at
   * most `PIPE_BUF` (4096) bytes are atomic; in packet mode each write of at most
   * `PIPE_BUF` bytes is one packet.
   *
   * @param data Bytes, or a string written as UTF-8.
   * @param options `timeout` (ms) and `signal`.
   * @returns The number of bytes written: all of them. With `timeout: 0`, what fitted
   *   (at least one byte).
   * @throws {IpcError} `EPIPE` when no reader is left, `EBADF` when closed, `ETIMEDOUT`
   *   (the timeout covers the whole write), or `EAGAIN` when `timeout` is 0 and the pipe is
   *   full. When part of the data was written first, the error's `bytesWritten` says how
   *   much; an abort rejects with `signal.reason` unchanged.
   */
  async write(data: Uint8Array | string, options?: WaitOptions): Promise<number> {
    const fd = this.use("write");
    const bytes = toBytes(data);
    checkWaitOptions(options);
    const deadline = options?.timeout === undefined ? 0 : performance.now() + options.timeout;
    let done = 0;
    try {
      for (let waits = 0; done < bytes.length; waits++) {
        const n = this.#io.transfer(fd, bytes, done, true);
        if (n >= 0) {
          done += n;
          continue;
        }
        if (options?.timeout === 0) {
          if (done > 0) return done;
          throw IpcError.of("EAGAIN", "write");
        }
        await waitFd(fd, C.POLLOUT, waits === 0 ? options : remaining(options, deadline), {
          syscall: "write",
          owner: this.waits,
          spin: this.spin,
        });
        if (this.closed) throw IpcError.closed(this.kind, "write");
      }
    } catch (e) {
      if (done > 0 && e instanceof IpcError) {
        e.bytesWritten = done;
        // Written, not lost: say so in the message too.
        e.message += ` (after ${done} of ${bytes.length} bytes were written)`;
      }
      throw e;
    }
    return done;
  }

  /**
   * Writes `data`, blocking the calling thread until all of it is written. On a
   * non-blocking pipe it writes what fits and returns that count.
   *
   * @param data Bytes, or a string written as UTF-8.
   * @returns The number of bytes written.
   * @throws {IpcError} `EPIPE` when no reader is left, `EBADF` when closed, `EAGAIN` when
   *   a non-blocking pipe is full.
   */
  writeSync(data: Uint8Array | string): number {
    const fd = this.use("write");
    const bytes = toBytes(data);
    let done = 0;
    while (done < bytes.length) {
      const rest = done === 0 ? bytes : bytes.subarray(done);
      const n = libc.write(fd, rest, Math.min(rest.length, 0x7ffff000));
      if (n >= 0) {
        done += n;
        continue;
      }
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN && done > 0) return done;
      throw new IpcError({ errno: e, syscall: "write" });
    }
    return done;
  }

  /**
   * The pipe's capacity in bytes (`F_GETPIPE_SZ`). Setting it (`F_SETPIPE_SZ`) rounds up
   * to a power-of-two number of pages; above `/proc/sys/fs/pipe-max-size` an
   * unprivileged process gets `EPERM`, and below what the pipe holds, `EBUSY`.
   */
  get capacity(): number {
    return check(libc.fcntl(this.use("fcntl"), C.F_GETPIPE_SZ, 0), "fcntl(F_GETPIPE_SZ)");
  }

  set capacity(bytes: number) {
    const fd = this.use("fcntl");
    checkInteger(bytes, "capacity", 1, 0x7fffffff);
    check(libc.fcntl(fd, C.F_SETPIPE_SZ, bytes), "fcntl(F_SETPIPE_SZ)");
  }

  /** The writer as a Web `WritableStream`; closing the stream closes the writer. */
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
  /** Packet mode (`O_DIRECT`): each write of up to 4096 bytes is read back as one packet. Default `false`. */
  packet?: boolean;
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
 */
export function pipe(options?: PipeOptions): [PipeReader, PipeWriter] {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError("options must be an object");
  }
  const fds = new Int32Array(2);
  const flags = C.O_CLOEXEC | (options?.nonBlocking ? C.O_NONBLOCK : 0) |
    (options?.packet ? C.O_DIRECT : 0);
  check(libc.pipe2(fds, flags), "pipe2");
  return [new PipeReader(fds[0]), new PipeWriter(fds[1])];
}

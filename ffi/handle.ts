/**
 * What every fd-based handle shares: one descriptor with an explicit owner, an idempotent
 * `close()` that first cancels the handle's pending waits, and `[Symbol.dispose]`.
 *
 * Ownership rule:
 * - `"owned"`: sysipc opened the descriptor (`pipe()`, a FIFO open, …). `close()` closes
 *   it, and a `FinalizationRegistry` closes it if the handle is forgotten (a safety net
 *   only: `close()` unregisters it).
 * - `"adopted"`: the caller handed the descriptor over (`fromFd(fd)`). `close()` closes
 *   it; the garbage collector never does, because the caller may still use the number
 *   (`PipeWriter.fromFd(1)` must never close stdout at a random moment).
 * - `"borrowed"`: `fromFd(fd, { own: false })`. Neither `close()` nor the garbage
 *   collector closes it; `close()` only ends the handle's use of it.
 * Descriptors a handle opens for itself (a private non-blocking description) are always
 * its own, and closed by `close()` and by the finalizer.
 *
 * @module
 */
import { IpcError } from "./errors.ts";
import { libc } from "./libc.ts";
import { type ReadyTarget, untilReady } from "./ready.ts";
import { C } from "./constants.ts";
import {
  cancelAll,
  checkWaitOptions,
  newSpinState,
  type Owner,
  type SpinState,
  type WaitContext,
  type WaitOptions,
} from "./wait/mod.ts";

/** Who closes a handle's descriptor: see the module documentation. */
export type Ownership = "owned" | "adopted" | "borrowed";

/** The descriptors the finalizer closes for a forgotten handle. */
interface Held {
  fds: number[];
}

const forgotten = new FinalizationRegistry<Held>((held) => {
  for (const fd of held.fds) libc.close(fd);
});

/**
 * A handle that uses one file descriptor.
 *
 * @example Every handle with one descriptor has fd, closed, close() and using
 * ```ts
 * import { pipe } from "@sysipc/sysipc/pipe";
 * const [reader, writer] = pipe();
 * console.log(reader.fd >= 0, reader.closed); // true false
 * reader.close();
 * console.log(reader.fd, reader.closed); // -1 true
 * {
 *   using _w = writer; // closed at the end of the block
 * }
 * console.log(writer.closed); // true
 * ```
 */
export abstract class FdHandle implements Disposable {
  #fd: number;
  #ownership: Ownership;
  #held: Held;
  /** Pending waits, cancelled by `close()`. */
  protected readonly waits: Owner = new Set();
  /** This handle's adaptive spin budget for fd waits. */
  protected readonly spin: SpinState = newSpinState();

  /**
   * Takes `fd` under the given ownership.
   *
   * @param fd The descriptor.
   * @param ownership Who closes it (see the module documentation).
   */
  protected constructor(fd: number, ownership: Ownership) {
    if (new.target === FdHandle) throw new TypeError("FdHandle is abstract: use a subclass");
    this.#fd = fd;
    this.#ownership = ownership;
    this.#held = { fds: ownership === "owned" ? [fd] : [] };
    forgotten.register(this, this.#held, this);
  }

  /** The handle's kind, for messages (`"PipeReader"`). */
  protected abstract get kind(): string;

  /**
   * The file descriptor; `-1` once closed.
   *
   * @example
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * console.log(reader.fd, writer.fd); // two descriptor numbers, such as 5 6
   * reader.close();
   * writer.close();
   * console.log(reader.fd); // -1
   * ```
   */
  get fd(): number {
    return this.#fd;
  }

  /**
   * Whether `close()` was called.
   *
   * @example
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * writer.close();
   * console.log(writer.closed, reader.closed); // true false
   * reader.close();
   * ```
   */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * The descriptor, or an `EBADF` error when closed.
   *
   * @param syscall The operation being attempted, for the error.
   * @returns The open descriptor.
   */
  protected use(syscall: string): number {
    if (this.#fd < 0) throw IpcError.closed(this.kind, syscall);
    return this.#fd;
  }

  /**
   * What `untilReady` and `readiness` (`ffi/ready.ts`) need to wait on this handle's
   * descriptor: the descriptor, the operation's context, and the `EBADF` error once the
   * handle is closed.
   *
   * @param context Names the operation; give it the handle's `waits` as owner.
   * @returns The target, to keep for every call of that operation.
   */
  protected readyTarget(context: WaitContext): ReadyTarget {
    // deno-lint-ignore no-this-alias
    const handle = this;
    return {
      get fd() {
        return handle.#fd;
      },
      context,
      closed: () => handle.#fd < 0 ? IpcError.closed(handle.kind, context.syscall) : undefined,
    };
  }

  /**
   * An async read into `into`: checks the arguments (errors reject), then runs
   * `attempt(into)` until it gives a result, waiting for `POLLIN` between tries
   * (`untilReady`). `attempt` is made once per handle, so that a read allocates only its
   * promise.
   *
   * @param target The read's target, from {@linkcode FdHandle.readyTarget}.
   * @param into Where the bytes go.
   * @param options `timeout` (ms) and `signal`.
   * @param attempt One non-blocking read: a count, `null` at end of stream, or `undefined`.
   * @returns The count, or `null` at end of stream; 0 for an empty `into`.
   */
  protected readInto(
    target: ReadyTarget,
    into: Uint8Array,
    options: WaitOptions | undefined,
    attempt: (into: Uint8Array) => number | null | undefined,
  ): Promise<number | null> {
    try {
      this.use("read");
      checkBuffer(into);
      checkWaitOptions(options);
    } catch (e) {
      return Promise.reject(e);
    }
    if (into.length === 0) return Promise.resolve(0);
    return untilReady(target, C.POLLIN, options, attempt, into);
  }

  /**
   * Records a descriptor the handle opened for itself: `close()` and the finalizer close
   * it with the handle.
   *
   * @param fd The descriptor.
   */
  protected holdFd(fd: number): void {
    this.#held.fds.push(fd);
  }

  /**
   * Closes the descriptor (unless borrowed) and those the handle opened for itself;
   * pending operations reject with `EBADF`. Idempotent.
   *
   * @example Closing twice is harmless; using a closed handle throws EBADF
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * writer.close();
   * writer.close(); // idempotent
   * try {
   *   writer.writeSync("late");
   * } catch (e) {
   *   console.log((e as { code?: string }).code); // "EBADF"
   * }
   * reader.close();
   * ```
   */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    forgotten.unregister(this);
    cancelAll(this.waits, IpcError.closed(this.kind, "close"));
    // Never retried: on Linux the fd is released even when close fails.
    for (const own of this.#held.fds) if (own !== fd) libc.close(own);
    if (this.#ownership !== "borrowed") libc.close(fd);
  }

  /**
   * Same as `close()`.
   *
   * @example
   * ```ts
   * import { pipe } from "@sysipc/sysipc/pipe";
   * const [reader, writer] = pipe();
   * {
   *   using r = reader;
   *   using w = writer;
   *   w.writeSync("x");
   *   console.log(r.readSync(new Uint8Array(1))); // 1
   * } // both closed here
   * console.log(reader.closed && writer.closed); // true
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Options of the `fromFd` constructors. */
export interface FromFdOptions {
  /**
   * Whether the handle takes the descriptor over, so that `close()` closes it. Default
   * `true`. With `false`, `close()` leaves it open. Either way the garbage collector never
   * closes a descriptor given to `fromFd`.
   */
  own?: boolean;
}

/**
 * The ownership a `fromFd` call asks for.
 *
 * @param options The call's options.
 * @returns `"adopted"` or `"borrowed"`.
 * @throws {TypeError} When `options` or `own` has the wrong type.
 */
export function fromFdOwnership(options: FromFdOptions | undefined): Ownership {
  if (options === undefined) return "adopted";
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  if (options.own !== undefined && typeof options.own !== "boolean") {
    throw new TypeError(`own must be a boolean, got ${typeof options.own}`);
  }
  return options.own === false ? "borrowed" : "adopted";
}

/**
 * Checks a file descriptor argument.
 *
 * @param fd The value.
 * @param what The argument's name.
 * @returns The descriptor.
 * @throws {TypeError} When it is not an integer.
 * @throws {RangeError} When it is negative or above 2^31 - 1.
 */
export function checkFd(fd: unknown, what = "fd"): number {
  if (typeof fd !== "number" || !Number.isInteger(fd)) {
    throw new TypeError(
      `${what} must be an integer file descriptor, got ${typeof fd} ${String(fd)}`,
    );
  }
  if (fd < 0 || fd > 0x7fffffff) {
    throw new RangeError(`${what} must be between 0 and 2147483647, got ${fd}`);
  }
  return fd;
}

/**
 * Checks an integer argument.
 *
 * @param value The value.
 * @param what The argument's name.
 * @param min The smallest accepted value.
 * @param max The largest accepted value.
 * @returns The value.
 * @throws {TypeError} When it is not an integer.
 * @throws {RangeError} When it is outside `[min, max]`.
 */
export function checkInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${what} must be an integer, got ${typeof value} ${String(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${what} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

const encoder = new TextEncoder();

/**
 * Checks that an options argument is an object, or left out.
 *
 * @param options The value.
 * @param what The argument's name.
 * @throws {TypeError} When it is neither `undefined` nor an object.
 */
export function checkOptions(options: unknown, what = "options"): void {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(
      `${what} must be an object, got ${options === null ? "null" : typeof options}`,
    );
  }
}

/**
 * Data to send: a `Uint8Array`, or a string sent as UTF-8.
 *
 * @param data The value.
 * @returns The bytes.
 * @throws {TypeError} For anything else.
 */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) {
    // A detached buffer reads as length 0: refuse it rather than send nothing.
    if (data.byteLength === 0 && (data.buffer as ArrayBuffer).detached === true) {
      throw new TypeError("data is a view of a detached ArrayBuffer");
    }
    return data;
  }
  if (typeof data === "string") return encoder.encode(data);
  throw new TypeError(`data must be a Uint8Array or a string, got ${typeof data}`);
}

/**
 * Checks a receive buffer.
 *
 * @param into The value.
 * @returns The buffer.
 * @throws {TypeError} When it is not a `Uint8Array`.
 */
export function checkBuffer(into: unknown): Uint8Array {
  if (!(into instanceof Uint8Array)) {
    throw new TypeError(`into must be a Uint8Array, got ${into === null ? "null" : typeof into}`);
  }
  if (into.byteLength === 0 && (into.buffer as ArrayBuffer).detached === true) {
    throw new TypeError("into is a view of a detached ArrayBuffer");
  }
  return into;
}

/**
 * The loop behind every handle's `for await`: yields `next()` until `closed()` says so.
 * The `EBADF` that a `close()` during the wait causes ends the loop quietly, as does an
 * error that `ends` accepts (a peer gone, say); any other error is thrown.
 *
 * @param closed Whether the handle is closed.
 * @param next The handle's async receive (or accept).
 * @param ends Other errors that end the loop rather than fail it.
 * @returns The iterator.
 */
export async function* untilClosed<T>(
  closed: () => boolean,
  next: () => Promise<T>,
  ends?: (error: IpcError) => boolean,
): AsyncGenerator<T, void, undefined> {
  while (!closed()) {
    try {
      yield await next();
    } catch (e) {
      if (e instanceof IpcError && ((e.code === "EBADF" && closed()) || ends?.(e))) return;
      throw e;
    }
  }
}

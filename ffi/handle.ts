/**
 * What every fd-based handle shares: ownership of one descriptor, an idempotent `close()`
 * that first cancels the handle's pending waits, `[Symbol.dispose]`, and a
 * `FinalizationRegistry` that closes a forgotten descriptor (only a safety net: `close()`
 * unregisters it).
 *
 * @module
 */
import { IpcError } from "./errors.ts";
import { libc } from "./libc.ts";
import { cancelAll, newSpinState, type SpinState } from "./wait.ts";

const forgotten = new FinalizationRegistry<number>((fd) => libc.close(fd));

/** A handle that owns one file descriptor. */
export abstract class FdHandle implements Disposable {
  #fd: number;
  /** Pending waits, cancelled by `close()`. */
  protected readonly waits: Set<(error: Error) => void> = new Set();
  /** This handle's adaptive spin budget for fd waits. */
  protected readonly spin: SpinState = newSpinState();

  /**
   * Takes ownership of `fd`.
   *
   * @param fd The descriptor; closed by `close()`.
   */
  protected constructor(fd: number) {
    this.#fd = fd;
    forgotten.register(this, fd, this);
  }

  /** The handle's kind, for messages (`"PipeReader"`). */
  protected abstract get kind(): string;

  /** The file descriptor; `-1` once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** Whether `close()` was called. */
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

  /** Closes the descriptor; pending operations reject with `EBADF`. Idempotent. */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    forgotten.unregister(this);
    cancelAll(this.waits, IpcError.closed(this.kind, "close"));
    libc.close(fd); // never retried: on Linux the fd is released even when close fails
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
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
 * Data to send: a `Uint8Array`, or a string sent as UTF-8.
 *
 * @param data The value.
 * @returns The bytes.
 * @throws {TypeError} For anything else.
 */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
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
  return into;
}

/**
 * Mapped memory as an `ArrayBuffer`, and the rules that keep it from ever crashing the
 * process (internal to `shm/`):
 *
 * - Unmapping first detaches the buffer (`transfer(0)`), so every view of it reads as
 *   length 0 afterwards instead of touching memory that is gone.
 * - A forgotten mapping is unmapped by a `FinalizationRegistry` only once its `ArrayBuffer`
 *   itself is unreachable, which means no view of it is left. A handle that is dropped
 *   while the caller still holds its `bytes` keeps the memory mapped.
 * - "Read-only" mappings of files and POSIX segments are private copy-on-write mappings
 *   (`MAP_PRIVATE`, readable and writable): JavaScript has no read-only view of memory, and
 *   a write into memory mapped without write access is a `SIGSEGV` that ends the process.
 *   Writes to such a view stay in this process and never reach the object; a page written
 *   to stops following the object (it is now a private copy).
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { check, describeValue, errno, libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { fileMode, fileTypeName } from "../ffi/stat.ts";
import { statx } from "../ffi/structs.ts";

const MAP_FAILED = 2n ** 64n - 1n;
/** The largest mapping this runtime can view as one `ArrayBuffer` (`platform.maxMapping`). */
export const MAX_MAP: number = runtime.maxMemory;

/** How a mapping is undone. */
type Unmap = "munmap" | "shmdt";

interface Held {
  address: bigint;
  length: number;
  unmap: Unmap;
}

function release(held: Held): void {
  if (held.unmap === "munmap") libc.munmap(held.address, held.length);
  else libc.shmdt(held.address);
}

const forgotten = new FinalizationRegistry<Held>(release);

/** A region of memory mapped into this process, viewed as one `ArrayBuffer`. */
export class Mapping {
  readonly #held: Held;
  #buffer: ArrayBuffer;
  #mapped = true;

  /**
   * Takes over a mapping that was just made.
   *
   * @param address Where it starts.
   * @param length Its length in bytes.
   * @param unmap How to undo it.
   */
  constructor(address: bigint, length: number, unmap: Unmap) {
    this.#held = { address, length, unmap };
    try {
      this.#buffer = runtime.memory(address, length);
    } catch (e) {
      release(this.#held);
      throw new RangeError(
        `Cannot view ${length} bytes of mapped memory as an ArrayBuffer on this runtime`,
        { cause: e },
      );
    }
    forgotten.register(this.#buffer, this.#held, this);
  }

  /**
   * Maps `length` bytes of a file or shared memory object, shared with every process that
   * maps it; "read-only" maps a private copy-on-write view (see the module documentation).
   *
   * @param fd The descriptor.
   * @param length Bytes to map, from offset 0.
   * @param readOnly Whether the caller may only read the object.
   * @param path The object's name or path, for errors.
   * @returns The mapping.
   * @throws {IpcError} From `mmap` (`EACCES`, `ENOMEM`, `ENODEV`, …).
   */
  static map(fd: number, length: number, readOnly: boolean, path?: string): Mapping {
    const address = libc.mmap(
      0,
      length,
      C.PROT_READ | C.PROT_WRITE,
      readOnly ? C.MAP_PRIVATE : C.MAP_SHARED,
      fd,
      0,
    );
    if (address === MAP_FAILED) throw new IpcError({ errno: errno(), syscall: "mmap", path });
    return new Mapping(address, length, "munmap");
  }

  /** The start address. */
  get address(): bigint {
    return this.#held.address;
  }

  /** The length in bytes. */
  get length(): number {
    return this.#held.length;
  }

  /** The memory; detached (length 0) once unmapped. */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  /** Whether `unmap()` was called. */
  get unmapped(): boolean {
    return !this.#mapped;
  }

  /**
   * Writes the mapped range back to the file it maps (`msync`).
   *
   * @param async `MS_ASYNC` (schedule the write-back) instead of `MS_SYNC` (wait for it).
   * @param path For errors.
   * @throws {IpcError} From `msync`.
   */
  sync(async: boolean, path?: string): void {
    const h = this.#held;
    check(libc.msync(h.address, h.length, async ? C.MS_ASYNC : C.MS_SYNC), "msync", path);
  }

  /**
   * Detaches the buffer, so every view of it reads as length 0, then unmaps. Idempotent.
   */
  unmap(): void {
    if (!this.#mapped) return;
    this.#mapped = false;
    forgotten.unregister(this);
    this.#buffer = this.#buffer.transfer(0);
    release(this.#held);
  }
}

const sizeBuffer = new DataView(new ArrayBuffer(statx.size));
const emptyPath = new Uint8Array(new ArrayBuffer(1));

/**
 * The size of the file or object an open descriptor refers to.
 *
 * @param fd The descriptor.
 * @param path For errors.
 * @returns The size in bytes.
 * @throws {IpcError} From `statx`.
 */
export function sizeOf(fd: number, path?: string): number {
  check(libc.statx(fd, emptyPath, C.AT_EMPTY_PATH, C.STATX_SIZE, sizeBuffer), "statx", path);
  return Number(sizeBuffer.getBigUint64(statx.offsets.stx_size, true));
}

/**
 * Checks a size argument: an integer from 1 to `MAX_MAP`.
 *
 * @param size The value.
 * @param what The argument's name.
 * @returns The size.
 * @throws {TypeError} When it is not an integer.
 * @throws {RangeError} When it is below 1 or above `MAX_MAP`.
 */
export function checkSize(size: unknown, what = "size"): number {
  if (typeof size !== "number" || !Number.isInteger(size)) {
    throw new TypeError(`${what} must be an integer number of bytes, got ${describeValue(size)}`);
  }
  if (size < 1 || size > MAX_MAP) {
    throw new RangeError(
      `${what} must be between 1 and ${MAX_MAP} bytes (the most this runtime maps), got ${size}`,
    );
  }
  return size;
}

/**
 * Checks an optional boolean option.
 *
 * @param value The value.
 * @param what Its name.
 * @returns The value, `false` when undefined.
 * @throws {TypeError} When it is neither a boolean nor undefined.
 */
export function checkBoolean(value: unknown, what: string): boolean {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(`${what} must be a boolean, got ${describeValue(value)}`);
  }
  return value === true;
}

/**
 * Maps the whole of an open file or shared memory object, first growing it to `size` when
 * it is smaller (never shrinking it: another process may map the rest, and touching memory
 * past the end of an object kills a process with `SIGBUS`).
 *
 * @param fd The descriptor.
 * @param size The size the caller asked for, if any.
 * @param readOnly Whether the descriptor is read-only.
 * @param path The name or path, for errors.
 * @returns The mapping.
 * @throws {IpcError} `ENODEV` for what is not a regular file or shared memory object,
 *   `EINVAL` for an empty object without `size`; errors of `ftruncate`, `mmap`.
 */
export function mapWhole(
  fd: number,
  size: number | undefined,
  readOnly: boolean,
  path?: string,
): Mapping {
  const type = fileMode(fd) & C.S_IFMT;
  if (type !== C.S_IFREG) {
    throw IpcError.of(
      "ENODEV",
      "mmap",
      path,
      `Only regular files and shared memory objects can be mapped; this is ${fileTypeName(type)}`,
    );
  }
  let length = sizeOf(fd, path);
  if (size !== undefined && length < size) {
    check(libc.ftruncate(fd, size), "ftruncate", path);
    length = size;
  }
  if (length === 0) {
    throw IpcError.of(
      "EINVAL",
      "mmap",
      path,
      "The object is empty (0 bytes), and an empty object cannot be mapped: pass size to give it one",
    );
  }
  if (length > MAX_MAP) {
    throw IpcError.of(
      "EFBIG",
      "mmap",
      path,
      `The object has ${length} bytes, more than this runtime can map (${MAX_MAP})`,
    );
  }
  return Mapping.map(fd, length, readOnly, path);
}

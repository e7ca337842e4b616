/**
 * What a mapped descriptor is: {@linkcode MappedFd}, the base of `SharedMemory` and
 * `MappedFile`.
 *
 * @module
 */
import { FdHandle, type Ownership } from "../ffi/handle.ts";
import type { Mapping } from "./mapping.ts";

/**
 * A descriptor whose object (a shared memory segment, a file) is mapped into this process
 * in full: `bytes` and `buffer` are that memory. `close()` unmaps (every view of `buffer`
 * becomes length 0, never a dangling pointer), then closes the descriptor.
 */
export abstract class MappedFd extends FdHandle {
  readonly #mapping: Mapping;
  readonly #bytes: Uint8Array;
  readonly #readOnly: boolean;

  /**
   * Takes `fd` and its mapping.
   *
   * @param fd The descriptor.
   * @param ownership Who closes it.
   * @param mapping Its mapping (internal).
   * @param readOnly Whether the mapping is a read-only, copy-on-write one.
   */
  protected constructor(fd: number, ownership: Ownership, mapping: Mapping, readOnly: boolean) {
    if (new.target === MappedFd) {
      throw new TypeError("MappedFd is abstract: use SharedMemory or MappedFile");
    }
    super(fd, ownership);
    this.#mapping = mapping;
    this.#bytes = new Uint8Array(mapping.buffer);
    this.#readOnly = readOnly;
  }

  /**
   * Writes the mapped range back to the object's storage (`msync`).
   *
   * @param async `MS_ASYNC` instead of `MS_SYNC`.
   * @param path The object's path, for errors.
   */
  protected msync(async: boolean, path?: string): void {
    this.#mapping.sync(async, path);
  }

  /** The mapped size in bytes. */
  get size(): number {
    return this.#mapping.length;
  }

  /**
   * Whether it was opened read-only. The view is then a private copy-on-write mapping:
   * writes to it stay in this process and never reach the object.
   */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** The mapped memory; detached (length 0) once closed. */
  get buffer(): ArrayBuffer {
    return this.#mapping.buffer;
  }

  /** The mapped memory as bytes; length 0 once closed. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Unmaps (every view of `buffer` becomes length 0) and closes the descriptor. Idempotent. */
  override close(): void {
    this.#mapping.unmap();
    super.close();
  }
}

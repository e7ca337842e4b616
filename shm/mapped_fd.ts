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
 *
 * @example Shared memory and mapped files share this interface
 * ```ts
 * import { SharedMemory } from "@sysipc/sysipc/shm";
 * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 100 });
 * console.log(shm.size, shm.bytes.length, shm.buffer.byteLength); // 100 100 100
 * shm.unlink();
 * ```
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

  /**
   * The mapped size in bytes.
   *
   * @example
   * ```ts
   * import { memfd } from "@sysipc/sysipc/shm";
   * using segment = memfd("sized", 8192);
   * console.log(segment.size); // 8192
   * ```
   */
  get size(): number {
    return this.#mapping.length;
  }

  /**
   * Whether it was opened read-only. The view is then a private copy-on-write mapping:
   * writes to it stay in this process and never reach the object.
   *
   * @example A read-only view: writes stay in this process
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * const name = `/example-${Date.now()}`;
   * using writer = SharedMemory.open(name, { create: true, size: 16 });
   * using reader = SharedMemory.open(name, { readOnly: true });
   * console.log(writer.readOnly, reader.readOnly); // false true
   * reader.bytes[0] = 7; // a private copy of the page: the segment is unchanged
   * console.log(writer.bytes[0]); // 0
   * writer.unlink();
   * ```
   */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /**
   * The mapped memory; detached (length 0) once closed.
   *
   * @example Atomics across processes work on views of the buffer
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 64 });
   * const counters = new Int32Array(shm.buffer);
   * Atomics.add(counters, 0, 5);
   * console.log(Atomics.load(counters, 0)); // 5
   * shm.close();
   * console.log(shm.buffer.byteLength); // 0: views never dangle
   * shm.unlink();
   * ```
   */
  get buffer(): ArrayBuffer {
    return this.#mapping.buffer;
  }

  /**
   * The mapped memory as bytes; length 0 once closed.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * const name = `/example-${Date.now()}`;
   * using a = SharedMemory.open(name, { create: true, size: 32 });
   * using b = SharedMemory.open(name); // as another process would
   * a.bytes.set(new TextEncoder().encode("shared"));
   * console.log(new TextDecoder().decode(b.bytes.subarray(0, 6))); // "shared"
   * a.unlink();
   * ```
   */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /**
   * Unmaps (every view of `buffer` becomes length 0) and closes the descriptor. Idempotent.
   *
   * @example
   * ```ts
   * import { memfd } from "@sysipc/sysipc/shm";
   * const segment = memfd("closing", 4096);
   * const view = new Uint32Array(segment.buffer);
   * segment.close();
   * segment.close(); // idempotent
   * console.log(view.length, segment.closed); // 0 true
   * ```
   */
  override close(): void {
    this.#mapping.unmap();
    super.close();
  }
}

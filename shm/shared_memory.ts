/**
 * POSIX shared memory: {@linkcode SharedMemory}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { checkFd, type FromFdOptions, fromFdOwnership, type Ownership } from "../ffi/handle.ts";
import { type CreateOptions, createOptions, openCreateFlags, posixName } from "../ffi/ipc.ts";
import { check, checkRetry, describeValue, libc } from "../ffi/libc.ts";
import { MappedFd } from "./mapped_fd.ts";
import { checkBoolean, checkSize, type Mapping, mapWhole } from "./mapping.ts";

/** Options of {@linkcode SharedMemory.open}. */
export interface SharedMemoryOptions extends CreateOptions {
  /**
   * The size in bytes, 1 or more. Required with `create`. A new segment is made this size;
   * an existing smaller one is grown to it; an existing larger one keeps its size (a segment
   * is never shrunk: another process may have mapped the rest, and touching memory past the
   * end of a segment kills a process with `SIGBUS`). Without it, the segment's current size
   * is mapped.
   */
  size?: number;
  /**
   * Open for reading only. The view is then a private copy-on-write mapping: writes to it
   * stay in this process and never reach the segment (a write into memory mapped without
   * write access would end the process, and JavaScript has no read-only view). Default
   * `false`.
   */
  readOnly?: boolean;
}

/** Options of {@linkcode SharedMemory.fromFd}. */
export interface SharedMemoryFromFdOptions extends FromFdOptions {
  /** Map for reading only, as in {@linkcode SharedMemoryOptions.readOnly}. Default `false`. */
  readOnly?: boolean;
}

/**
 * A seal of a memfd segment (`fcntl(F_ADD_SEALS)`), which no process can ever remove:
 * - `"seal"`: no more seals may be added;
 * - `"shrink"`, `"grow"`: the size is fixed (no process can make a mapping of it fault);
 * - `"write"`: the contents are fixed (needs no writable shared mapping: `EBUSY` while this
 *   handle maps it);
 * - `"futureWrite"`: no new writable mapping or write may be made, while mappings that exist
 *   (this handle's) keep writing: the way to hand out a read-only view of live data.
 */
export type MemfdSeal = "seal" | "shrink" | "grow" | "write" | "futureWrite";

const SEALS: Readonly<Record<MemfdSeal, number>> = {
  seal: C.F_SEAL_SEAL,
  shrink: C.F_SEAL_SHRINK,
  grow: C.F_SEAL_GROW,
  write: C.F_SEAL_WRITE,
  futureWrite: C.F_SEAL_FUTURE_WRITE,
};

/**
 * Checks a list of seal names.
 *
 * @param seals The value.
 * @returns The `F_SEAL_*` bits.
 * @throws {TypeError} When it is not an array of seal names.
 */
export function sealBits(seals: unknown): number {
  if (!Array.isArray(seals)) {
    throw new TypeError(`seals must be an array of seal names, got ${describeValue(seals)}`);
  }
  let bits = 0;
  for (const seal of seals) {
    if (typeof seal !== "string" || !Object.hasOwn(SEALS, seal)) {
      throw new TypeError(
        `seals must contain only ${Object.keys(SEALS).join(", ")}; got ${describeValue(seal)}`,
      );
    }
    bits |= SEALS[seal as MemfdSeal];
  }
  return bits;
}

let constructing = false;
let make: (
  fd: number,
  ownership: Ownership,
  mapping: Mapping,
  name: string | undefined,
  readOnly: boolean,
) => SharedMemory;

/**
 * A handle over a descriptor sysipc opened and mapped (for `memfd`).
 *
 * @param fd The descriptor (owned).
 * @param mapping Its mapping.
 * @param readOnly Whether the mapping is read-only.
 * @returns The handle.
 */
export function newSharedMemory(fd: number, mapping: Mapping, readOnly: boolean): SharedMemory {
  constructing = true;
  return make(fd, "owned", mapping, undefined, readOnly);
}

/**
 * Maps a descriptor; closes it (when owned) if mapping fails.
 *
 * @param fd The descriptor.
 * @param ownership Who closes it.
 * @param size The size asked for, if any.
 * @param readOnly Whether to map read-only.
 * @param name The segment's name, if any.
 * @returns The handle.
 */
function mapFd(
  fd: number,
  ownership: Ownership,
  size: number | undefined,
  readOnly: boolean,
  name: string | undefined,
): SharedMemory {
  let mapping: Mapping;
  try {
    mapping = mapWhole(fd, size, readOnly, name);
  } catch (e) {
    if (ownership === "owned") libc.close(fd);
    throw e;
  }
  constructing = true;
  return make(fd, ownership, mapping, name, readOnly);
}

/**
 * A shared memory segment mapped into this process: a POSIX segment (`shm_open`, with a
 * name under `/dev/shm`), a memfd (see `memfd`), or a descriptor handed over by another
 * process. `bytes` and `buffer` are the memory itself, shared with every process that maps
 * the segment; `Atomics` on `Int32Array`/`BigInt64Array` views of `buffer` are atomic
 * across processes (`Atomics.wait` is not available on such memory).
 *
 * `close()` unmaps: every view of `buffer` becomes length 0 (never a dangling pointer),
 * and the descriptor is closed. It never removes the segment: `unlink()` does, and the
 * memory lives on until the last process unmaps it.
 *
 * Another process that shrinks a segment (`ftruncate`) while this one maps it makes access
 * past the new end a `SIGBUS`, which ends this process: sysipc never shrinks a segment, and
 * a memfd sealed with `"shrink"` cannot be shrunk by anyone.
 *
 * @example Two processes share bytes through "/demo"
 * ```ts
 * import { SharedMemory } from "@sysipc/sysipc/shm";
 * const name = `/demo-${Date.now()}`;
 * using shm = SharedMemory.open(name, { create: true, exclusive: true, size: 4096 });
 * shm.bytes.set(new TextEncoder().encode("hello"));
 * using other = SharedMemory.open(name); // as another process would
 * console.log(new TextDecoder().decode(other.bytes.subarray(0, 5))); // "hello"
 * shm.unlink();
 * ```
 */
export class SharedMemory extends MappedFd {
  #name: string | undefined;

  static {
    make = (fd, ownership, mapping, name, readOnly) =>
      new SharedMemory(fd, ownership, mapping, name, readOnly);
  }

  private constructor(
    fd: number,
    ownership: Ownership,
    mapping: Mapping,
    name: string | undefined,
    readOnly: boolean,
  ) {
    if (!constructing) {
      throw new TypeError(
        "SharedMemory has no public constructor: use SharedMemory.open, memfd or " +
          "SharedMemory.fromFd",
      );
    }
    constructing = false;
    super(fd, ownership, mapping, readOnly);
    this.#name = name;
  }

  /**
   * Opens (and with `create`, creates) a POSIX shared memory segment and maps all of it.
   *
   * @example Create, or open what another process created
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * const name = `/counters-${Date.now()}`;
   * using shm = SharedMemory.open(name, { create: true, size: 4096 }); // mode 0600
   * const counters = new Int32Array(shm.buffer);
   * Atomics.add(counters, 0, 1); // atomic across processes
   * SharedMemory.unlink(name);
   * ```
   *
   * @param name `"/name"`: one leading slash, no other, 1–250 characters after it.
   * @param options `create`, `exclusive`, `mode` (default `0o600`), `size`, `readOnly`.
   * @returns The mapped segment.
   * @throws {TypeError} For a name that breaks the rule, options of the wrong type,
   *   `exclusive` without `create`, `create` without `size`, or `size` with `readOnly`.
   * @throws {RangeError} For a `size` below 1 or above `platform.maxMapping`, or a `mode` above 0o777.
   * @throws {IpcError} `ENOENT` (no such segment, without `create`), `EEXIST` (with
   *   `exclusive`), `EACCES`, `EINVAL` (an empty segment opened without `size`), `ENOMEM`.
   */
  static open(name: string, options?: SharedMemoryOptions): SharedMemory {
    const cName = posixName(name);
    const create = createOptions(options);
    const readOnly = checkBoolean(options?.readOnly, "readOnly");
    const size = options?.size === undefined ? undefined : checkSize(options.size);
    if (create.create && size === undefined) {
      throw new TypeError("size is required with create: true (the size of a new segment)");
    }
    if (readOnly && size !== undefined) {
      throw new TypeError("size cannot be combined with readOnly: sizing a segment writes it");
    }
    const flags = (readOnly ? C.O_RDONLY : C.O_RDWR) | openCreateFlags(create) | C.O_CLOEXEC;
    const fd = checkRetry(() => libc.shm_open(cName, flags, create.mode), "shm_open", name);
    try {
      return mapFd(fd, "owned", size, readOnly, name);
    } catch (e) {
      // Only an exclusive create knows for sure that it made the segment.
      if (create.exclusive) libc.shm_unlink(cName);
      throw e;
    }
  }

  /**
   * Maps a shared memory descriptor this process already has: a memfd or a segment handed
   * over by another process (at a chosen fd number by `spawn`, or over a Unix socket). Maps
   * the object's current size. By default the handle takes the descriptor over.
   *
   * @example A child maps the memfd its parent placed at fd 3
   * ```ts ignore
   * // Not run alone: it needs a parent that handed over a memfd at fd 3 (see `memfd`).
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * using shm = SharedMemory.fromFd(3);
   * console.log(shm.bytes[0]);
   * ```
   *
   * @param fd The descriptor.
   * @param options `readOnly` (required for a descriptor opened read-only, and for a memfd
   *   sealed with `"write"` or `"futureWrite"`); `own` (default `true`): whether `close()`
   *   closes `fd`.
   * @returns The mapped segment.
   * @throws {TypeError} When `fd` is not an integer or an option has the wrong type.
   * @throws {RangeError} When `fd` is negative.
   * @throws {IpcError} `EACCES` (a read-only descriptor mapped for writing), `EPERM` (a
   *   write-sealed memfd mapped for writing), `ENODEV` (not mappable), `EINVAL` (empty).
   */
  static fromFd(fd: number, options?: SharedMemoryFromFdOptions): SharedMemory {
    checkFd(fd);
    const ownership = fromFdOwnership(options);
    const readOnly = checkBoolean(options?.readOnly, "readOnly");
    return mapFd(fd, ownership, undefined, readOnly, undefined);
  }

  /**
   * Removes a segment's name (`shm_unlink`); processes that map it keep it until they unmap.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * const name = `/gone-${Date.now()}`;
   * SharedMemory.open(name, { create: true, size: 1 }).close();
   * SharedMemory.unlink(name);
   * ```
   *
   * @param name The segment's name.
   * @throws {TypeError} For a name that breaks the rule.
   * @throws {IpcError} `ENOENT` when there is no such segment, `EACCES`.
   */
  static unlink(name: string): void {
    check(libc.shm_unlink(posixName(name)), "shm_unlink", name);
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "SharedMemory";
  }

  /**
   * The segment's name (`"/name"`); `undefined` for a memfd or a handed-over descriptor.
   *
   * @example
   * ```ts
   * import { memfd, SharedMemory } from "@sysipc/sysipc/shm";
   * using named = SharedMemory.open("/example-name", { create: true, size: 1 });
   * using anonymous = memfd("no-name", 1);
   * console.log(named.name, anonymous.name); // "/example-name" undefined
   * named.unlink();
   * ```
   */
  get name(): string | undefined {
    return this.#name;
  }

  /**
   * The seals of a memfd segment (`F_GET_SEALS`).
   *
   * @example
   * ```ts
   * import { memfd } from "@sysipc/sysipc/shm";
   * using segment = memfd("sealed", 4096);
   * segment.addSeals(["shrink", "grow"]);
   * console.log(segment.seals); // ["shrink", "grow"]
   * ```
   *
   * @throws {IpcError} `EINVAL` for a segment that is not a memfd, `EBADF` when closed.
   */
  get seals(): MemfdSeal[] {
    const bits = check(libc.fcntl(this.use("fcntl"), C.F_GET_SEALS, 0), "fcntl(F_GET_SEALS)");
    return (Object.keys(SEALS) as MemfdSeal[]).filter((s) => (bits & SEALS[s]) !== 0);
  }

  /**
   * Adds seals to a memfd segment (`F_ADD_SEALS`); seals can never be removed. See
   * {@linkcode MemfdSeal}.
   *
   * @example Sealing the size before handing a segment to another process
   * ```ts
   * import { memfd } from "@sysipc/sysipc/shm";
   * using segment = memfd("fixed-size", 4096);
   * segment.addSeals(["shrink", "grow", "seal"]); // nobody can resize it, or change the seals
   * try {
   *   segment.addSeals(["write"]);
   * } catch (e) {
   *   console.log((e as { code?: string }).code); // "EPERM": sealed with "seal"
   * }
   * ```
   *
   * @param seals The seals to add.
   * @throws {TypeError} When `seals` is not an array of seal names.
   * @throws {IpcError} `EPERM` once sealed with `"seal"`, `EBUSY` for `"write"` while
   *   writable shared mappings exist (this handle's included), `EINVAL` for a segment that is
   *   not a memfd, `EBADF` when closed.
   */
  addSeals(seals: MemfdSeal[]): void {
    const fd = this.use("fcntl");
    check(libc.fcntl(fd, C.F_ADD_SEALS, sealBits(seals)), "fcntl(F_ADD_SEALS)");
  }

  /**
   * Removes the segment's name, as {@linkcode SharedMemory.unlink}; works after `close()`.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * const shm = SharedMemory.open("/example-unlink", { create: true, size: 8 });
   * shm.unlink(); // the name goes now; the memory stays mapped until close
   * shm.bytes[0] = 1;
   * shm.close();
   * ```
   *
   * @throws {TypeError} For a memfd or a handed-over descriptor, which have no name.
   * @throws {IpcError} `ENOENT` when the name is already gone.
   */
  unlink(): void {
    if (this.#name === undefined) {
      throw new TypeError("This SharedMemory has no name to unlink (a memfd or a descriptor)");
    }
    SharedMemory.unlink(this.#name);
  }
}

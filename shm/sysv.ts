/**
 * System V shared memory: {@linkcode SysVSharedMemory}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { errnoNumber, IpcError } from "../ffi/errors.ts";
import {
  type CreateOptions,
  createOptions,
  dateOfSeconds,
  readIpcPerm,
  sysvGetFlags,
  type SysVKey,
  sysvKey,
} from "../ffi/ipc.ts";
import { check, describeValue, errno, libc } from "../ffi/libc.ts";
import { shmidDs } from "../ffi/structs.ts";
import { checkBoolean, checkSize, Mapping } from "./mapping.ts";

/** Options of {@linkcode SysVSharedMemory.get}. */
export interface SysVSharedMemoryOptions extends CreateOptions {
  /**
   * The size in bytes. Required to create a segment (the kernel rounds the memory up to
   * whole pages; `stat().size` stays what was asked). When getting an existing segment it
   * may be left out; if given, it must not exceed the segment's size (`EINVAL`).
   */
  size?: number;
}

/** Options of {@linkcode SysVSharedMemory.attach}. */
export interface AttachOptions {
  /**
   * Attach without write access (`SHM_RDONLY`), which needs only read permission. A
   * **write** through the returned bytes is then a memory-protection fault that ends the
   * process (`SIGSEGV`): the kernel maps the memory read-only and JavaScript has no
   * read-only view to stop the write. Default `false`.
   */
  readOnly?: boolean;
}

/** What `shmctl(IPC_STAT)` says about a segment. */
export interface SysVSharedMemoryStat {
  /** The size in bytes, as created. */
  size: number;
  /** The permission bits (`0o600`). */
  mode: number;
  /** The owner's user id. */
  uid: number;
  /** The owner's group id. */
  gid: number;
  /** The creator's user id. */
  creatorUid: number;
  /** The creator's group id. */
  creatorGid: number;
  /** The key (0 for `"private"`), as C's signed `key_t`. */
  key: number;
  /** The pid of the process that created it. */
  creatorPid: number;
  /** The pid of the last process that attached or detached it. */
  lastPid: number;
  /** How many attachments there are, in every process. */
  attachCount: number;
  /** The last attach, or `null` if never. */
  attachTime: Date | null;
  /** The last detach, or `null` if never. */
  detachTime: Date | null;
  /** The creation, or the last change by `IPC_SET`. */
  changeTime: Date | null;
}

/** Set by the internal factories: the constructors are not public. */
let constructing = false;

const MAP_FAILED = 2n ** 64n - 1n;
const EINVAL = errnoNumber("EINVAL");
const statBuffer = new DataView(new ArrayBuffer(shmidDs.size));

/**
 * A System V shared memory segment (`shmget`): it lives, with its key and id, until
 * `remove()` (or `ipcrm`) and the last detach, whatever process made it. Attach it to get
 * its memory as bytes; `detach()` unmaps (every view becomes length 0); `close()` detaches
 * every attachment of this handle and never removes the segment.
 *
 * @example The classic lifecycle: create, attach, use, detach, remove
 * ```ts
 * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
 * const shm = SysVSharedMemory.get("private", { create: true, size: 4096 });
 * const bytes = shm.attach();
 * bytes.set([1, 2, 3]);
 * console.log(shm.stat().attachCount); // 1
 * shm.detach(); // bytes.length is 0 from here on
 * shm.remove();
 * ```
 */
export class SysVSharedMemory implements Disposable {
  readonly #id: number;
  readonly #key: number;
  #attachments = new Map<Uint8Array, Mapping>();
  #closed = false;
  #removed = false;

  private constructor(id: number, key: number) {
    if (!constructing) {
      throw new TypeError("SysVSharedMemory has no public constructor: use SysVSharedMemory.get()");
    }
    constructing = false;
    this.#id = id;
    this.#key = key;
  }

  /**
   * Gets (and with `create`, creates) the segment of a key (`shmget`).
   *
   * @example Two processes find one segment through ftok
   * ```ts
   * import { ftok, SysVSharedMemory } from "@sysipc/sysipc/shm";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/ftok-`);
   * const key = ftok(dir, 7); // every process computes the same key
   * using shm = SysVSharedMemory.get(key, { create: true, exclusive: true, size: 4096 });
   * console.log(shm.stat().size); // 4096
   * shm.remove();
   * rmSync(dir, { recursive: true });
   * ```
   *
   * @param key A 32-bit key (signed or unsigned spelling; `ipcs` prints it in hex), or
   *   `"private"` for a new segment no other process can find by key (share its `id`).
   * @param options `create`, `exclusive`, `mode` (default `0o600`), `size`.
   * @returns The segment.
   * @throws {TypeError} For a key that is not an integer or `"private"`, options of the
   *   wrong type, `exclusive` without `create`, or `create` without `size`.
   * @throws {RangeError} For a key outside 32 bits, or a `size` below 1 or above `platform.maxMapping`.
   * @throws {IpcError} `ENOENT` (no segment for the key, without `create`), `EEXIST` (with
   *   `exclusive`), `EINVAL` (`size` beyond the existing segment's, or outside the system's
   *   limits), `EACCES`, `ENOSPC` (too many segments), `ENOMEM`.
   */
  static get(key: SysVKey, options?: SysVSharedMemoryOptions): SysVSharedMemory {
    const k = sysvKey(key);
    const create = createOptions(options);
    const size = options?.size === undefined ? undefined : checkSize(options.size);
    if ((create.create || k === C.IPC_PRIVATE) && size === undefined) {
      throw new TypeError("size is required to create a segment");
    }
    const id = check(libc.shmget(k, size ?? 0, sysvGetFlags(create)), "shmget", keyText(k));
    constructing = true;
    return new SysVSharedMemory(id, k);
  }

  /**
   * The segment's id (`shmid`), as `ipcs -m` shows it.
   *
   * @example Another process can attach by id
   * ```ts
   * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
   * using shm = SysVSharedMemory.get("private", { create: true, size: 4096 });
   * console.log(shm.id >= 0); // true: pass it to the processes that should attach
   * shm.remove();
   * ```
   */
  get id(): number {
    return this.#id;
  }

  /**
   * The key it was got with, as C's signed `key_t` (0 for `"private"`).
   *
   * @example
   * ```ts
   * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
   * using shm = SysVSharedMemory.get(0x5a0000 + (Date.now() % 0xffff), { create: true, size: 1 });
   * console.log(`0x${(shm.key >>> 0).toString(16)}`); // as ipcs -m prints it
   * shm.remove();
   * ```
   */
  get key(): number {
    return this.#key;
  }

  /**
   * Whether `close()` was called.
   *
   * @example
   * ```ts
   * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
   * const shm = SysVSharedMemory.get("private", { create: true, size: 1 });
   * shm.remove(); // destroyed once no process has it attached
   * shm.close();
   * console.log(shm.closed); // true
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Attaches the segment (`shmat`) and returns its memory. Each call makes another
   * attachment (the kernel counts them in `stat().attachCount`).
   *
   * @example
   * ```ts
   * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
   * using shm = SysVSharedMemory.get("private", { create: true, size: 4096 });
   * const a = shm.attach();
   * const b = shm.attach({ readOnly: true }); // a second attachment of the same memory
   * a[0] = 42;
   * console.log(b[0], shm.stat().attachCount); // 42 2
   * shm.remove();
   * ```
   *
   * @param options `readOnly` (read the warning in {@linkcode AttachOptions}).
   * @returns The whole segment as bytes, shared with every process that attached it.
   * @throws {TypeError} When an option has the wrong type.
   * @throws {IpcError} `EIDRM` after this handle's `remove()`; `EINVAL` when the segment no
   *   longer exists; `EACCES`; `EBADF` when closed; `ENOMEM`.
   */
  attach(options?: AttachOptions): Uint8Array {
    this.#use("shmat");
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw new TypeError(`options must be an object, got ${describeValue(options)}`);
    }
    const readOnly = checkBoolean(options?.readOnly, "readOnly");
    const address = libc.shmat(this.#id, 0, readOnly ? C.SHM_RDONLY : 0);
    if (address === MAP_FAILED) {
      const e = errno();
      throw new IpcError({
        errno: e,
        syscall: "shmat",
        path: this.#where(),
        detail: e === EINVAL ? "No such segment (it may have been removed)" : undefined,
      });
    }
    let size: number;
    try {
      size = this.stat().size;
    } catch (e) {
      libc.shmdt(address);
      throw e;
    }
    const mapping = new Mapping(address, size, "shmdt");
    const bytes = new Uint8Array(mapping.buffer);
    this.#attachments.set(bytes, mapping);
    return bytes;
  }

  /**
   * Detaches (`shmdt`) one attachment, or every attachment of this handle: their bytes
   * become length 0. The segment lives on until removed.
   *
   * @example
   * ```ts
   * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
   * using shm = SysVSharedMemory.get("private", { create: true, size: 4096 });
   * const bytes = shm.attach();
   * shm.detach(bytes);
   * console.log(bytes.length, shm.stat().attachCount); // 0 0
   * shm.remove();
   * ```
   *
   * @param bytes The attachment to detach, as `attach()` returned it. Default: all.
   * @throws {TypeError} When `bytes` is not an attachment of this handle.
   */
  detach(bytes?: Uint8Array): void {
    if (bytes === undefined) {
      for (const mapping of this.#attachments.values()) mapping.unmap();
      this.#attachments.clear();
      return;
    }
    const mapping = this.#attachments.get(bytes);
    if (mapping === undefined) {
      throw new TypeError("bytes is not an attachment of this segment (or is detached)");
    }
    mapping.unmap();
    this.#attachments.delete(bytes);
  }

  /**
   * The segment's size, owner, mode, pids, attach count and times (`IPC_STAT`).
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
   * using shm = SysVSharedMemory.get("private", { create: true, size: 8192, mode: 0o640 });
   * const s = shm.stat();
   * console.log(s.size, s.mode.toString(8), s.creatorPid === process.pid); // 8192 "640" true
   * shm.remove();
   * ```
   *
   * @returns The state.
   * @throws {IpcError} `EIDRM`/`EINVAL` once removed, `EACCES` without read permission,
   *   `EBADF` when closed.
   */
  stat(): SysVSharedMemoryStat {
    this.#use("shmctl(IPC_STAT)");
    check(libc.shmctl(this.#id, C.IPC_STAT, statBuffer), "shmctl(IPC_STAT)", this.#where());
    const v = statBuffer;
    const o = shmidDs.offsets;
    const perm = readIpcPerm(v, o.shm_perm);
    return {
      size: Number(v.getBigUint64(o.shm_segsz, true)),
      mode: perm.mode,
      uid: perm.uid,
      gid: perm.gid,
      creatorUid: perm.creatorUid,
      creatorGid: perm.creatorGid,
      key: perm.key,
      creatorPid: v.getInt32(o.shm_cpid, true),
      lastPid: v.getInt32(o.shm_lpid, true),
      attachCount: Number(v.getBigUint64(o.shm_nattch, true)),
      attachTime: dateOfSeconds(v.getBigInt64(o.shm_atime, true)),
      detachTime: dateOfSeconds(v.getBigInt64(o.shm_dtime, true)),
      changeTime: dateOfSeconds(v.getBigInt64(o.shm_ctime, true)),
    };
  }

  /**
   * Marks the segment for removal (`IPC_RMID`): its key is free at once, and the memory goes
   * when the last attachment in any process is detached. This handle's attachments stay
   * usable until detached; it cannot attach again.
   *
   * @example The segment outlives every process until removed
   * ```ts
   * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
   * const shm = SysVSharedMemory.get("private", { create: true, size: 4096 });
   * const bytes = shm.attach();
   * shm.remove(); // gone once detached everywhere
   * bytes[0] = 1; // still usable here until then
   * shm.close();
   * ```
   *
   * @throws {IpcError} `EPERM` when neither owner nor creator, `EINVAL`/`EIDRM` when already
   *   gone, `EBADF` when closed.
   */
  remove(): void {
    this.#use("shmctl(IPC_RMID)");
    check(libc.shmctl(this.#id, C.IPC_RMID, null), "shmctl(IPC_RMID)", this.#where());
    this.#removed = true;
  }

  /**
   * Detaches every attachment of this handle; never removes the segment. Idempotent.
   *
   * @example
   * ```ts
   * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
   * const shm = SysVSharedMemory.get("private", { create: true, size: 4096 });
   * const bytes = shm.attach();
   * shm.remove(); // destroyed at the last detach
   * shm.close(); // detaches: bytes.length is 0 now, and the segment is gone
   * console.log(bytes.length); // 0
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.detach();
  }

  /**
   * Same as `close()`.
   *
   * @example
   * ```ts
   * import { SysVSharedMemory } from "@sysipc/sysipc/shm";
   * let id: number;
   * {
   *   using shm = SysVSharedMemory.get("private", { create: true, size: 4096 });
   *   id = shm.id;
   *   shm.attach();
   *   shm.remove();
   * } // detached here
   * console.log(id >= 0); // true
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  #use(syscall: string): void {
    if (this.#closed) throw IpcError.closed("SysVSharedMemory", syscall);
    if (this.#removed && syscall === "shmat") {
      throw IpcError.of("EIDRM", syscall, this.#where(), "This segment was removed");
    }
  }

  #where(): string {
    return `id ${this.#id}`;
  }
}

function keyText(key: number): string {
  return key === C.IPC_PRIVATE ? "IPC_PRIVATE" : `key 0x${(key >>> 0).toString(16)}`;
}

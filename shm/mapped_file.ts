/**
 * Memory-mapped files: {@linkcode MappedFile}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { type CreateOptions, createOptions, openCreateFlags } from "../ffi/ipc.ts";
import { checkRetry, cString, libc } from "../ffi/libc.ts";
import { checkOptions } from "../ffi/handle.ts";
import { MappedFd } from "./mapped_fd.ts";
import { checkBoolean, checkSize, type Mapping, mapWhole } from "./mapping.ts";

/** Options of {@linkcode MappedFile.open}. */
export interface MappedFileOptions extends CreateOptions {
  /**
   * The size in bytes, 1 or more. Required with `create`. A smaller file is grown to it
   * (with zeros); a larger one keeps its size and is mapped whole (a file is never shrunk:
   * another process may map the rest). Without it, the file's current size is mapped.
   */
  size?: number;
  /**
   * Open for reading only. The view is then a private copy-on-write mapping: writes to it
   * stay in this process and never reach the file. Default `false`.
   */
  readOnly?: boolean;
}

/** Options of {@linkcode MappedFile.sync}. */
export interface SyncOptions {
  /** Schedule the write-back and return (`MS_ASYNC`) instead of waiting for it. Default `false`. */
  async?: boolean;
}

let constructing = false;

/**
 * A regular file mapped into memory, shared (`MAP_SHARED`): what is written to `bytes` is
 * what every other process sees of the file, through its own mapping or through ordinary
 * reads, at once (they share the page cache). `sync()` writes the pages back to the disk
 * (`msync`). `close()` unmaps (every view becomes length 0) and closes the file.
 *
 * Another process that truncates the file while it is mapped makes access past the new end
 * a `SIGBUS`, which ends this process: map files that nobody truncates.
 *
 * @example Write through memory, read with ordinary file I/O
 * ```ts
 * import { MappedFile } from "@sysipc/sysipc/shm";
 * import { mkdtempSync, readFileSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * const dir = mkdtempSync(`${tmpdir()}/mapped-`);
 * using file = MappedFile.open(`${dir}/data`, { create: true, size: 5 });
 * file.bytes.set(new TextEncoder().encode("hello"));
 * file.sync(); // to the disk; other processes see the bytes even before
 * console.log(readFileSync(`${dir}/data`, "utf8")); // "hello"
 * rmSync(dir, { recursive: true });
 * ```
 */
export class MappedFile extends MappedFd {
  #path: string;

  private constructor(fd: number, mapping: Mapping, path: string, readOnly: boolean) {
    if (!constructing) throw new TypeError("MappedFile has no public constructor: use open");
    constructing = false;
    super(fd, "owned", mapping, readOnly);
    this.#path = path;
  }

  /**
   * Opens (and with `create`, creates) a regular file and maps all of it.
   *
   * @example
   * ```ts
   * import { mkdtempSync, readFileSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { MappedFile } from "@sysipc/sysipc/shm";
   * const dir = mkdtempSync(tmpdir() + "/mapped-");
   * using file = MappedFile.open(dir + "/data.bin", { create: true, size: 4 });
   * file.bytes.set([104, 105, 33, 10]);
   * console.log(readFileSync(dir + "/data.bin", "utf8")); // "hi!\n": the file is the memory
   * rmSync(dir, { recursive: true });
   * ```
   *
   * @param path The file's path.
   * @param options `create`, `exclusive`, `mode` (default `0o600`, reduced by the umask),
   *   `size`, `readOnly`.
   * @returns The mapped file.
   * @throws {TypeError} For a path that is not a non-empty string without NUL, options of
   *   the wrong type, `exclusive` without `create`, `create` without `size`, or `size` with
   *   `readOnly`.
   * @throws {RangeError} For a `size` below 1 or above `platform.maxMapping`.
   * @throws {IpcError} `ENOENT`, `EEXIST` (with `exclusive`), `EACCES`, `EISDIR`, `ENODEV`
   *   (not a mappable file), `EINVAL` (an empty file opened without `size`), `ENOMEM`.
   */
  static open(path: string, options?: MappedFileOptions): MappedFile {
    const cPath = cString(path, "path");
    const create = createOptions(options);
    const readOnly = checkBoolean(options?.readOnly, "readOnly");
    const size = options?.size === undefined ? undefined : checkSize(options.size);
    if (create.create && size === undefined) {
      throw new TypeError("size is required with create: true (the size of a new file)");
    }
    if (readOnly && size !== undefined) {
      throw new TypeError("size cannot be combined with readOnly: sizing a file writes it");
    }
    // O_NONBLOCK: opening a FIFO by mistake must not wait for a peer (mmap then says ENODEV).
    const flags = (readOnly ? C.O_RDONLY : C.O_RDWR) | openCreateFlags(create) | C.O_CLOEXEC |
      C.O_NONBLOCK;
    const fd = checkRetry(() => libc.open(cPath, flags, create.mode), "open", path);
    let mapping: Mapping;
    try {
      mapping = mapWhole(fd, size, readOnly, path);
    } catch (e) {
      libc.close(fd);
      throw e;
    }
    constructing = true;
    return new MappedFile(fd, mapping, path, readOnly);
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "MappedFile";
  }

  /**
   * The path it was opened with.
   *
   * @example
   * ```ts
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { MappedFile } from "@sysipc/sysipc/shm";
   * const dir = mkdtempSync(tmpdir() + "/mapped-");
   * using file = MappedFile.open(dir + "/f", { create: true, size: 1 });
   * console.log(file.path.endsWith("/f")); // true
   * rmSync(dir, { recursive: true });
   * ```
   */
  get path(): string {
    return this.#path;
  }

  /**
   * Writes the mapped pages back to the disk (`msync`). Not needed for other processes to
   * see the data (they share the page cache); needed for it to survive a crash of the
   * machine.
   *
   * @example
   * ```ts
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { MappedFile } from "@sysipc/sysipc/shm";
   * const dir = mkdtempSync(tmpdir() + "/mapped-");
   * using file = MappedFile.open(dir + "/journal", { create: true, size: 4096 });
   * file.bytes[0] = 1;
   * file.sync(); // on the disk once this returns
   * file.sync({ async: true }); // or: scheduled
   * rmSync(dir, { recursive: true });
   * ```
   *
   * @param options `async`: schedule the write-back instead of waiting for it.
   * @throws {TypeError} When an option has the wrong type.
   * @throws {IpcError} `EBADF` when closed, `EIO`.
   */
  sync(options?: SyncOptions): void {
    this.use("msync");
    checkOptions(options);
    const async = checkBoolean(options?.async, "async");
    this.msync(async, this.#path);
  }
}

/**
 * Named pipes: {@linkcode mkfifo}, and opening either end of one with the classic
 * blocking-open rule (a reader waits for a writer and a writer for a reader) applied
 * without blocking the event loop.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkInteger } from "../ffi/handle.ts";
import { check, checkRetry, cString, EEXIST, EINTR, ENXIO, errno, libc } from "../ffi/libc.ts";
import { fileMode, fileTypeName } from "../ffi/stat.ts";
import { checkWaitOptions, openAsync, type WaitOptions } from "../ffi/wait/mod.ts";
import {
  checkFlags,
  newPipeReader,
  newPipeWriter,
  type PipeReader,
  type PipeWriter,
} from "../pipe/pipe.ts";

/** Options of {@linkcode mkfifo}. */
export interface MkfifoOptions {
  /** Permission bits, before the process umask applies (as in C). Default `0o600`. */
  mode?: number;
  /**
   * Succeed when `path` is a FIFO already (its mode is left as it is). Something else at
   * `path` still fails with `EEXIST`. Default `false`.
   */
  allowExisting?: boolean;
}

/** Options of the FIFO opens. */
export interface FifoOpenOptions extends WaitOptions {
  /**
   * Open with `O_NONBLOCK`: a reader opens at once, a writer with no reader fails with
   * `ENXIO`, and sync reads and writes fail with `EAGAIN` instead of blocking. Default `false`.
   */
  nonBlocking?: boolean;
}

/** Options of the FIFO reader opens. */
export interface FifoReaderOptions extends FifoOpenOptions {
  /**
   * The reader holds the FIFO open for writing too (`O_RDWR`, which Linux defines for
   * FIFOs), so its reads never reach end of stream when the last writer leaves: they wait
   * for the next writer instead. This is the shape of a server that reads requests from
   * clients that come and go (a job queue): without it, "read until `null`" stops as soon
   * as no writer happens to be open, and jobs written after that are left unread. The
   * open never waits. Default `false`.
   */
  persistent?: boolean;
}

/**
 * Creates a FIFO (named pipe) at `path`.
 *
 * @example
 * ```ts
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { mkfifo } from "@sysipc/sysipc/fifo";
 * const dir = mkdtempSync(tmpdir() + "/example-");
 * mkfifo(dir + "/jobs"); // mode 0600
 * mkfifo(dir + "/jobs", { allowExisting: true }); // already there: fine
 * rmSync(dir, { recursive: true });
 * ```
 *
 * @param path Where to create it.
 * @param options `mode` (default `0o600`, reduced by the umask) and `allowExisting`.
 * @throws {IpcError} `EEXIST` when the path exists (unless it is a FIFO and
 *   `allowExisting` is set), `ENOENT` when its directory does not, `EACCES` without
 *   permission.
 * @throws {TypeError} When `path` is empty or contains a NUL byte, or `options` is not an
 *   object.
 * @throws {RangeError} When `mode` is outside 0 to 0o777 (as everywhere in sysipc: no
 *   set-id or sticky bits).
 */
export function mkfifo(path: string, options?: MkfifoOptions): void {
  const bytes = cString(path, "path");
  checkFlags(options, ["allowExisting"]);
  const mode = options?.mode === undefined ? 0o600 : checkInteger(options.mode, "mode", 0, 0o777);
  if (libc.mkfifo(bytes, mode) === 0) return;
  const e = errno();
  if (e === EEXIST) {
    let existing: number | undefined;
    try {
      existing = fileMode(path) & C.S_IFMT;
    } catch {
      // gone again, or unreadable: report EEXIST as the kernel did
    }
    if (existing === C.S_IFIFO && options?.allowExisting) return;
    if (existing !== undefined && existing !== C.S_IFIFO) {
      throw IpcError.of("EEXIST", "mkfifo", path, `File exists and is ${fileTypeName(existing)}`);
    }
  }
  throw new IpcError({ errno: e, syscall: "mkfifo", path });
}

function checkOpen(path: string, options: FifoReaderOptions | undefined): Uint8Array {
  const bytes = cString(path, "path");
  checkFlags(options, ["nonBlocking", "persistent"]);
  checkWaitOptions(options);
  const mode = fileMode(path);
  if ((mode & C.S_IFMT) !== C.S_IFIFO) {
    throw IpcError.of("EINVAL", "open", path, `Not a FIFO: it is ${fileTypeName(mode)}`);
  }
  return bytes;
}

/** Verifies what was opened (the path may have been replaced since the check). */
function adopt(fd: number, path: string, nonBlocking: boolean): number {
  try {
    const mode = fileMode(fd);
    if ((mode & C.S_IFMT) !== C.S_IFIFO) {
      throw IpcError.of("EINVAL", "open", path, `Not a FIFO: it is ${fileTypeName(mode)}`);
    }
    if (!nonBlocking) {
      const flags = check(libc.fcntl(fd, C.F_GETFL, 0), "fcntl", path);
      if (flags & C.O_NONBLOCK) {
        check(libc.fcntl(fd, C.F_SETFL, flags & ~C.O_NONBLOCK), "fcntl", path);
      }
    }
    return fd;
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}

/** One `open` with `O_NONBLOCK`: the fd, or `undefined` when a writer finds no reader. */
function tryOpen(bytes: Uint8Array, path: string, flags: number): number | undefined {
  while (true) {
    const fd = libc.open(bytes, flags | C.O_NONBLOCK | C.O_CLOEXEC, 0);
    if (fd >= 0) return fd;
    const e = errno();
    if (e === EINTR) continue;
    if (e === ENXIO && (flags & C.O_WRONLY)) return undefined;
    throw new IpcError({ errno: e, syscall: "open", path });
  }
}

async function openEnd(path: string, options: FifoReaderOptions | undefined, flags: number) {
  const bytes = checkOpen(path, options);
  const nonBlocking = options?.nonBlocking === true;
  const context = { syscall: "open", path };
  let fd: number;
  if (options?.persistent && flags === C.O_RDONLY) {
    fd = checkRetry(() => libc.open(bytes, persistentFlags(options), 0), "open", path);
  } else if (nonBlocking) {
    fd = libc.open(bytes, flags | C.O_NONBLOCK | C.O_CLOEXEC, 0);
    check(fd, "open", path);
  } else if (options?.timeout === 0) {
    const tried = tryOpen(bytes, path, flags);
    if (tried === undefined) throw IpcError.of("EAGAIN", "open", path);
    fd = tried;
  } else {
    // Without io_uring, a reader opens at once (Linux cannot tell whether a writer is
    // there); a writer retries until a reader appears.
    fd = await openAsync(
      bytes,
      flags | C.O_CLOEXEC,
      0,
      () => tryOpen(bytes, path, flags),
      options,
      context,
    );
  }
  return adopt(fd, path, nonBlocking);
}

/** The flags of a persistent reader: `O_RDWR` instead of `O_RDONLY`. */
function persistentFlags(options: { nonBlocking?: boolean }): number {
  return C.O_RDWR | C.O_CLOEXEC | (options.nonBlocking ? C.O_NONBLOCK : 0);
}

/**
 * Opens the read end of a FIFO. As in C, this waits until a writer opens it too (unless
 * `nonBlocking` or `persistent`), but without blocking the event loop.
 *
 * With `timeout: 0` it opens at once without waiting (Linux cannot tell whether a writer is
 * there), as the polling backend also does (`platform.fifoReaderWaitsForWriter`).
 *
 * @example A job queue: writers come and go, the reader keeps reading
 * ```ts
 * import { execFileSync } from "node:child_process";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { mkfifo, openFifoReader } from "@sysipc/sysipc/fifo";
 * const dir = mkdtempSync(tmpdir() + "/example-");
 * mkfifo(dir + "/jobs");
 * using jobs = await openFifoReader(dir + "/jobs", { persistent: true });
 * for (const job of ["job-1", "job-2"]) {
 *   execFileSync("sh", ["-c", `echo ${job} > "$0"`, dir + "/jobs"]); // a writer comes and goes
 * }
 * const buf = new Uint8Array(4096);
 * let text = "";
 * while (!text.endsWith("job-2\n")) {
 *   const n = await jobs.read(buf, { timeout: 5000 });
 *   text += new TextDecoder().decode(buf.subarray(0, n ?? 0));
 * }
 * console.log(text); // "job-1\njob-2\n"
 * rmSync(dir, { recursive: true });
 * ```
 *
 * @param path The FIFO.
 * @param options `persistent`, `nonBlocking`, `timeout` (ms) and `signal`.
 * @returns The reader.
 * @throws {IpcError} `ENOENT`; `EINVAL` when the path is not a FIFO; `ETIMEDOUT` when no
 *   writer came in time.
 * @throws {TypeError} When `path` is empty or contains a NUL byte, or an option has the
 *   wrong type.
 */
export async function openFifoReader(
  path: string,
  options?: FifoReaderOptions,
): Promise<PipeReader> {
  return newPipeReader(await openEnd(path, options, C.O_RDONLY));
}

/**
 * Opens the write end of a FIFO. As in C, this waits until a reader opens it too, but
 * without blocking the event loop; with `nonBlocking` and no reader it fails with `ENXIO`.
 *
 * @example
 * ```ts
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { mkfifo, openFifoReader, openFifoWriter } from "@sysipc/sysipc/fifo";
 * const dir = mkdtempSync(tmpdir() + "/example-");
 * mkfifo(dir + "/out");
 * const [reader, writer] = await Promise.all([
 *   openFifoReader(dir + "/out"),
 *   openFifoWriter(dir + "/out"),
 * ]);
 * await writer.write("hi");
 * writer.close();
 * console.log(await new Response(reader.readable).text()); // "hi"
 * rmSync(dir, { recursive: true });
 * ```
 *
 * @param path The FIFO.
 * @param options `nonBlocking`, `timeout` (ms) and `signal`.
 * @returns The writer.
 * @throws {IpcError} `ENXIO` when `nonBlocking` and no reader is there; `ENOENT`;
 *   `EINVAL` when the path is not a FIFO; `ETIMEDOUT`; `EAGAIN` when `timeout` is 0 and
 *   no reader is there.
 * @throws {TypeError} When `path` is empty or contains a NUL byte.
 */
export async function openFifoWriter(
  path: string,
  options?: FifoOpenOptions,
): Promise<PipeWriter> {
  return newPipeWriter(await openEnd(path, options, C.O_WRONLY));
}

function openEndSync(
  path: string,
  options: { nonBlocking?: boolean; persistent?: boolean } | undefined,
  flags: number,
) {
  const bytes = checkOpen(path, options);
  const nonBlocking = options?.nonBlocking === true;
  const all = options?.persistent && flags === C.O_RDONLY
    ? persistentFlags(options)
    : flags | C.O_CLOEXEC | (nonBlocking ? C.O_NONBLOCK : 0);
  const fd = checkRetry(() => libc.open(bytes, all, 0), "open", path);
  return adopt(fd, path, nonBlocking);
}

/**
 * Opens the read end of a FIFO, blocking the calling thread until a writer opens it
 * (unless `nonBlocking` or `persistent`).
 *
 * @example
 * ```ts
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { mkfifo, openFifoReaderSync, openFifoWriterSync } from "@sysipc/sysipc/fifo";
 * const dir = mkdtempSync(tmpdir() + "/fifo-");
 * mkfifo(dir + "/f");
 * using reader = openFifoReaderSync(dir + "/f", { nonBlocking: true }); // does not wait
 * using writer = openFifoWriterSync(dir + "/f"); // a reader is there: opens at once
 * writer.writeSync("sync");
 * console.log(reader.readSync(new Uint8Array(8))); // 4
 * rmSync(dir, { recursive: true });
 * ```
 *
 * @param path The FIFO.
 * @param options `nonBlocking` and `persistent` (see {@linkcode FifoReaderOptions}).
 * @returns The reader.
 * @throws {IpcError} `ENOENT`; `EINVAL` when the path is not a FIFO.
 * @throws {TypeError} When `path` is empty or contains a NUL byte.
 */
export function openFifoReaderSync(
  path: string,
  options?: { nonBlocking?: boolean; persistent?: boolean },
): PipeReader {
  return newPipeReader(openEndSync(path, options, C.O_RDONLY));
}

/**
 * Opens the write end of a FIFO, blocking the calling thread until a reader opens it
 * (with `nonBlocking`, failing with `ENXIO` instead).
 *
 * @example A non-blocking writer with no reader fails with ENXIO
 * ```ts
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { mkfifo, openFifoWriterSync } from "@sysipc/sysipc/fifo";
 * const dir = mkdtempSync(tmpdir() + "/fifo-");
 * mkfifo(dir + "/f");
 * try {
 *   openFifoWriterSync(dir + "/f", { nonBlocking: true });
 * } catch (e) {
 *   console.log((e as { code?: string }).code); // "ENXIO"
 * }
 * rmSync(dir, { recursive: true });
 * ```
 *
 * @param path The FIFO.
 * @param options `nonBlocking`.
 * @returns The writer.
 * @throws {IpcError} `ENXIO` when `nonBlocking` and no reader is there; `ENOENT`;
 *   `EINVAL` when the path is not a FIFO.
 * @throws {TypeError} When `path` is empty or contains a NUL byte.
 */
export function openFifoWriterSync(path: string, options?: { nonBlocking?: boolean }): PipeWriter {
  return newPipeWriter(openEndSync(path, options, C.O_WRONLY));
}

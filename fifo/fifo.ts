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
import { check, checkRetry, cString, EINTR, ENXIO, errno, libc } from "../ffi/libc.ts";
import { fileMode, fileTypeName } from "../ffi/stat.ts";
import { checkWaitOptions, openAsync, type WaitOptions } from "../ffi/wait.ts";
import { PipeReader, PipeWriter } from "../pipe/pipe.ts";

/** Options of {@linkcode mkfifo}. */
export interface MkfifoOptions {
  /** Permission bits, before the process umask applies (as in C). Default `0o600`. */
  mode?: number;
}

/** Options of the FIFO opens. */
export interface FifoOpenOptions extends WaitOptions {
  /**
   * Open with `O_NONBLOCK`: a reader opens at once, a writer with no reader fails with
   * `ENXIO`, and sync reads and writes fail with `EAGAIN` instead of blocking. Default `false`.
   */
  nonBlocking?: boolean;
}

/**
 * Creates a FIFO (named pipe) at `path`.
 *
 * @example
 * ```ts
 * import { mkfifo } from "@sysipc/sysipc/fifo";
 * const path = await Deno.makeTempDir() + "/jobs";
 * mkfifo(path, { mode: 0o600 });
 * ```
 *
 * @param path Where to create it.
 * @param options `mode` (default `0o600`, reduced by the umask).
 * @throws {IpcError} `EEXIST` when the path exists, `ENOENT` when its directory does not,
 *   `EACCES` without permission.
 * @throws {TypeError} When `path` is empty or contains a NUL byte.
 * @throws {RangeError} When `mode` is outside 0 to 0o7777.
 */
export function mkfifo(path: string, options?: MkfifoOptions): void {
  const bytes = cString(path, "path");
  const mode = options?.mode === undefined ? 0o600 : checkInteger(options.mode, "mode", 0, 0o7777);
  check(libc.mkfifo(bytes, mode), "mkfifo", path);
}

function checkOpen(path: string, options: FifoOpenOptions | undefined): Uint8Array {
  const bytes = cString(path, "path");
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

async function openEnd(path: string, options: FifoOpenOptions | undefined, flags: number) {
  const bytes = checkOpen(path, options);
  const nonBlocking = options?.nonBlocking === true;
  const context = { syscall: "open", path };
  let fd: number;
  if (nonBlocking) {
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

/**
 * Opens the read end of a FIFO. As in C, this waits until a writer opens it too (unless
 * `nonBlocking`), but without blocking the event loop.
 *
 * With `timeout: 0` it opens at once without waiting (Linux cannot tell whether a writer is
 * there), as the polling backend also does (`platform.fifoReaderWaitsForWriter`).
 *
 * @example
 * ```ts
 * import { mkfifo, openFifoReader } from "@sysipc/sysipc/fifo";
 * const path = await Deno.makeTempDir() + "/in";
 * mkfifo(path);
 * using reader = await openFifoReader(path, { nonBlocking: true });
 * ```
 *
 * @param path The FIFO.
 * @param options `nonBlocking`, `timeout` (ms) and `signal`.
 * @returns The reader.
 * @throws {IpcError} `ENOENT`; `EINVAL` when the path is not a FIFO; `ETIMEDOUT` when no
 *   writer came in time.
 * @throws {TypeError} When `path` is empty or contains a NUL byte.
 */
export async function openFifoReader(
  path: string,
  options?: FifoOpenOptions,
): Promise<PipeReader> {
  return new PipeReader(await openEnd(path, options, C.O_RDONLY));
}

/**
 * Opens the write end of a FIFO. As in C, this waits until a reader opens it too, but
 * without blocking the event loop; with `nonBlocking` and no reader it fails with `ENXIO`.
 *
 * @example
 * ```ts
 * import { mkfifo, openFifoReader, openFifoWriter } from "@sysipc/sysipc/fifo";
 * const path = await Deno.makeTempDir() + "/out";
 * mkfifo(path);
 * const [reader, writer] = await Promise.all([openFifoReader(path), openFifoWriter(path)]);
 * await writer.write("hi");
 * writer.close();
 * reader.close();
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
  return new PipeWriter(await openEnd(path, options, C.O_WRONLY));
}

function openEndSync(path: string, options: { nonBlocking?: boolean } | undefined, flags: number) {
  const bytes = checkOpen(path, undefined);
  const nonBlocking = options?.nonBlocking === true;
  const extra = C.O_CLOEXEC | (nonBlocking ? C.O_NONBLOCK : 0);
  const fd = checkRetry(() => libc.open(bytes, flags | extra, 0), "open", path);
  return adopt(fd, path, nonBlocking);
}

/**
 * Opens the read end of a FIFO, blocking the calling thread until a writer opens it
 * (unless `nonBlocking`).
 *
 * @param path The FIFO.
 * @param options `nonBlocking`.
 * @returns The reader.
 * @throws {IpcError} `ENOENT`; `EINVAL` when the path is not a FIFO.
 * @throws {TypeError} When `path` is empty or contains a NUL byte.
 */
export function openFifoReaderSync(path: string, options?: { nonBlocking?: boolean }): PipeReader {
  return new PipeReader(openEndSync(path, options, C.O_RDONLY));
}

/**
 * Opens the write end of a FIFO, blocking the calling thread until a reader opens it
 * (with `nonBlocking`, failing with `ENXIO` instead).
 *
 * @param path The FIFO.
 * @param options `nonBlocking`.
 * @returns The writer.
 * @throws {IpcError} `ENXIO` when `nonBlocking` and no reader is there; `ENOENT`;
 *   `EINVAL` when the path is not a FIFO.
 * @throws {TypeError} When `path` is empty or contains a NUL byte.
 */
export function openFifoWriterSync(path: string, options?: { nonBlocking?: boolean }): PipeWriter {
  return new PipeWriter(openEndSync(path, options, C.O_WRONLY));
}

/**
 * Named pipes (FIFOs): {@linkcode mkfifo}, and opening either end with C's rules (an open
 * waits for the peer; a non-blocking writer with no reader gets `ENXIO`; reads end with
 * `null` once every writer has closed; writing with no reader left throws `EPIPE`), with
 * waits that never block the event loop.
 *
 * @example Two processes meet at a FIFO
 * ```ts
 * import { mkfifo, openFifoReader } from "@sysipc/sysipc/fifo";
 * const path = await Deno.makeTempDir() + "/jobs";
 * mkfifo(path);
 * // Another process: `echo job-1 > "$path"`
 * const reader = await openFifoReader(path, { timeout: 10 }).catch(() => null);
 * reader?.close();
 * ```
 *
 * @module
 */
export {
  type FifoOpenOptions,
  mkfifo,
  type MkfifoOptions,
  openFifoReader,
  openFifoReaderSync,
  openFifoWriter,
  openFifoWriterSync,
} from "./fifo.ts";
export { PipeReader, PipeWriter } from "../pipe/pipe.ts";
export { FdHandle } from "../ffi/handle.ts";

/**
 * Named pipes (FIFOs): {@linkcode mkfifo}, and opening either end with C's rules (an open
 * waits for the peer; a non-blocking writer with no reader gets `ENXIO`; reads end with
 * `null` once every writer has closed; writing with no reader left throws `EPIPE`), with
 * waits that never block the event loop.
 *
 * @example Two processes meet at a FIFO
 * ```ts
 * import { spawn as nodeSpawn } from "node:child_process";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { mkfifo, openFifoReader } from "@sysipc/sysipc/fifo";
 * const dir = mkdtempSync(tmpdir() + "/example-");
 * const path = dir + "/jobs";
 * mkfifo(path);
 * // Another process writes into it: here a shell.
 * nodeSpawn("sh", ["-c", `echo job-1 > "$0"`, path], { stdio: "ignore" });
 * using reader = await openFifoReader(path, { timeout: 10_000 }); // waits for the writer
 * console.log(await new Response(reader.readable).text()); // "job-1\n"
 * rmSync(dir, { recursive: true });
 * ```
 *
 * @module
 */
export {
  type FifoOpenOptions,
  type FifoReaderOptions,
  mkfifo,
  type MkfifoOptions,
  openFifoReader,
  openFifoReaderSync,
  openFifoWriter,
  openFifoWriterSync,
} from "./fifo.ts";
export { PipeReader, PipeWriter } from "../pipe/pipe.ts";
export { FdHandle } from "../ffi/handle.ts";

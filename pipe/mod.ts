/**
 * Anonymous pipes, and {@linkcode spawn} to hand a pipe end (or any descriptor) to a child
 * process at a chosen fd number.
 *
 * @example A child reads what the parent writes into fd 3
 * ```ts
 * import { pipe, spawn } from "@sysipc/sysipc/pipe";
 * const [reader, writer] = pipe();
 * const child = spawn("sh", ["-c", "read line <&3; echo \"child got: $line\""], {
 *   fds: { 3: reader },
 * });
 * reader.close();
 * await writer.write("hello\n");
 * writer.close();
 * await child.status;
 * ```
 *
 * @module
 */
export { FdHandle } from "../ffi/handle.ts";
export { pipe, type PipeOptions, PipeReader, PipeWriter } from "./pipe.ts";
export {
  type Child,
  type ChildStatus,
  type FdSource,
  spawn,
  type SpawnOptions,
  type Stdio,
} from "./spawn.ts";

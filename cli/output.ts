/**
 * What the command line writes, and the exit statuses it ends with.
 *
 * @module
 */
import { EINTR, errno, libc } from "../ffi/libc.ts";

/**
 * The exit statuses `sysipc` itself uses; a command run by `sysipc run` exits with its own,
 * and `sysipc bench` with the benchmark suite's.
 *
 * @example A script that cleans up only when something is stale
 * ```ts
 * import { EXIT, main } from "@sysipc/sysipc/cli";
 * const status = main(["doctor", "--kind", "sysv-sem"]);
 * if (status === EXIT.stale) console.log("stale semaphore sets: run sysipc doctor --clean");
 * ```
 */
export const EXIT = {
  /** Success (and `--help`); `doctor`: nothing stale, or `--clean` removed all it found. */
  ok: 0,
  /** A system call failed (permission denied, a limit), or `doctor --clean` could not remove an object. */
  failed: 1,
  /** No command, an unknown one, or a bad option or argument. */
  usage: 2,
  /** `stat`, `rm`, `send`, `recv`: no such object. */
  noSuchObject: 3,
  /** `send`, `recv`: the timeout passed (or, with `--timeout 0`, the queue was full or empty). */
  timedOut: 4,
  /** `doctor` without `--clean`: stale objects were found. */
  stale: 5,
  /** `sysipc run` failed before running the command (a bad option or signal). */
  runFailed: 125,
  /** `sysipc run`: the command was found but could not be run (not executable, say). */
  cannotRun: 126,
  /** `sysipc run`: the command was not found. */
  notFound: 127,
} as const;

/**
 * Writes bytes or text to fd 1 or 2 at once (a synchronous write: `process.exit` may follow).
 *
 * @param fd 1 or 2.
 * @param text What to write.
 */
export function say(fd: number, text: string | Uint8Array): void {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  for (let done = 0; done < bytes.length;) {
    const n = libc.write(fd, bytes.subarray(done), bytes.length - done);
    if (n < 0 && errno() === EINTR) continue;
    if (n <= 0) return; // nowhere to report it
    done += n;
  }
}

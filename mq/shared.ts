/**
 * What the two queue kinds share: reading the system limits an error needs to name, and
 * keeping a handle's async sends in call order.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { EINTR, errno, libc, stableCString } from "../ffi/libc.ts";
import { rlimit } from "../ffi/structs.ts";
import { track, type WaitContext } from "../ffi/wait/track.ts";
import type { WaitOptions } from "../ffi/wait/mod.ts";

const decoder = new TextDecoder();

/**
 * A number from a file such as `/proc/sys/fs/mqueue/msg_max`, read through the C library
 * (so Deno needs no read permission for it).
 *
 * @param path The file.
 * @returns The number, or `undefined` when it cannot be read.
 */
export function readLimit(path: string): number | undefined {
  const fd = libc.open(stableCString(path), C.O_RDONLY | C.O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    const buf = new Uint8Array(64);
    let n: number;
    do n = libc.read(fd, buf, buf.length); while (n < 0 && errno() === EINTR);
    if (n <= 0) return undefined;
    const value = Number(decoder.decode(buf.subarray(0, n)).trim());
    return Number.isFinite(value) ? value : undefined;
  } finally {
    libc.close(fd);
  }
}

/**
 * A resource limit of this process (`getrlimit`), as text for an error message.
 *
 * @param resource `C.RLIMIT_MSGQUEUE`, `C.RLIMIT_NOFILE`, ….
 * @returns The soft limit (`"unlimited"` for none), or `"unknown"`.
 */
export function resourceLimit(resource: number): string {
  const buf = new DataView(new ArrayBuffer(rlimit.size));
  if (libc.getrlimit(resource, buf) !== 0) return "unknown";
  const soft = buf.getBigUint64(rlimit.offsets.rlim_cur, true);
  return soft === 0xffffffffffffffffn ? "unlimited" : String(soft);
}

/**
 * Keeps a handle's async sends in call order: a send starts once the previous one on the
 * same handle is over (sent, failed, timed out or aborted). A send's `timeout` and
 * `signal` count from its call, its time in line included.
 */
export class SendOrder {
  #tail: Promise<void> | null = null;
  #active = 0;

  /**
   * Runs `send` after the sends before it; with `timeout: 0`, throws `EAGAIN` when one
   * is still in line.
   *
   * @param options The send's timeout and signal, for its time in line.
   * @param context Names the operation; the handle's `close()` cancels the wait.
   * @param closed Whether the handle was closed while this send waited in line.
   * @param send The send itself.
   * @returns What `send` returns.
   */
  async run<T>(
    options: WaitOptions | undefined,
    context: WaitContext,
    closed: () => Error | undefined,
    send: () => Promise<T>,
  ): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    const over = new Promise<void>((resolve) => release = resolve);
    this.#tail = previous === null ? over : previous.then(() => over);
    this.#active++;
    try {
      if (previous !== null) {
        if (options?.timeout === 0) throw IpcError.of("EAGAIN", context.syscall, context.path);
        await track<void>(options, context, (settle) => {
          void previous.then(() => settle());
          return (then) => then();
        });
        const error = closed();
        if (error) throw error;
      }
      return await send();
    } finally {
      release();
      if (--this.#active === 0) this.#tail = null;
    }
  }
}

/**
 * What the two queue kinds share: reading the system limits an error needs to name.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { EINTR, errno, libc, stableCString } from "../ffi/libc.ts";
import { rlimit } from "../ffi/structs.ts";

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

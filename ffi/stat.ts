/**
 * File type checks through `statx(2)`, whose layout is the same on every Linux CPU.
 *
 * @module
 */
import { C } from "./constants.ts";
import { check, cString, libc } from "./libc.ts";
import { statx } from "./structs.ts";

const buffer = new DataView(new ArrayBuffer(statx.size));
const empty = new Uint8Array(new ArrayBuffer(1));

/**
 * The `st_mode` of a path (following symlinks) or of an open descriptor.
 *
 * @param target A path, or an open descriptor.
 * @param what The argument's name, for errors.
 * @returns The mode bits, file type included.
 * @throws {IpcError} `ENOENT` and the like, from `statx`.
 */
export function fileMode(target: string | number, what = "path"): number {
  const r = typeof target === "number"
    ? libc.statx(target, empty, C.AT_EMPTY_PATH, C.STATX_TYPE | C.STATX_MODE, buffer)
    : libc.statx(C.AT_FDCWD, cString(target, what), 0, C.STATX_TYPE | C.STATX_MODE, buffer);
  check(r, "statx", typeof target === "string" ? target : undefined);
  return buffer.getUint16(statx.offsets.stx_mode, true);
}

/**
 * A human name for a file type, for messages.
 *
 * @param mode `st_mode` bits.
 * @returns `"a FIFO"`, `"a regular file"`, `"a directory"`, …
 */
export function fileTypeName(mode: number): string {
  switch (mode & C.S_IFMT) {
    case C.S_IFIFO:
      return "a FIFO";
    case C.S_IFREG:
      return "a regular file";
    case C.S_IFDIR:
      return "a directory";
    case C.S_IFSOCK:
      return "a socket";
    case C.S_IFLNK:
      return "a symbolic link";
    case C.S_IFCHR:
      return "a character device";
    case C.S_IFBLK:
      return "a block device";
    default:
      return "of an unknown type";
  }
}

/**
 * The inode number of an open descriptor, to tell whether an fd number still refers to
 * the file it did.
 *
 * @param fd The descriptor.
 * @returns The inode number, or `-1n` when `fd` is not open.
 */
export function inodeOf(fd: number): bigint {
  if (libc.statx(fd, empty, C.AT_EMPTY_PATH, C.STATX_INO, buffer) !== 0) return -1n;
  return buffer.getBigUint64(statx.offsets.stx_ino, true);
}

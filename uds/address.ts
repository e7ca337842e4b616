/**
 * Unix socket addresses: checking what callers give, encoding it as a `sockaddr_un`, and
 * reading one back; the socket file a bound socket created; and the errors of `bind` and
 * `connect`, told apart by what is at the address.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { errnoName, IpcError } from "../ffi/errors.ts";
import { checkInteger } from "../ffi/handle.ts";
import { check, cString, describeValue, errno, libc, stableCString } from "../ffi/libc.ts";
import { fileTypeName } from "../ffi/stat.ts";
import { sockaddrUn, statx } from "../ffi/structs.ts";

/** A socket type: a byte stream, ordered messages on a connection, or datagrams. */
export type SocketType = "stream" | "seqpacket" | "dgram";

/** The kernel's number for each socket type. */
export const SOCKET_TYPES: Readonly<Record<SocketType, number>> = {
  stream: C.SOCK_STREAM,
  seqpacket: C.SOCK_SEQPACKET,
  dgram: C.SOCK_DGRAM,
};

/**
 * Where a Unix socket is: a filesystem `path`, or a Linux `abstract` name (no file; any
 * process in the same network namespace can reach it, there are no permissions). Give
 * exactly one.
 */
export interface UnixAddress {
  /** A filesystem path, at most 107 bytes of UTF-8. */
  path?: string;
  /** A Linux abstract name, 1 to 107 bytes of UTF-8. */
  abstract?: string;
}

/** An address, checked and encoded. */
export interface Address {
  /** The `sockaddr_un`, over an `ArrayBuffer` of its own. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** The length to pass with it. */
  readonly length: number;
  /** The filesystem path, for a path address. */
  readonly path?: string;
  /** The abstract name, for an abstract address. */
  readonly abstract?: string;
  /** The address as a string: the path, or `"\0"` and the abstract name. */
  readonly text: string;
  /** How errors show it: the path, or `@` and the abstract name. */
  readonly display: string;
}

const SUN_PATH = sockaddrUn.offsets.sun_path;
/** Bytes a name may have: `sun_path` less the NUL of a path, or the NUL that marks an abstract name. */
export const MAX_NAME = sockaddrUn.size - SUN_PATH - 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encode(name: Uint8Array, abstract: boolean, fields: Partial<Address>): Address {
  const bytes = new Uint8Array(new ArrayBuffer(sockaddrUn.size));
  new DataView(bytes.buffer).setUint16(sockaddrUn.offsets.sun_family, C.AF_UNIX, true);
  bytes.set(name, SUN_PATH + (abstract ? 1 : 0));
  // A path's length counts its NUL; an abstract name's counts the leading NUL, no other.
  const length = SUN_PATH + 1 + name.length;
  const text = abstract ? `\0${fields.abstract}` : fields.path!;
  const display = abstract ? `@${fields.abstract}` : fields.path!;
  return { bytes, length, text, display, ...fields };
}

function checkLength(name: Uint8Array, what: string): void {
  if (name.length > MAX_NAME) {
    throw new RangeError(
      `${what} is ${name.length} bytes long, but a Unix socket address holds at most ` +
        `${MAX_NAME} bytes (sun_path)${
          what === "path"
            ? ": use a shorter path, such as one relative to the working directory"
            : ""
        }`,
    );
  }
}

/**
 * Checks and encodes an address given as `{ path }` or `{ abstract }`.
 *
 * @param address The caller's value.
 * @returns The encoded address.
 * @throws {TypeError} When neither or both are given, or one is not a usable string.
 * @throws {RangeError} When the name is longer than `sun_path` holds.
 */
export function toAddress(address: UnixAddress): Address {
  const { path, abstract } = address;
  if (path !== undefined && abstract !== undefined) {
    throw new TypeError("Give either path or abstract, not both");
  }
  if (path !== undefined) {
    const name = cString(path, "path").subarray(0, -1);
    checkLength(name, "path");
    return encode(name, false, { path });
  }
  if (abstract !== undefined) {
    if (typeof abstract !== "string") {
      throw new TypeError(`abstract must be a string, got ${describeValue(abstract)}`);
    }
    if (abstract.length === 0) throw new TypeError("abstract must not be empty");
    const name = encoder.encode(abstract);
    checkLength(name, "abstract");
    return encode(name, true, { abstract });
  }
  throw new TypeError("An address needs path or abstract");
}

/**
 * Checks and encodes an address given as a string (a path, or `"\0"` followed by an
 * abstract name, as Node.js, Python and Bun spell it) or as `{ path }` / `{ abstract }`.
 *
 * @param address The caller's value.
 * @returns The encoded address.
 * @throws {TypeError} For anything else.
 * @throws {RangeError} When the name is too long.
 */
export function parseAddress(address: unknown): Address {
  if (typeof address === "string") {
    return address.startsWith("\0")
      ? toAddress({ abstract: address.slice(1) })
      : toAddress({ path: address });
  }
  if (typeof address !== "object" || address === null) {
    throw new TypeError(
      `address must be a string or { path } or { abstract }, got ${describeValue(address)}`,
    );
  }
  return toAddress(address as UnixAddress);
}

/**
 * Reads a `sockaddr_un` the kernel filled in.
 *
 * @param bytes The buffer.
 * @param length The length the kernel reported.
 * @returns The path, `"\0"` and the abstract name, or `undefined` for an unnamed socket.
 */
export function decodeAddress(bytes: Uint8Array, length: number): string | undefined {
  if (length <= SUN_PATH) return undefined;
  const name = bytes.subarray(SUN_PATH, Math.min(length, sockaddrUn.size));
  if (name[0] === 0) return `\0${decoder.decode(name.subarray(1))}`;
  const end = name.indexOf(0);
  return decoder.decode(end < 0 ? name : name.subarray(0, end));
}

/**
 * Checks a socket type option.
 *
 * @param type The caller's value.
 * @param allowed The types this call accepts.
 * @returns The type (`"stream"` when `undefined`).
 * @throws {TypeError} For any other value.
 */
export function checkType(type: unknown, allowed: readonly SocketType[]): SocketType {
  if (type === undefined) return "stream";
  if (!allowed.includes(type as SocketType)) {
    throw new TypeError(
      `type must be ${allowed.map((t) => `"${t}"`).join(" or ")}, got ${describeValue(type)}` +
        (type === "dgram" ? ": use UnixDatagram for datagrams" : ""),
    );
  }
  return type as SocketType;
}

/**
 * Checks a permission mode option.
 *
 * @param mode The caller's value.
 * @param address Where the socket goes (abstract names have no permissions).
 * @returns The mode (`0o600` when `undefined`).
 * @throws {TypeError} For a mode with an abstract name.
 * @throws {RangeError} Outside 0 to 0o777.
 */
export function checkMode(mode: unknown, address: Address): number {
  if (mode === undefined) return 0o600;
  if (address.abstract !== undefined) {
    throw new TypeError(
      "mode applies to socket files only: an abstract name has no permissions " +
        "(any process in the network namespace can connect to it)",
    );
  }
  return checkInteger(mode, "mode", 0, 0o777);
}

/** The `statx` buffer and an empty path, for {@linkcode fileId}. */
const stx = new DataView(new ArrayBuffer(statx.size));

/**
 * What is at a path, without following a final symbolic link.
 *
 * @param path The path.
 * @returns Its type bits (`S_IFSOCK`, …) and inode number, or `undefined` when nothing is
 *   there (or it cannot be looked at). The whole `statx` result stays in `stx`.
 */
function fileId(path: string): { type: number; ino: bigint } | undefined {
  const r = libc.statx(
    C.AT_FDCWD,
    cString(path, "path"),
    C.AT_SYMLINK_NOFOLLOW,
    C.STATX_TYPE | C.STATX_MODE | C.STATX_INO,
    stx,
  );
  if (r !== 0) return undefined;
  return {
    type: stx.getUint16(statx.offsets.stx_mode, true) & C.S_IFMT,
    ino: stx.getBigUint64(statx.offsets.stx_ino, true),
  };
}

/**
 * The socket file a bound socket created, removed again only if it is still that file
 * (never a newer listener's file, nor something put there since).
 */
export class SocketFile {
  readonly #path: string;
  readonly #ino: bigint | undefined;

  /**
   * Remembers the file `bind` just created at `path`, and gives it exactly `mode`. The
   * kernel created it with the socket's own mode (set to `mode` before `bind`) reduced by
   * the umask, so this only ever opens it up to what was asked, never further. The file is
   * changed through a descriptor of it, opened without following a symbolic link and
   * checked to be that socket file, so a path replaced in between is left alone.
   *
   * @param path The path `bind` created.
   * @param mode The permission bits it is to have.
   * @throws {IpcError} When its mode cannot be set.
   */
  constructor(path: string, mode: number) {
    this.#path = path;
    const id = fileId(path);
    this.#ino = id?.type === C.S_IFSOCK ? id.ino : undefined;
    if (
      this.#ino === undefined || (stx.getUint16(statx.offsets.stx_mode, true) & 0o7777) === mode
    ) {
      return;
    }
    const fd = libc.open(cString(path, "path"), C.O_PATH | C.O_NOFOLLOW | C.O_CLOEXEC, 0);
    if (fd < 0) throw new IpcError({ errno: errno(), syscall: "open", path });
    try {
      const r = libc.statx(
        fd,
        new Uint8Array(new ArrayBuffer(1)),
        C.AT_EMPTY_PATH,
        C.STATX_TYPE | C.STATX_INO,
        stx,
      );
      const same = r === 0 &&
        (stx.getUint16(statx.offsets.stx_mode, true) & C.S_IFMT) === C.S_IFSOCK &&
        stx.getBigUint64(statx.offsets.stx_ino, true) === this.#ino;
      if (same) check(libc.chmod(stableCString(`/proc/self/fd/${fd}`), mode), "chmod", path);
    } finally {
      libc.close(fd);
    }
  }

  /** Removes the file if it is still the one `bind` created. */
  remove(): void {
    if (this.#ino === undefined) return;
    const id = fileId(this.#path);
    if (id?.type === C.S_IFSOCK && id.ino === this.#ino) libc.unlink(cString(this.#path, "path"));
  }
}

/**
 * Removes the socket file at `address` if nothing is bound to it any more (a listener that
 * ended without closing left it behind): a connect to it is refused.
 *
 * @param address A path address.
 * @returns Whether a stale socket file was removed.
 */
export function removeStale(address: Address): boolean {
  const before = fileId(address.path!);
  if (before?.type !== C.S_IFSOCK) return false;
  const probe = libc.socket(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0);
  if (probe < 0) return false;
  const refused = libc.connect(probe, address.bytes, address.length) !== 0 &&
    errnoName(errno()) === "ECONNREFUSED";
  libc.close(probe);
  if (!refused || fileId(address.path!)?.ino !== before.ino) return false;
  return libc.unlink(cString(address.path!, "path")) === 0;
}

/**
 * The error of a failed `bind`, saying what is in the way.
 *
 * @param errno The errno `bind` set.
 * @param address Where it was binding.
 * @returns The error.
 */
export function bindError(errno: number, address: Address): IpcError {
  const code = errnoName(errno);
  let detail: string | undefined;
  if (code === "EADDRINUSE") {
    if (address.abstract !== undefined) {
      detail = "Address already in use: another socket has this abstract name";
    } else {
      const id = fileId(address.path!);
      detail = id === undefined || id.type === C.S_IFSOCK
        ? "Address already in use: a socket file is already there (a listener runs, or a " +
          "stale file was left behind: remove it first, or pass replaceStale)"
        : `Address already in use: the path exists and is ${fileTypeName(id.type)}, not a socket`;
    }
  } else if (code === "ENOENT") {
    detail = "No such file or directory: the socket's directory does not exist";
  }
  return new IpcError({ errno, syscall: "bind", path: address.display, detail });
}

/**
 * The error of a failed `connect` or `sendto`, saying what is (not) at the address.
 *
 * @param errno The errno the call set.
 * @param address The address.
 * @param syscall The call.
 * @returns The error.
 */
export function peerError(errno: number, address: Address, syscall: string): IpcError {
  const code = errnoName(errno);
  let detail: string | undefined;
  if (code === "ECONNREFUSED") {
    if (address.abstract !== undefined) {
      detail = "Connection refused: no socket has this abstract name";
    } else {
      const id = fileId(address.path!);
      detail = id !== undefined && id.type !== C.S_IFSOCK
        ? `Connection refused: the path is ${fileTypeName(id.type)}, not a socket`
        : "Connection refused: no socket is bound to this file (it was closed, or is a stale file)";
    }
  } else if (code === "ENOENT") {
    detail = "No such file or directory: no socket file at this path";
  } else if (code === "EPROTOTYPE") {
    detail = "Protocol wrong type for socket: the socket at this address has another type";
  }
  return new IpcError({ errno, syscall, path: address.display, detail });
}

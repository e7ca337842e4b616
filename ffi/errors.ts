/**
 * `IpcError`, the one error type for failed system calls, and the helpers every call site
 * uses to turn a failing return value into one.
 *
 * @module
 */

/** errno names on Linux, by number (the kernel's asm-generic/errno*.h). */
const LINUX_ERRNO_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  const list =
    "EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP - ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE ERFKILL EHWPOISON"
      .split(" ");
  list.forEach((name, i) => names[i + 1] = name === "-" ? "" : name);
  return names;
})();

/** Other names glibc defines for the same values. */
const LINUX_ERRNO_ALIASES: Record<string, number> = { EWOULDBLOCK: 11, EDEADLOCK: 35, ENOTSUP: 95 };

const LINUX_ERRNO_NUMBERS: ReadonlyMap<string, number> = new Map([
  ...LINUX_ERRNO_NAMES.flatMap((name, n) => (name ? [[name, n] as [string, number]] : [])),
  ...Object.entries(LINUX_ERRNO_ALIASES),
]);

/**
 * The symbolic name of an errno value (`11` → `"EAGAIN"`); `"E<n>"` when unknown.
 *
 * @example
 * ```ts
 * import { errnoName } from "@sysipc/sysipc/ffi";
 * console.log(errnoName(11), errnoName(2), errnoName(4095)); // "EAGAIN" "ENOENT" "E4095"
 * ```
 *
 * @param errno The errno value.
 * @returns Its name, such as `"EAGAIN"`, or `"E<n>"` for a value Linux does not define.
 */
export function errnoName(errno: number): string {
  checkErrno(errno, "errno");
  return LINUX_ERRNO_NAMES[errno] || `E${errno}`;
}

/**
 * The errno value of a symbolic name (`"EAGAIN"` → `11`; aliases such as `"EWOULDBLOCK"` too).
 *
 * @example
 * ```ts
 * import { errnoNumber } from "@sysipc/sysipc/ffi";
 * console.log(errnoNumber("EAGAIN"), errnoNumber("EWOULDBLOCK")); // 11 11
 * ```
 *
 * @param code The errno name, such as `"EAGAIN"`.
 * @returns Its value.
 * @throws {TypeError} For a name Linux does not define.
 */
export function errnoNumber(code: string): number {
  if (typeof code !== "string") throw new TypeError(`code must be a string, got ${typeof code}`);
  const n = LINUX_ERRNO_NUMBERS.get(code);
  if (n === undefined) throw new TypeError(`code is an unknown errno name: ${code}`);
  return n;
}

function checkErrno(errno: unknown, what: string): void {
  if (typeof errno !== "number" || !Number.isInteger(errno)) {
    throw new TypeError(`${what} must be an integer, got ${typeof errno} ${String(errno)}`);
  }
  if (errno < 0 || errno > 4095) {
    throw new RangeError(`${what} must be between 0 and 4095, got ${errno}`);
  }
}

let describe: (errno: number) => string = (errno) => `errno ${errno}`;

/** Installs the errno → text function (libc's `strerror`, once libc is open). */
export function setErrnoDescriber(fn: (errno: number) => string): void {
  describe = fn;
}

/** What an {@linkcode IpcError} is built from. */
export interface IpcErrorInit {
  /** The errno value. */
  errno: number;
  /** The C function or system call that failed. */
  syscall: string;
  /** The path or name the call was about. */
  path?: string;
  /** Replaces the C library's description of the errno in the message. */
  detail?: string;
}

/**
 * A failed C library call, with Node-style fields.
 *
 * @example Telling errors apart
 * ```ts
 * import { IpcError } from "@sysipc/sysipc";
 * try {
 *   throw new IpcError({ errno: 2, syscall: "open", path: "/nope" });
 * } catch (e) {
 *   if (e instanceof IpcError && e.code === "ENOENT") console.log(e.message);
 * }
 * ```
 */
export class IpcError extends Error {
  /** The errno name, such as `"EAGAIN"`. */
  readonly code: string;
  /** The errno value. */
  readonly errno: number;
  /** The C function or system call that failed. */
  readonly syscall: string;
  /** The path or name the call was about, if any. */
  readonly path?: string;
  /**
   * Set when a write failed after part of the data was written: how many bytes were
   * (the rest was not), so that nothing is lost without the caller knowing.
   */
  declare bytesWritten?: number;

  /**
   * Builds the error; the message reads like `EEXIST: File exists, shm_open '/jobs'`.
   *
   * @example
   * ```ts
   * import { IpcError } from "@sysipc/sysipc";
   * const e = new IpcError({ errno: 17, syscall: "shm_open", path: "/jobs" });
   * console.log(e.message, e.code); // "EEXIST: File exists, shm_open '/jobs'" "EEXIST"
   * ```
   *
   * @param init The errno, the failed call, and optionally the path and a detail.
   */
  constructor(init: IpcErrorInit) {
    if (typeof init !== "object" || init === null) throw new TypeError("init must be an object");
    checkErrno(init.errno, "init.errno");
    for (const field of ["syscall", "path", "detail"] as const) {
      const value = init[field];
      if ((value !== undefined || field === "syscall") && typeof value !== "string") {
        throw new TypeError(`init.${field} must be a string, got ${typeof value}`);
      }
    }
    const code = errnoName(init.errno);
    const text = init.detail ?? describe(init.errno);
    super(`${code}: ${text}, ${init.syscall}${init.path === undefined ? "" : ` '${init.path}'`}`);
    this.name = "IpcError";
    this.code = code;
    this.errno = init.errno;
    this.syscall = init.syscall;
    if (init.path !== undefined) this.path = init.path;
  }

  /**
   * The error a closed handle gives: code `EBADF`.
   *
   * @example
   * ```ts
   * import { IpcError } from "@sysipc/sysipc";
   * console.log(IpcError.closed("PipeReader", "read").message); // "EBADF: PipeReader is closed, read"
   * ```
   *
   * @param what What was used, such as `"PipeReader"`.
   * @param syscall The operation that was attempted.
   * @returns The error to throw.
   */
  static closed(what: string, syscall: string): IpcError {
    if (typeof what !== "string") throw new TypeError(`what must be a string, got ${typeof what}`);
    return new IpcError({
      errno: errnoNumber("EBADF"),
      syscall,
      detail: `${what} is closed`,
    });
  }

  /**
   * An error for a named errno, made by sysipc rather than returned by a call.
   *
   * @example
   * ```ts
   * import { IpcError } from "@sysipc/sysipc";
   * const e = IpcError.of("ETIMEDOUT", "mq_receive", "/jobs");
   * console.log(e.errno, e.code); // 110 "ETIMEDOUT"
   * ```
   *
   * @throws {TypeError} For a `code` Linux does not define.
   *
   * @param code The errno name, such as `"ETIMEDOUT"`.
   * @param syscall The operation.
   * @param path The path or name, if any.
   * @param detail Text to use instead of the C library's description.
   * @returns The error.
   */
  static of(code: string, syscall: string, path?: string, detail?: string): IpcError {
    return new IpcError({ errno: errnoNumber(code), syscall, path, detail });
  }
}

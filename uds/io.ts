/**
 * Messages with ancillary data: `sendmsg`/`recvmsg` with `SCM_RIGHTS` descriptors and
 * `SCM_CREDENTIALS`, through buffers that each handle allocates once and reuses for every
 * message (all over explicit `ArrayBuffer`s, whose addresses stay put on both runtimes,
 * so they are taken once).
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkFd, checkInteger, checkOptions } from "../ffi/handle.ts";
import { check, EAGAIN, EBADF, EINTR, errno, libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { cmsghdr, iovec, msghdr, pollfd, sockaddrUn, ucred } from "../ffi/structs.ts";
import { retryWithDeadline, type WaitOptions } from "../ffi/wait/mod.ts";
import { type Address, decodeAddress } from "./address.ts";

/** A process's identity as the kernel reports it for a socket peer or a message. */
export interface Credentials {
  /** Process id. */
  pid: number;
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
}

/** Options of sends. */
export interface UnixSendOptions extends WaitOptions {
  /**
   * Open descriptors to pass along (`SCM_RIGHTS`), at most 253 (`SCM_MAX_FD`). The
   * receiver gets its own descriptors for the same open files; yours stay open. On a
   * stream socket they travel with the first byte of `data`, which must not be empty.
   */
  fds?: readonly (number | { readonly fd: number })[];
}

/** Options of receives. */
export interface UnixReceiveOptions extends WaitOptions {
  /**
   * The most bytes to take. A longer message (seqpacket, datagram) is cut there and the
   * rest is discarded by the kernel, which the result's `truncated` reports; on a stream
   * socket the rest stays for the next receive. Default 65536; 1 to 0x7ffff000 (the most
   * Linux moves in one call). A receive buffer of this size is kept with the handle.
   */
  maxSize?: number;
  /**
   * The most descriptors to take. Descriptors beyond it are closed, never leaked, and the
   * result's `fdsTruncated` reports it. Default 253 (`SCM_MAX_FD`); 0 to 253.
   */
  maxFds?: number;
}

/** A received message. */
export interface UnixMessage {
  /** The bytes. */
  data: Uint8Array;
  /**
   * Descriptors that came with it (`SCM_RIGHTS`), opened close-on-exec in this process.
   * They are yours to close (or wrap: `PipeReader.fromFd(fd)`, `UnixConnection.fromFd(fd)`).
   */
  fds: number[];
  /** The message was longer than `maxSize`: the rest of it was discarded (`MSG_TRUNC`). */
  truncated: boolean;
  /**
   * More descriptors came than `maxFds`, or the process could take no more
   * (`MSG_CTRUNC`): those that did not fit were closed.
   */
  fdsTruncated: boolean;
  /**
   * The sender's credentials (`SCM_CREDENTIALS`), checked by the kernel; only when the
   * receiving socket has `passCredentials` on.
   */
  credentials?: Credentials;
}

/** A received datagram, with its sender's address. */
export interface UnixDatagramMessage extends UnixMessage {
  /**
   * The sender's address, usable with `sendTo` to reply: a path, or `"\0"` followed by an
   * abstract name; `undefined` when the sender is not bound to one.
   */
  from?: string;
}

const DEFAULT_MAX_SIZE = 65536;
const MAX_TRANSFER = 0x7ffff000;
const NO_FDS: readonly number[] = Object.freeze([]);
const align = (n: number) => (n + 7) & ~7;
/** `CMSG_SPACE(n)`: a control message with `n` bytes of data, padded. */
const cmsgSpace = (n: number) => cmsghdr.size + align(n);
const CONTROL_SIZE = cmsgSpace(ucred.size) + cmsgSpace(4 * C.SCM_MAX_FD);

/**
 * Checks descriptors to send.
 *
 * @param fds The caller's value.
 * @returns The descriptor numbers (empty when `undefined`).
 * @throws {TypeError} When it is not an array of integers or handles, or holds a closed
 *   handle.
 * @throws {RangeError} When it holds more than 253 (`SCM_MAX_FD`), or a negative number.
 */
export function checkFds(fds: unknown): readonly number[] {
  if (fds === undefined) return NO_FDS;
  if (!Array.isArray(fds)) {
    throw new TypeError(`fds must be an array of descriptors, got ${typeof fds}`);
  }
  if (fds.length > C.SCM_MAX_FD) {
    throw new RangeError(
      `fds holds ${fds.length} descriptors, but one message carries at most ` +
        `${C.SCM_MAX_FD} (SCM_MAX_FD)`,
    );
  }
  return fds.map((source, i) => {
    if (typeof source === "object" && source !== null && "fd" in source) {
      if (source.fd === -1) throw new TypeError(`fds[${i}] is a closed handle`);
      return checkFd(source.fd, `fds[${i}].fd`);
    }
    return checkFd(source, `fds[${i}]`);
  });
}

/**
 * Checks receive options.
 *
 * @param options The caller's value.
 * @returns `maxSize` and `maxFds` with their defaults.
 * @throws {RangeError} When either is out of range.
 * @throws {TypeError} When either is not an integer.
 */
export function checkReceive(options: UnixReceiveOptions | undefined): [number, number] {
  checkOptions(options);
  const maxSize = options?.maxSize === undefined
    ? DEFAULT_MAX_SIZE
    : checkInteger(options.maxSize, "maxSize", 1, MAX_TRANSFER);
  const maxFds = options?.maxFds === undefined
    ? C.SCM_MAX_FD
    : checkInteger(options.maxFds, "maxFds", 0, C.SCM_MAX_FD);
  return [maxSize, maxFds];
}

const pollBuffer = new DataView(new ArrayBuffer(pollfd.size));

/**
 * The wait of a sync form given a `timeout`, after an attempt that would have blocked:
 * blocks the calling thread in `poll` until `fd` is ready for `events` (`0`: just sleeps a
 * little, for a send to an unconnected datagram socket, whose readiness `poll` cannot see),
 * or the time is up.
 *
 * @param fd The socket.
 * @param events `POLLIN` or `POLLOUT`, or 0.
 * @param timeout The caller's timeout (ms).
 * @param deadline From `deadlineOf`.
 * @param syscall For errors.
 * @throws {IpcError} `EAGAIN` when `timeout` is 0 (the attempt was the one try),
 *   `ETIMEDOUT` once the deadline has passed.
 */
export function waitSync(
  fd: number,
  events: number,
  timeout: number,
  deadline: number,
  syscall: string,
): void {
  if (timeout === 0) throw IpcError.of("EAGAIN", syscall);
  const left = deadline - performance.now();
  if (left <= 0) throw IpcError.of("ETIMEDOUT", syscall, undefined, "Timed out");
  pollBuffer.setInt32(pollfd.offsets.fd, events === 0 ? -1 : fd, true);
  pollBuffer.setInt16(pollfd.offsets.events, events, true);
  const wait = events === 0 ? Math.min(left, 2) : left;
  const ready = retryWithDeadline((ms) => libc.poll(pollBuffer, 1, Math.ceil(ms!)), wait, "poll");
  if (ready === 0 && events !== 0) {
    throw IpcError.of("ETIMEDOUT", syscall, undefined, "Timed out");
  }
}

function setAddress(view: DataView, offset: number, address: number): void {
  view.setUint32(offset, address % 0x100000000, true);
  view.setUint32(offset + 4, Math.floor(address / 0x100000000), true);
}

/** One handle's message buffers and the calls that use them. */
export class MessageIo {
  readonly #hdr = new DataView(new ArrayBuffer(msghdr.size));
  readonly #iov = new DataView(new ArrayBuffer(iovec.size));
  readonly #control = new DataView(new ArrayBuffer(CONTROL_SIZE));
  readonly #name = new Uint8Array(new ArrayBuffer(sockaddrUn.size));
  readonly #controlAddress: number;
  readonly #nameAddress: number;
  /** The receive buffer, grown to the largest `maxSize` asked for. */
  #data: Uint8Array<ArrayBuffer> | null = null;
  #dataAddress = 0;
  /** Whether the socket has `SO_PASSCRED` on, so that receives make room for credentials. */
  passCredentials = false;

  constructor() {
    setAddress(this.#hdr, msghdr.offsets.msg_iov, runtime.addressOf(this.#iov));
    this.#hdr.setUint32(msghdr.offsets.msg_iovlen, 1, true);
    this.#controlAddress = runtime.addressOf(this.#control);
    this.#nameAddress = runtime.addressOf(this.#name);
  }

  #prepare(
    base: number,
    length: number,
    name: number,
    nameLength: number,
    control: number,
  ): DataView {
    const hdr = this.#hdr;
    setAddress(this.#iov, iovec.offsets.iov_base, base);
    this.#iov.setUint32(iovec.offsets.iov_len, length, true);
    setAddress(hdr, msghdr.offsets.msg_name, name);
    hdr.setUint32(msghdr.offsets.msg_namelen, nameLength, true);
    setAddress(hdr, msghdr.offsets.msg_control, control === 0 ? 0 : this.#controlAddress);
    hdr.setUint32(msghdr.offsets.msg_controllen, control, true);
    hdr.setInt32(msghdr.offsets.msg_flags, 0, true);
    return hdr;
  }

  /**
   * One `recvmsg`.
   *
   * @param fd The socket.
   * @param maxSize The most bytes to take.
   * @param maxFds The most descriptors to keep.
   * @param flags `recvmsg` flags (`MSG_DONTWAIT` for a non-blocking attempt; `MSG_TRUNC`
   *   for message sockets).
   * @param withName Whether to fill in the sender's address.
   * @param copy Whether `data` is a copy (the default) or a view of this object's
   *   receive buffer, valid until its next `receive`.
   * @returns The message, its byte count as the kernel reported it (the whole message's
   *   length with `MSG_TRUNC`), or `null` when it would block.
   * @throws {IpcError} When `recvmsg` fails.
   */
  receive(
    fd: number,
    maxSize: number,
    maxFds: number,
    flags: number,
    withName: boolean,
    copy = true,
  ): { message: UnixDatagramMessage; length: number } | null {
    let data = this.#data;
    if (data === null || data.length < maxSize) {
      data = this.#data = new Uint8Array(new ArrayBuffer(Math.max(maxSize, 4096)));
      this.#dataAddress = runtime.addressOf(data);
    }
    const control = (maxFds > 0 ? cmsgSpace(4 * maxFds) : 0) +
      (this.passCredentials ? cmsgSpace(ucred.size) : 0);
    let n: number;
    while (true) {
      const hdr = this.#prepare(
        this.#dataAddress,
        maxSize,
        withName ? this.#nameAddress : 0,
        withName ? sockaddrUn.size : 0,
        control,
      );
      n = libc.recvmsg(fd, hdr, flags | C.MSG_CMSG_CLOEXEC);
      if (n >= 0) break;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return null;
      throw new IpcError({ errno: e, syscall: "recvmsg" });
    }
    const hdr = this.#hdr;
    const msgFlags = hdr.getInt32(msghdr.offsets.msg_flags, true);
    const message: UnixDatagramMessage = {
      data: copy ? data.slice(0, Math.min(n, maxSize)) : data.subarray(0, Math.min(n, maxSize)),
      fds: [],
      truncated: (msgFlags & C.MSG_TRUNC) !== 0,
      fdsTruncated: (msgFlags & C.MSG_CTRUNC) !== 0,
    };
    this.#readControl(hdr.getUint32(msghdr.offsets.msg_controllen, true), maxFds, message);
    if (withName) {
      const from = decodeAddress(this.#name, hdr.getUint32(msghdr.offsets.msg_namelen, true));
      if (from !== undefined) message.from = from;
    }
    return { message, length: n };
  }

  /** Takes the descriptors and credentials out of the control buffer. */
  #readControl(length: number, maxFds: number, message: UnixMessage): void {
    const c = this.#control;
    for (let at = 0; at + cmsghdr.size <= length;) {
      const size = c.getUint32(at + cmsghdr.offsets.cmsg_len, true);
      if (size < cmsghdr.size || at + size > length) break;
      const level = c.getInt32(at + cmsghdr.offsets.cmsg_level, true);
      const type = c.getInt32(at + cmsghdr.offsets.cmsg_type, true);
      const data = at + cmsghdr.size;
      if (level === C.SOL_SOCKET && type === C.SCM_RIGHTS) {
        for (let i = data; i + 4 <= at + size; i += 4) {
          const fd = c.getInt32(i, true);
          // The buffer is padded to 8 bytes, so the kernel may fit one more than asked:
          // close it rather than hand out more than maxFds.
          if (message.fds.length < maxFds) message.fds.push(fd);
          else {
            libc.close(fd);
            message.fdsTruncated = true;
          }
        }
      } else if (level === C.SOL_SOCKET && type === C.SCM_CREDENTIALS) {
        message.credentials = {
          pid: c.getInt32(data + ucred.offsets.pid, true),
          uid: c.getUint32(data + ucred.offsets.uid, true),
          gid: c.getUint32(data + ucred.offsets.gid, true),
        };
      }
      at += align(size);
    }
  }

  /**
   * One `sendmsg` of `bytes` from `offset`, with descriptors and a destination.
   *
   * @param fd The socket.
   * @param bytes The data.
   * @param offset Where in `bytes` to start.
   * @param fds Descriptors to pass (`SCM_RIGHTS`).
   * @param to The destination, for an unconnected datagram socket.
   * @param flags `sendmsg` flags (`MSG_DONTWAIT` for a non-blocking attempt).
   * @returns The bytes sent, or -1 when it would block.
   * @throws {IpcError} When `sendmsg` fails; `EBADF` names a descriptor that is not open.
   */
  send(
    fd: number,
    bytes: Uint8Array,
    offset: number,
    fds: readonly number[],
    to: Address | null,
    flags: number,
  ): number {
    const c = this.#control;
    let control = 0;
    if (fds.length > 0) {
      control = cmsgSpace(4 * fds.length);
      c.setUint32(cmsghdr.offsets.cmsg_len, cmsghdr.size + 4 * fds.length, true);
      c.setUint32(cmsghdr.offsets.cmsg_len + 4, 0, true);
      c.setInt32(cmsghdr.offsets.cmsg_level, C.SOL_SOCKET, true);
      c.setInt32(cmsghdr.offsets.cmsg_type, C.SCM_RIGHTS, true);
      fds.forEach((f, i) => c.setInt32(cmsghdr.size + 4 * i, f, true));
    }
    const length = Math.min(bytes.length - offset, MAX_TRANSFER);
    while (true) {
      // Taken right before the call: Bun may move a small typed array's bytes when it
      // first hands them to native code. An empty array has no address on Bun.
      const base = length === 0 ? 0 : runtime.addressOf(bytes) + offset;
      const name = to === null ? 0 : runtime.addressOf(to.bytes);
      const hdr = this.#prepare(base, length, name, to === null ? 0 : to.length, control);
      const n = libc.sendmsg(fd, hdr, flags | C.MSG_NOSIGNAL);
      if (n >= 0) return n;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return -1;
      if (e === EBADF && fds.length > 0) throw badFd(fds);
      throw new IpcError({ errno: e, syscall: "sendmsg", path: to?.display });
    }
  }
}

/** The `EBADF` of a send whose descriptors include one that is not open. */
function badFd(fds: readonly number[]): IpcError {
  const i = fds.findIndex((fd) => libc.fcntl(fd, C.F_GETFD, 0) < 0);
  return IpcError.of(
    "EBADF",
    "sendmsg",
    undefined,
    i < 0 ? undefined : `Bad file descriptor: fds[${i}] (${fds[i]}) is not an open descriptor`,
  );
}

/**
 * Reads an integer socket option.
 *
 * @param fd The socket.
 * @param option The `SOL_SOCKET` option.
 * @param name The option's name, for errors.
 * @returns Its value.
 * @throws {IpcError} When `getsockopt` fails (`ENOTSOCK` for a descriptor that is no socket).
 */
export function getIntOption(fd: number, option: number, name: string): number {
  const value = new Int32Array(new ArrayBuffer(4));
  const length = new Uint32Array(new ArrayBuffer(4));
  length[0] = 4;
  check(libc.getsockopt(fd, C.SOL_SOCKET, option, value, length), `getsockopt(${name})`);
  return value[0]!;
}

/**
 * Sets an integer socket option.
 *
 * @param fd The socket.
 * @param option The `SOL_SOCKET` option.
 * @param value Its new value.
 * @param name The option's name, for errors.
 * @throws {IpcError} When `setsockopt` fails.
 */
export function setIntOption(fd: number, option: number, value: number, name: string): void {
  const cell = new Int32Array(new ArrayBuffer(4));
  cell[0] = value;
  check(libc.setsockopt(fd, C.SOL_SOCKET, option, cell, 4), `setsockopt(${name})`);
}

/**
 * The credentials of a socket's peer, as the kernel recorded them when it connected
 * (`SO_PEERCRED`).
 *
 * @param fd The socket.
 * @returns pid, uid and gid.
 * @throws {IpcError} When `getsockopt` fails.
 */
export function peerCredentials(fd: number): Credentials {
  const cred = new DataView(new ArrayBuffer(ucred.size));
  const length = new Uint32Array(new ArrayBuffer(4));
  length[0] = ucred.size;
  check(
    libc.getsockopt(fd, C.SOL_SOCKET, C.SO_PEERCRED, cred, length),
    "getsockopt(SO_PEERCRED)",
  );
  return {
    pid: cred.getInt32(ucred.offsets.pid, true),
    uid: cred.getUint32(ucred.offsets.uid, true),
    gid: cred.getUint32(ucred.offsets.gid, true),
  };
}

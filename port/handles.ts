/**
 * What `postMessage` can transfer: checking `transfer`, taking the descriptors over from
 * the sender's handles (which are then closed, as a transferred object is detached), and
 * rebuilding a handle of the same kind in the receiver.
 *
 * @module
 */
import { types } from "node:util";
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkFd, FdHandle } from "../ffi/handle.ts";
import { describeValue, errno, libc } from "../ffi/libc.ts";
import { PipeReader, PipeWriter } from "../pipe/pipe.ts";
import { EventFd } from "../sem/eventfd.ts";
import { SharedMemory } from "../shm/shared_memory.ts";
import { UnixConnection } from "../uds/connection.ts";
import { dataCloneError, inheritsFrom, type TransferPlan } from "./codec.ts";

/** What `transfer` may hold. */
export type Transferable =
  | PipeReader
  | PipeWriter
  | SharedMemory
  | UnixConnection
  | EventFd
  | ArrayBuffer
  | number;

/** Handle kinds on the wire (`T_HANDLE`). */
export const KIND_FD = 0;
/** A `PipeReader`. */
export const KIND_PIPE_READER = 1;
/** A `PipeWriter`. */
export const KIND_PIPE_WRITER = 2;
/** A `SharedMemory` (flags bit 0: read-only). */
export const KIND_SHARED_MEMORY = 3;
/** A `UnixConnection`. */
export const KIND_UNIX_CONNECTION = 4;
/** An `EventFd`. */
export const KIND_EVENTFD = 5;

/** The handle classes' names and prototypes, by kind (kind 0, a raw descriptor, has none). */
const NAMES: readonly string[] = [
  "",
  "PipeReader",
  "PipeWriter",
  "SharedMemory",
  "UnixConnection",
  "EventFd",
];
const PROTOS: readonly object[] = [
  FdHandle.prototype,
  PipeReader.prototype,
  PipeWriter.prototype,
  SharedMemory.prototype,
  UnixConnection.prototype,
  EventFd.prototype,
];
const READ_ONLY = 1;

/**
 * Whether a value is a handle (of a kind that can be transferred or not), told without
 * running any code of the value's.
 *
 * @param value An object that is not a Proxy.
 * @returns Whether it is an `FdHandle`.
 */
export function isHandle(value: object): boolean {
  return inheritsFrom(value, FdHandle.prototype);
}

/** A checked `transfer` list. */
export interface Transfer {
  /** What the encoder looks up. */
  plan: TransferPlan;
  /** The descriptors, by index, and the handle each came from (`null`: a raw number). */
  sources: { fd: number; handle: FdHandle | null }[];
  /** ArrayBuffers to move into the message instead of copying. */
  buffers: ArrayBuffer[];
}

/**
 * Checks `transfer` before anything else happens.
 *
 * @param transfer The caller's list.
 * @returns The plan, or `null` for an empty list.
 * @throws {TypeError} When it is not an array, or holds something that cannot be
 *   transferred, a closed handle, or the same thing twice.
 * @throws {RangeError} When it holds more than 253 descriptors.
 * @throws {IpcError} `EBADF` for a raw descriptor that is not open.
 */
export function checkTransfer(transfer: unknown): Transfer | null {
  if (transfer === undefined) return null;
  if (!Array.isArray(transfer)) {
    throw new TypeError(`transfer must be an array, got ${describeValue(transfer)}`);
  }
  if (transfer.length === 0) return null;
  const handles = new Map<object, { kind: number; index: number; flags: number }>();
  const raw = new Map<number, number>();
  const sources: Transfer["sources"] = [];
  const buffers: ArrayBuffer[] = [];
  for (let i = 0; i < transfer.length; i++) {
    const entry: unknown = transfer[i];
    const what = `transfer[${i}]`;
    if (typeof entry === "number") {
      const fd = checkFd(entry, what);
      if (raw.has(fd)) throw dataCloneError(`${what}: descriptor ${fd} is listed twice`);
      if (libc.fcntl(fd, C.F_GETFD, 0) < 0) {
        throw new IpcError({
          errno: errno(),
          syscall: "postMessage",
          detail: `${what} (${fd}) is not an open descriptor`,
        });
      }
      raw.set(fd, sources.length);
      sources.push({ fd, handle: null });
      continue;
    }
    if (types.isArrayBuffer(entry)) {
      const buffer = entry as ArrayBuffer;
      if (buffers.includes(buffer)) {
        throw dataCloneError(`${what}: the ArrayBuffer is listed twice`);
      }
      if (buffer.detached) throw dataCloneError(`${what}: the ArrayBuffer is detached`);
      buffers.push(buffer);
      continue;
    }
    const kind = typeof entry === "object" && entry !== null && !types.isProxy(entry)
      ? PROTOS.findIndex((p, k) => k > 0 && inheritsFrom(entry, p))
      : -1;
    if (kind <= 0) {
      throw dataCloneError(
        `${what} cannot be transferred: transfer takes PipeReader, PipeWriter, SharedMemory, ` +
          `UnixConnection, EventFd, ArrayBuffer or a descriptor number; got ${
            describeValue(entry)
          }`,
      );
    }
    const handle = entry as FdHandle;
    if (handle.closed) throw dataCloneError(`${what} is a closed ${NAMES[kind]}`);
    if (handles.has(handle)) throw dataCloneError(`${what}: the ${NAMES[kind]} is listed twice`);
    const flags = kind === KIND_SHARED_MEMORY && (handle as SharedMemory).readOnly ? READ_ONLY : 0;
    handles.set(handle, { kind, index: sources.length, flags });
    sources.push({ fd: handle.fd, handle });
  }
  if (sources.length > C.SCM_MAX_FD) {
    throw new RangeError(
      `transfer holds ${sources.length} descriptors, but one message carries at most ${C.SCM_MAX_FD}`,
    );
  }
  return { plan: { handles, raw, seen: sources.map(() => false) }, sources, buffers };
}

/**
 * Checks that every descriptor in `transfer` appeared in the value (one that did not would
 * arrive where nothing refers to it, and be lost).
 *
 * @param transfer The checked list.
 * @throws {TypeError} A `DataCloneError` naming the first one missing.
 */
export function checkAllSeen(transfer: Transfer): void {
  const missing = transfer.plan.seen.indexOf(false);
  if (missing >= 0) {
    const { fd, handle } = transfer.sources[missing]!;
    throw dataCloneError(
      `${handle === null ? `descriptor ${fd}` : `a ${handle.constructor.name}`} is in transfer ` +
        "but not in the message: put it in the value, where the receiver will find it",
    );
  }
}

/**
 * Takes the descriptors over: duplicates each (close-on-exec), then closes the sender's
 * handles and raw descriptors, as a transferred object is detached. Nothing is closed
 * unless every duplicate was made.
 *
 * @param transfer The checked list.
 * @returns The duplicates, by index: the message's to send and then close.
 * @throws {IpcError} `EMFILE` when out of descriptors (nothing is closed then).
 */
export function detach(transfer: Transfer): number[] {
  const fds: number[] = [];
  for (const { fd } of transfer.sources) {
    const copy = libc.fcntl(fd, C.F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
      const e = new IpcError({ errno: errno(), syscall: "fcntl(F_DUPFD_CLOEXEC)" });
      for (const made of fds) libc.close(made);
      throw e;
    }
    fds.push(copy);
  }
  for (const { fd, handle } of transfer.sources) {
    if (handle === null) libc.close(fd);
    else handle.close();
  }
  return fds;
}

/**
 * A received descriptor as the handle it was sent as.
 *
 * @param kind The kind on the wire.
 * @param fd The descriptor, now this process's.
 * @param flags The kind's flags.
 * @returns The handle (the descriptor itself for a raw one).
 * @throws {IpcError} When the descriptor is not what the kind says (`ENOTSOCK`, `ENODEV`,
 *   …), or for an unknown kind (`EPROTO`).
 */
export function rebuild(kind: number, fd: number, flags: number): unknown {
  switch (kind) {
    case KIND_FD:
      return fd;
    case KIND_PIPE_READER:
      return PipeReader.fromFd(fd);
    case KIND_PIPE_WRITER:
      return PipeWriter.fromFd(fd);
    case KIND_SHARED_MEMORY:
      return SharedMemory.fromFd(fd, { readOnly: (flags & READ_ONLY) !== 0 });
    case KIND_UNIX_CONNECTION:
      return UnixConnection.fromFd(fd);
    case KIND_EVENTFD:
      return EventFd.fromFd(fd);
    default:
      throw IpcError.of("EPROTO", "receive", undefined, `Unknown handle kind ${kind}`);
  }
}

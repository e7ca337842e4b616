/**
 * {@linkcode Port}: a message port between two processes, and {@linkcode listenPort} /
 * {@linkcode connectPort} with {@linkcode PortListener} to set one up by name.
 *
 * @module
 */
import process from "node:process";
import { C } from "../ffi/constants.ts";
import { errnoNumber, IpcError } from "../ffi/errors.ts";
import { checkInteger, FdHandle, untilClosed } from "../ffi/handle.ts";
import { posixName } from "../ffi/ipc.ts";
import { check, describeValue, EAGAIN, EINTR, errno, libc } from "../ffi/libc.ts";
import {
  attemptNow,
  cancelAll,
  checkWaitOptions,
  deadlineOf,
  DONE,
  type Owner,
  readyEvents,
  remaining,
  type WaitContext,
  waitFd,
  type WaitOptions,
} from "../ffi/wait/mod.ts";
import { track } from "../ffi/wait/track.ts";
import {
  createChannelMemfd,
  openChannelFd,
  reserveSoon,
  type ShmChannel,
  type ShmSlot,
} from "../shm/channel.ts";
import { MAX_NAME } from "../uds/address.ts";
import { type Credentials, MessageIo, peerCredentials } from "../uds/io.ts";
import { connect, listen, type UnixListener } from "../uds/listener.ts";
import { socketpair, type UnixConnection } from "../uds/connection.ts";
import { Decoder, Encoder, protocolError } from "./codec.ts";
import {
  checkAllSeen,
  checkTransfer,
  detach,
  isHandle,
  rebuild,
  type Transferable,
} from "./handles.ts";
import {
  ADDRESS_PREFIX,
  HELLO_RINGS,
  HELLO_SIZE,
  MAGIC,
  R_BEGIN,
  R_HELLO,
  R_MESSAGE,
  R_PART,
  R_REFUSE,
  R_RING,
  R_SWITCH,
  RECORD_HEADER,
  UNIT_MAX,
  VERSION,
  writeRecord,
} from "./wire.ts";

/** Options every way of making a port takes. */
export interface PortOptions {
  /**
   * The largest message this side accepts, in bytes (its encoded size). A peer is told
   * in the handshake, and its `postMessage` refuses anything larger with a `RangeError`;
   * a peer that sends more anyway gets an `EPROTO` error here, and nothing is allocated
   * for it. Default 2^30 (1 GiB); 64 to 2^32 − 1.
   */
  maxMessageSize?: number;
}

/** Options of {@linkcode listenPort}. */
export interface PortListenOptions extends PortOptions {
  /**
   * Who may connect, as the write bits of a socket file's mode: `0o200` the listener's
   * own user, `0o020` processes whose group is the listener's, `0o002` anyone. Root may
   * always connect. Default `0o600`: only the listener's user.
   */
  mode?: number;
  /** The most connections waiting to be accepted. Default 4096 (capped by the kernel). */
  backlog?: number;
}

/** Options of {@linkcode connectPort}. */
export interface PortConnectOptions extends PortOptions, WaitOptions {
  /**
   * Talk to a listener that runs as another user. By default `connectPort` refuses one
   * with `EACCES`, unless that user is root: any process on the host can listen on a
   * port name first, and a message meant for your own program must not reach another
   * user's. Default `false`.
   */
  anyUser?: boolean;
}

/** The event `onmessage` receives. */
export interface PortMessageEvent {
  /** The message. */
  readonly data: unknown;
}

/** A message the peer sent that could not be received (an `EPROTO` error). */
export interface PortMessageErrorEvent {
  /** Why it could not be received. */
  readonly error: Error;
}

/** Paths a message travels on. */
const SOCKET = 0;
const RING = 1;

/**
 * The crossover, chosen from the benchmark's port group (bench/groups/port.ts: `port
 * socket` against `port ring` at each size, 64 B to 1 MiB, one and two CPUs, Deno and
 * Bun): from 1 KiB up the ring was faster in nearly every runtime and placement (15 of 16
 * medians in the last 3-round run, the other within 15 %); at 64 B it won half the time
 * (the busy-exchange rule below covers those). So once a side sends a message of at least
 * this many bytes, a burst (more messages than the socket takes at once) or a busy
 * exchange (see QUICK_RUN), it sets up its ring and from then on sends everything without
 * descriptors through it. Small messages sent now and then until that happens stay on the socket: a
 * port that never needs more costs no shared memory, and its idle receiver sleeps without
 * the ring's liveness checks.
 */
export const CROSSOVER = 1024;
let crossover = CROSSOVER;
/**
 * A busy exchange of small messages sets up the ring too: QUICK_RUN messages in a row, each
 * sent within PACE_MS of the one before. The benchmark measured small round trips 2–4×
 * faster through the ring than through the socket while both sides are busy, and no faster
 * when messages come now and then (a receiver that has gone to sleep pays the same wake-up
 * on either path: ≈ 0.7–0.9 ms here).
 */
const QUICK_RUN = 16;
const PACE_MS = 1;

/**
 * Sets the crossover for this process (internal: for the benchmark, which measures both
 * paths at every size; not exported by the module).
 *
 * @param bytes Messages of at least this many bytes set up the ring: 0 sends every message
 *   without descriptors through it, `Infinity` none.
 */
export function setCrossover(bytes: number): void {
  crossover = bytes;
}
/** The ring each side makes for what it sends: slots × slot size bytes of shared memory. */
const RING_SLOTS = 32;
const RING_SLOT_SIZE = 65536;
/** The largest snapshot buffer a port keeps for reuse, in bytes. */
const SPARE_MAX = 2 * RING_SLOTS * RING_SLOT_SIZE;
/** How often a wait on a ring checks that the peer still lives, in ms. */
const SLICE_MS = 100;
/** How long an accepted client has to send its hello, in ms. */
const HANDSHAKE_MS = 5000;
const DEFAULT_MAX_MESSAGE = 2 ** 30;
const MAX_MESSAGE = 2 ** 32 - 1;
const NONBLOCKING = C.MSG_DONTWAIT;
const NO_FDS: number[] = [];
const NO_BLOBS: Uint8Array[] = [];
/** Ends the pump's wait when nobody wants messages any more. */
const STOP = new Error("sysipc: the port's reader stopped");

/** Blobs and descriptors of a queued message that has any. */
interface Extra {
  fds: number[];
  blobs: Uint8Array[];
  /** Whether some blobs are still views of the caller's memory (not yet copied). */
  borrowed: boolean;
  /** The copy made by `#snapshot`, given back for reuse once the message is written. */
  copy?: ArrayBuffer;
}

/** A receive waiting for a message. */
interface Waiter {
  settle(value: unknown): void;
  fail(error: unknown): void;
}

/** A message that arrived but could not be decoded: `receive` rejects with `error`. */
class Failure {
  constructor(readonly error: Error) {}
}

/** A message that carries handles, which `close()` closes if nobody took it. */
class WithHandles {
  constructor(readonly value: unknown, readonly handles: unknown[]) {}
}

/** A message arriving in several records. */
interface Assembly {
  total: number;
  got: number;
  /** The message's first bytes: the value stream's length and the value stream. */
  head: Uint8Array;
  headLength: number;
  decoded: boolean;
  value: unknown;
  blobs: Uint8Array[];
  blob: number;
  blobOffset: number;
  fds: number[];
  handles: unknown[];
}

/**
 * A DataView over the whole of a buffer, made again only when the buffer changes: one of
 * each direction per port, whose buffer comes back message after message (the ring's
 * mapping, the socket's receive buffer).
 */
class ViewCache {
  #buffer: ArrayBufferLike | null = null;
  #view: DataView | null = null;

  of(buffer: ArrayBufferLike): DataView {
    if (buffer !== this.#buffer) {
      this.#view = new DataView(buffer);
      this.#buffer = buffer;
    }
    return this.#view!;
  }
}

/** The hello a side sends: magic, version, flags, the largest message it takes. */
function hello(maxMessage: number): Uint8Array {
  const bytes = new Uint8Array(new ArrayBuffer(RECORD_HEADER + HELLO_SIZE));
  const v = new DataView(bytes.buffer);
  writeRecord(v, 0, R_HELLO, 0, HELLO_SIZE);
  v.setUint32(8, MAGIC, true);
  v.setUint16(12, VERSION, true);
  v.setUint16(14, HELLO_RINGS, true);
  v.setUint32(16, maxMessage, true);
  return bytes;
}

function peerGone(syscall: string): IpcError {
  return IpcError.of("EPIPE", syscall, undefined, "The peer closed the port or exited");
}

/** A socket error that means the peer is gone (`EPIPE`, `ECONNRESET`) as the port's `EPIPE`. */
function gone(e: unknown, syscall: string): unknown {
  return e instanceof IpcError && (e.code === "EPIPE" || e.code === "ECONNRESET")
    ? peerGone(syscall)
    : e;
}

let constructing = false;
let make: (fd: number, maxMessage: number) => Port;
let handshake: (port: Port, options: WaitOptions | undefined) => Promise<void>;
let pairUp: (a: Port, b: Port) => void;

/**
 * One end of a message port between two processes (or two runtimes: Deno, Bun, or a
 * program in another language that speaks the protocol): `postMessage` on one end,
 * `receive`, `onmessage` or `for await` on the other, both ways. Values are copied as
 * with `structuredClone` (see the module documentation for the list), in order, and
 * handles listed in `transfer` move to the other process.
 *
 * Messages travel over a Unix seqpacket socket, which also carries descriptors and tells
 * each side the other's credentials and when it is gone. Large messages and bursts go
 * through a ring in shared memory that each side sets up for what it sends, once it is
 * worth it; small, occasional ones stay on the socket. This is invisible here, except in
 * speed.
 *
 * @example A port in each of two processes (here, both ends in one)
 * ```ts
 * import { connectPort, listenPort } from "@sysipc/sysipc/port";
 * const name = `/example-${Date.now()}`;
 * using listener = listenPort(name);
 * const [client, server] = await Promise.all([connectPort(name), listener.accept()]);
 * await client.postMessage({ job: "resize", sizes: [64, 128], at: new Date(0) });
 * const message = await server.receive();
 * console.log(message); // { job: "resize", sizes: [ 64, 128 ], at: 1970-01-01T00:00:00.000Z }
 * console.log(server.peer.pid === client.peer.pid); // true: one process here
 * client.close();
 * server.close();
 * ```
 */
export class Port extends FdHandle implements AsyncIterable<unknown> {
  readonly #io = new MessageIo();
  readonly #maxMessage: number;
  #peer: Credentials = { pid: 0, uid: 0, gid: 0 };
  #peerMax = 0;
  #peerRings = false;

  // Sending: the batch is the encoder's buffer from #sent to #end, a message record
  // (header, then the value stream's length and the value stream) after another; the
  // blobs and descriptors of those that have any wait in #extras, in order.
  readonly #encoder = new Encoder(isHandle);
  #sent = 0;
  #end = 0;
  /** Bytes of the message at #sent already written (it is split over records). */
  #entryDone = 0;
  /** The path of the message at #sent once its writing began, else -1. */
  #entryPath = -1;
  readonly #extras: (Extra | undefined)[] = [];
  #extraHead = 0;
  /** Set by the first message of an event-loop turn, cleared by a microtask at its end. */
  #turnOpen = false;
  #flushing = false;
  #waited = false;
  #gen: PromiseWithResolvers<void> | null = null;
  #sendError: Error | null = null;
  #txPath = SOCKET;
  #txRing: ShmChannel | null = null;
  /** A snapshot buffer of a written message, kept for the next (`#copyRest`). */
  #spare: ArrayBuffer | null = null;
  /** The memfd of a ring made but not yet sent to the peer. */
  #txRingFd = -1;
  #ringFailed = false;
  #slot: ShmSlot | null = null;
  #slotUsed = 0;
  #blockedOnRing = false;
  /** Whether this batch may still spin for a ring slot (`#reserveRoom`). */
  #spinForSlot = false;
  /** Until the ring exists: when the last message went out, and how many in a row came quickly. */
  #lastSent = -Infinity;
  #quick = 0;
  readonly #unit = new Uint8Array(new ArrayBuffer(UNIT_MAX));
  readonly #unitView = new DataView(this.#unit.buffer);
  /** The last view of the batch sent as one datagram, reused while its place repeats. */
  #run: Uint8Array = new Uint8Array(0);
  readonly #sendContext: WaitContext;

  // Receiving.
  readonly #decoder = new Decoder();
  readonly #inbox: unknown[] = [];
  #inboxHead = 0;
  readonly #waiters: Waiter[] = [];
  #pumping = false;
  /** The pump's socket wait, cancelled (with STOP) when nobody wants messages any more. */
  readonly #pumpWaits: Owner = new Set();
  /** The pump's ring wait, likewise. */
  #pumpAbort: AbortController | null = null;
  readonly #txView = new ViewCache();
  readonly #rxView = new ViewCache();
  #rxError: Error | null = null;
  #rxPath = SOCKET;
  #rxRing: ShmChannel | null = null;
  #asm: Assembly | null = null;
  /** Bytes of the assembled message's head received so far. */
  #headFill = 0;
  #onmessage: ((event: PortMessageEvent) => void) | null = null;
  #onmessageerror: ((event: PortMessageErrorEvent) => void) | null = null;
  readonly #receiveContext: WaitContext;
  readonly #pumpContext: WaitContext;

  static {
    make = (fd, maxMessage) => new Port(fd, maxMessage);
    handshake = (port, options) => port.#handshake(options);
    pairUp = (a, b) => {
      a.#sendHello();
      b.#sendHello();
      if (!a.#readHello() || !b.#readHello()) throw new Error("sysipc: a hello went missing");
    };
  }

  private constructor(fd: number, maxMessage: number) {
    if (!constructing) {
      throw new TypeError(
        "Port has no public constructor: use connectPort() or a listener's accept()",
      );
    }
    constructing = false;
    super(fd, "owned");
    this.#maxMessage = maxMessage;
    this.#sendContext = { syscall: "postMessage", owner: this.waits, spin: this.spin };
    this.#receiveContext = { syscall: "receive", owner: this.waits, spin: this.spin };
    this.#pumpContext = { syscall: "receive", owner: this.#pumpWaits, spin: this.spin };
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "Port";
  }

  /**
   * The process at the other end, as the kernel recorded it when the connection was made
   * (`SO_PEERCRED`): its pid, and its effective uid and gid.
   */
  get peer(): Credentials {
    return this.#peer;
  }

  // ---------------------------------------------------------------------------------------
  // The handshake

  /** Sends this side's hello, then reads the peer's: the port is ready to use. */
  async #handshake(options: WaitOptions | undefined): Promise<void> {
    this.#sendHello();
    const deadline = deadlineOf(options);
    while (!this.#readHello()) {
      if (options?.timeout === 0) throw IpcError.of("EAGAIN", "connect");
      await waitFd(this.fd, C.POLLIN, remaining(options, deadline), this.#receiveContext);
      this.use("connect");
    }
  }

  /** Sends this side's hello (the first datagram), and notes who the peer is. */
  #sendHello(): void {
    const fd = this.use("connect");
    this.#peer = peerCredentials(fd);
    if (this.#io.send(fd, hello(this.#maxMessage), 0, NO_FDS, null, NONBLOCKING) < 0) {
      throw IpcError.of("EAGAIN", "connect", undefined, "The new socket has no room for a hello");
    }
  }

  /** Reads the peer's hello if it is there: `false` when it is not yet. */
  #readHello(): boolean {
    const got = this.#io.receive(
      this.use("connect"),
      UNIT_MAX,
      0,
      NONBLOCKING | C.MSG_TRUNC,
      false,
    );
    if (got === null) return false;
    const data = got.message.data;
    if (got.length === 0) throw peerGone("connect");
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const kind = data[0];
    if (kind === R_REFUSE && data.length >= RECORD_HEADER + 4) {
      const errno = v.getInt32(RECORD_HEADER, true);
      throw new IpcError({
        errno,
        syscall: "connect",
        detail: "The listener refused the connection (its mode does not let this user in)",
      });
    }
    if (
      kind !== R_HELLO || data.length < RECORD_HEADER + HELLO_SIZE ||
      v.getUint32(RECORD_HEADER, true) !== MAGIC
    ) {
      throw IpcError.of(
        "EPROTO",
        "connect",
        undefined,
        "The peer does not speak the port protocol",
      );
    }
    const version = v.getUint16(RECORD_HEADER + 4, true);
    if (version !== VERSION) {
      throw IpcError.of(
        "EPROTO",
        "connect",
        undefined,
        `The peer speaks port protocol version ${version}; this sysipc speaks ${VERSION}`,
      );
    }
    this.#peerRings = (v.getUint16(RECORD_HEADER + 6, true) & HELLO_RINGS) !== 0;
    this.#peerMax = v.getUint32(RECORD_HEADER + 8, true);
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  /**
   * Sends a value to the other end: a copy of it as `structuredClone` makes (see the
   * module documentation for what may be sent), with the handles in `transfer` moved over:
   * they arrive as working handles of the same kind where the value holds them, and are
   * closed here. The value is copied before this returns, so changing it afterwards
   * changes nothing sent.
   *
   * The returned promise resolves once the message is handed to the connection (in the
   * socket's buffer or the shared-memory ring), not when the peer has read it. A sender
   * that outpaces its receiver finds the promise resolving later: await it to wait for
   * room instead of queueing without bound. The promise never goes unhandled: a sender
   * that does not await it loses no process to an `EPIPE`.
   *
   * @example Transferring a pipe end
   * ```ts
   * import { pipe, PipeWriter } from "@sysipc/sysipc/pipe";
   * import { connectPort, listenPort } from "@sysipc/sysipc/port";
   * const name = `/example-${Date.now()}`;
   * using listener = listenPort(name);
   * const [a, b] = await Promise.all([connectPort(name), listener.accept()]);
   * const [reader, writer] = pipe();
   * await a.postMessage({ log: writer }, [writer]); // writer is closed here now
   * const { log } = (await b.receive()) as { log: PipeWriter };
   * await log.write("written through the transferred end");
   * log.close();
   * console.log(await new Response(reader.readable).text());
   * a.close();
   * b.close();
   * ```
   *
   * @param value What to send.
   * @param transfer Handles (`PipeReader`, `PipeWriter`, `SharedMemory` and memfds,
   *   `UnixConnection`, `EventFd`), raw descriptor numbers, and `ArrayBuffer`s to move
   *   instead of copying. Each must appear in `value`; a number in `transfer` stands for
   *   the descriptor wherever that number appears in `value`, and arrives as the
   *   receiver's number for it. At most 253 descriptors.
   * @returns A promise that resolves once the message is queued.
   * @throws {TypeError} Synchronously, before anything is sent or closed: a
   *   `DataCloneError` (its `code`) for a value that cannot be sent (its message says
   *   what and where), for a `transfer` entry that cannot be transferred, is closed, is
   *   listed twice or does not appear in `value`.
   * @throws {RangeError} Synchronously: more than 253 descriptors, or a message larger
   *   than the peer accepts.
   * @throws {IpcError} Synchronously `EBADF` when the port is closed or a raw descriptor
   *   is not open; the promise rejects with `EPIPE` when the peer is gone.
   */
  postMessage(value: unknown, transfer?: readonly Transferable[]): Promise<void> {
    this.use("postMessage");
    if (this.#sendError !== null) return this.#handled(Promise.reject(this.#sendError));
    const checked = checkTransfer(transfer);
    const encoder = this.#encoder;
    const start = this.#end;
    const valueStart = start + RECORD_HEADER + 4;
    const valueEnd = encoder.encode(value, valueStart, checked?.plan ?? null);
    if (checked !== null) checkAllSeen(checked);
    const blobBytes = encoder.blobBytes;
    const length = 4 + (valueEnd - valueStart) + blobBytes;
    if (length > this.#peerMax) {
      throw new RangeError(
        `The message has ${length} bytes encoded, more than the peer accepts (${this.#peerMax})`,
      );
    }
    // Nothing has changed so far; from here on the message is sent.
    const fds = checked === null ? NO_FDS : detach(checked);
    let extra: Extra | undefined;
    if (encoder.blobs.length > 0 || fds.length > 0) {
      // Blobs stay views of the caller's memory while the message can go out at once;
      // what cannot is copied before this returns (#snapshot). Transferred buffers are
      // the message's own from now on.
      const moved = new Map<ArrayBuffer, ArrayBuffer>();
      for (const buffer of checked?.buffers ?? []) moved.set(buffer, buffer.transfer());
      let borrowed = false;
      const blobs = encoder.blobs.map((b) => {
        const own = moved.get(b.buffer as ArrayBuffer);
        if (own !== undefined) return new Uint8Array(own);
        borrowed = true;
        return b;
      });
      extra = { fds, blobs, borrowed };
      this.#extras.push(extra);
    } else if (checked !== null) {
      for (const buffer of checked.buffers) buffer.transfer();
    }
    const view = encoder.view;
    writeRecord(view, start, R_MESSAGE, fds.length, length);
    view.setUint32(start + RECORD_HEADER, valueEnd - valueStart, true);
    this.#end = valueEnd;
    if (start === 0 && !this.#flushing && !this.#turnOpen) {
      // The first message of this event-loop turn goes out at once; those that follow it
      // in the same turn (a burst) are written together by #endTurn.
      this.#turnOpen = true;
      queueMicrotask(this.#endTurn);
      this.#waited = false;
      if (this.#txRing === null) this.#countPace();
      try {
        if (this.#writeBatch()) return DONE;
      } catch (e) {
        this.#failSending(e instanceof Error ? e : new Error(String(e)));
        return this.#handled(Promise.reject(this.#sendError));
      }
      // Blocked: the flush waits for room (and may find it at once, so the promise it
      // resolves must exist first).
      this.#snapshot(extra, start);
      const promise = this.#pending();
      void this.#flush();
      return promise;
    }
    this.#snapshot(extra, start);
    return this.#pending();
  }

  /**
   * Copies what is left to write of a queued message's blobs, so that the caller may
   * change its buffers once `postMessage` returns.
   *
   * @param extra The message's blobs.
   * @param at Where its record is in the batch.
   */
  #snapshot(extra: Extra | undefined, at: number): void {
    if (extra === undefined || !extra.borrowed || this.#end === 0) return;
    extra.borrowed = false;
    // Bytes of its blob section already written (when it is the one being written).
    let written = 0;
    if (this.#sent === at && this.#entryDone > 0) {
      written = this.#entryDone - 4 - this.#encoder.view.getUint32(at + RECORD_HEADER, true);
    }
    const blobs = extra.blobs;
    // A blob partly written is split in two: the part written (never read again) and a
    // copy of the rest, so that only what is left is copied (a 1 MiB message blocked near
    // its end on a full ring copies its last slots, not 1 MiB).
    let split: Uint8Array[] | null = null;
    for (let i = 0; i < blobs.length; i++) {
      const blob = blobs[i]!;
      const done = Math.max(0, Math.min(written, blob.length));
      written -= blob.length;
      if (done === blob.length) {
        split?.push(blob);
        continue;
      }
      const rest = this.#copyRest(extra, blob, done);
      if (done === 0) {
        if (split === null) blobs[i] = rest;
        else split.push(rest);
        continue;
      }
      split ??= blobs.slice(0, i);
      split.push(blob.subarray(0, done), rest);
    }
    if (split !== null) extra.blobs = split;
  }

  /**
   * A copy of `blob` from `done` on: in the spare buffer when it is free and large enough
   * (a stream of large messages that keep blocking on a full ring reuses one), else in a
   * new one.
   */
  #copyRest(extra: Extra, blob: Uint8Array, done: number): Uint8Array {
    const n = blob.length - done;
    let copy: Uint8Array;
    const spare = this.#spare;
    if (extra.copy === undefined && spare !== null && spare.byteLength >= n) {
      this.#spare = null;
      extra.copy = spare;
      copy = new Uint8Array(spare, 0, n);
    } else {
      const own = new ArrayBuffer(n);
      copy = new Uint8Array(own);
      if (extra.copy === undefined) extra.copy = own;
    }
    copy.set(done === 0 ? blob : blob.subarray(done));
    return copy;
  }

  /** The promise of the messages queued now: it resolves once they are all written. */
  #pending(): Promise<void> {
    if (this.#gen === null) {
      this.#gen = Promise.withResolvers<void>();
      this.#handled(this.#gen.promise);
    }
    return this.#gen.promise;
  }

  readonly #endTurn = (): void => {
    this.#turnOpen = false;
    if (this.#sent < this.#end && !this.#flushing && !this.closed) void this.#flush();
  };

  #handled(promise: Promise<void>): Promise<void> {
    promise.catch(() => {});
    return promise;
  }

  async #flush(): Promise<void> {
    if (this.closed || this.#flushing) return;
    this.#flushing = true;
    try {
      while (!this.#writeBatch()) await this.#waitForRoom();
      this.#waited = false;
      const gen = this.#gen;
      this.#gen = null;
      gen?.resolve();
    } catch (e) {
      this.#failSending(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.#flushing = false;
    }
  }

  /** After a failed write: every queued message is dropped, and later sends fail too. */
  #failSending(error: Error): void {
    if (this.#sendError === null) this.#sendError = error;
    this.#discardBatch();
    const gen = this.#gen;
    this.#gen = null;
    gen?.reject(error);
  }

  #discardBatch(): void {
    for (let i = this.#extraHead; i < this.#extras.length; i++) {
      for (const fd of this.#extras[i]?.fds ?? NO_FDS) libc.close(fd);
    }
    this.#extras.length = 0;
    this.#extraHead = 0;
    this.#sent = this.#end = 0;
    this.#entryDone = 0;
    this.#entryPath = -1;
  }

  /** Whether the peer's side of the socket is gone (checked without reading anything). */
  #peerHungUp(): boolean {
    if (this.closed) return false;
    return (readyEvents(this.fd, C.POLLRDHUP) & (C.POLLRDHUP | C.POLLHUP | C.POLLERR)) !== 0;
  }

  /** Waits until what blocked the batch can move: room in the socket, or a ring slot. */
  async #waitForRoom(): Promise<void> {
    this.#commitSlot();
    this.#waited = true;
    if (!this.#blockedOnRing) {
      await waitFd(this.use("postMessage"), C.POLLOUT, undefined, this.#sendContext);
      return;
    }
    while (true) {
      try {
        this.#slot = await this.#txRing!.reserve({ timeout: SLICE_MS });
        this.#slotUsed = 0;
        return;
      } catch (e) {
        if (this.closed) throw IpcError.closed("Port", "postMessage");
        if (!(e instanceof IpcError && e.code === "ETIMEDOUT")) throw e;
        if (this.#peerHungUp()) throw peerGone("postMessage");
      }
    }
  }

  /**
   * Writes the batch as far as it goes without waiting.
   *
   * @returns `true` when all of it is written; `false` when blocked (`#blockedOnRing`
   *   says on what).
   */
  #writeBatch(): boolean {
    this.#spinForSlot = true;
    const burst = this.#waited || this.#entryEnd(this.#sent) < this.#end;
    while (this.#sent < this.#end) {
      const at = this.#sent;
      const view = this.#encoder.view;
      const fds = view.getUint16(at + 2, true);
      const length = view.getUint32(at + 4, true);
      if (this.#entryPath < 0) this.#entryPath = this.#choosePath(fds, length, burst);
      const path = this.#entryPath;
      if (this.#txPath !== path) {
        if (!this.#switchTo(path)) return false;
        continue;
      }
      if (!(path === SOCKET ? this.#sendEntry(burst) : this.#ringEntry())) return false;
    }
    this.#commitSlot();
    this.#sent = this.#end = 0;
    this.#extras.length = 0;
    this.#extraHead = 0;
    return true;
  }

  /** Where the record at `at` ends in the batch. */
  #entryEnd(at: number): number {
    return at + RECORD_HEADER + 4 + this.#encoder.view.getUint32(at + RECORD_HEADER, true);
  }

  /** Moves past the message at #sent, which is now all written. */
  #entryWritten(hasExtra: boolean): void {
    if (hasExtra) {
      const extra = this.#extras[this.#extraHead];
      this.#extras[this.#extraHead++] = undefined;
      for (const fd of extra?.fds ?? NO_FDS) libc.close(fd);
      const copy = extra?.copy;
      if (
        copy !== undefined && copy.byteLength <= SPARE_MAX &&
        (this.#spare === null || this.#spare.byteLength < copy.byteLength)
      ) this.#spare = copy;
    }
    this.#sent = this.#entryEnd(this.#sent);
    this.#entryDone = 0;
    this.#entryPath = -1;
  }

  #choosePath(fds: number, length: number, burst: boolean): number {
    if (fds > 0 || !this.#peerRings || this.#ringFailed || crossover === Infinity) return SOCKET;
    return this.#txRing !== null || length >= crossover || burst || this.#quick >= QUICK_RUN
      ? RING
      : SOCKET;
  }

  /** Counts the messages sent in a row, each within PACE_MS of the one before. */
  #countPace(): void {
    const now = performance.now();
    this.#quick = now - this.#lastSent < PACE_MS ? this.#quick + 1 : 0;
    this.#lastSent = now;
  }

  /** Starts sending on the other path; `false` when that must wait. */
  #switchTo(path: number): boolean {
    if (path === RING) {
      if (this.#txRing === null) {
        try {
          const { channel, fd } = createChannelMemfd("sysipc-port", RING_SLOTS, RING_SLOT_SIZE);
          this.#txRing = channel;
          this.#txRingFd = fd;
        } catch {
          // No shared memory to be had: everything stays on the socket.
          this.#ringFailed = true;
          this.#entryPath = -1;
          return true;
        }
      }
      const ringFd = this.#txRingFd;
      const kind = ringFd >= 0 ? R_RING : R_SWITCH;
      writeRecord(this.#unitView, 0, kind, ringFd >= 0 ? 1 : 0, 0);
      const fds = ringFd >= 0 ? [ringFd] : NO_FDS;
      if (this.#send(this.#unit, RECORD_HEADER, fds) < 0) return false;
      if (ringFd >= 0) {
        libc.close(ringFd);
        this.#txRingFd = -1;
      }
      this.#txPath = RING;
      return true;
    }
    if (!this.#reserveRoom(RECORD_HEADER)) return false;
    writeRecord(new DataView(this.#slot!.bytes.buffer), this.#slotOffset(), R_SWITCH, 0, 0);
    this.#slotUsed += RECORD_HEADER;
    this.#commitSlot();
    this.#txPath = SOCKET;
    return true;
  }

  /** One non-blocking send of `length` bytes of `bytes`: bytes sent, or -1 when the socket is full. */
  #send(bytes: Uint8Array, length: number, fds: readonly number[]): number {
    this.#blockedOnRing = false;
    const fd = this.use("postMessage");
    if (fds.length > 0) {
      try {
        return this.#io.send(fd, bytes.subarray(0, length), 0, fds, null, NONBLOCKING);
      } catch (e) {
        throw gone(e, "postMessage");
      }
    }
    while (true) {
      // send(2) takes the buffer as is (sendmsg needs its address, which costs Deno more).
      const n = libc.send(fd, bytes, length, NONBLOCKING | C.MSG_NOSIGNAL);
      if (n >= 0) return n;
      const e = errno();
      if (e === EAGAIN) return -1;
      if (e !== EINTR) throw gone(new IpcError({ errno: e, syscall: "sendmsg" }), "postMessage");
    }
  }

  /**
   * Sends the message at #sent over the socket: with the small ones after it in the same
   * datagram when it is small, else as much of it as one datagram holds.
   *
   * @returns `false` when the socket is full.
   */
  #sendEntry(burst: boolean): boolean {
    const view = this.#encoder.view;
    const at = this.#sent;
    const fds = view.getUint16(at + 2, true);
    const length = view.getUint32(at + 4, true);
    const headLength = 4 + view.getUint32(at + RECORD_HEADER, true);
    const hasExtra = fds > 0 || length > headLength;
    const extra = hasExtra ? this.#extras[this.#extraHead]! : undefined;
    if (this.#entryDone === 0 && length === headLength && RECORD_HEADER + length <= UNIT_MAX) {
      // Records ready in the batch: send them from there, as many as fit one datagram.
      let end = at + RECORD_HEADER + length;
      let count = 1;
      while (end < this.#end) {
        const next = view.getUint32(end + 4, true);
        const nextHead = 4 + view.getUint32(end + RECORD_HEADER, true);
        if (view.getUint16(end + 2, true) > 0 || next !== nextHead) break;
        if (end + RECORD_HEADER + next - at > UNIT_MAX) break;
        if (this.#choosePath(0, next, burst) !== SOCKET) break;
        end += RECORD_HEADER + next;
        count++;
      }
      const run = this.#batchView(at);
      if (this.#send(run, end - at, extra?.fds ?? NO_FDS) < 0) return false;
      this.#entryWritten(hasExtra);
      for (let i = 1; i < count; i++) this.#entryWritten(false);
      return true;
    }
    // A message with blobs, or too large for one datagram: copied into the unit buffer.
    const unit = this.#unit;
    let used: number;
    let chunk: number;
    if (this.#entryDone === 0) {
      if (RECORD_HEADER + length <= UNIT_MAX) {
        writeRecord(this.#unitView, 0, R_MESSAGE, fds, length);
        chunk = length;
        used = RECORD_HEADER;
      } else {
        chunk = UNIT_MAX - RECORD_HEADER - 4;
        writeRecord(this.#unitView, 0, R_BEGIN, fds, 4 + chunk);
        this.#unitView.setUint32(RECORD_HEADER, length, true);
        used = RECORD_HEADER + 4;
      }
    } else {
      chunk = Math.min(length - this.#entryDone, UNIT_MAX - RECORD_HEADER);
      writeRecord(this.#unitView, 0, R_PART, 0, chunk);
      used = RECORD_HEADER;
    }
    this.#copyMessage(unit, used, at, headLength, extra?.blobs ?? NO_BLOBS, this.#entryDone, chunk);
    const first = this.#entryDone === 0;
    if (this.#send(unit, used + chunk, first ? extra?.fds ?? NO_FDS : NO_FDS) < 0) {
      return false;
    }
    this.#entryDone += chunk;
    if (this.#entryDone === length) this.#entryWritten(hasExtra);
    return true;
  }

  /** The batch from `at` on (the whole buffer for 0; a view kept while `at` repeats). */
  #batchView(at: number): Uint8Array {
    const bytes = this.#encoder.bytes;
    if (at === 0) return bytes;
    const run = this.#run;
    if (run.buffer === bytes.buffer && run.byteOffset === at) return run;
    return this.#run = new Uint8Array(bytes.buffer, at);
  }

  /** Copies bytes `[from, from + n)` of the message at `at` (head, then blobs) into `dest`. */
  #copyMessage(
    dest: Uint8Array,
    destOffset: number,
    at: number,
    headLength: number,
    blobs: readonly Uint8Array[],
    from: number,
    n: number,
  ): void {
    const batch = this.#encoder.bytes;
    if (from < headLength) {
      const take = Math.min(n, headLength - from);
      const start = at + RECORD_HEADER + from;
      dest.set(batch.subarray(start, start + take), destOffset);
      destOffset += take;
      from += take;
      n -= take;
    }
    let skip = from - headLength;
    for (let i = 0; i < blobs.length && n > 0; i++) {
      const blob = blobs[i]!;
      if (skip >= blob.length) {
        skip -= blob.length;
        continue;
      }
      const take = Math.min(n, blob.length - skip);
      dest.set(
        skip === 0 && take === blob.length ? blob : blob.subarray(skip, skip + take),
        destOffset,
      );
      destOffset += take;
      n -= take;
      skip = 0;
    }
  }

  /** Where the next record goes in the open slot. */
  #slotOffset(): number {
    return this.#slot!.bytes.byteOffset + this.#slotUsed;
  }

  /** Makes sure the open ring slot has `n` bytes free (committing a fuller one); `false` when the ring is full. */
  #reserveRoom(n: number): boolean {
    if (this.#slot !== null && RING_SLOT_SIZE - this.#slotUsed >= n) return true;
    this.#commitSlot();
    let slot = this.#txRing!.tryReserve();
    if (slot === null && this.#spinForSlot) {
      // Once per batch: a reader on this CPU empties the ring during the spin's yield,
      // which spares the copy of the message's rest that waiting needs (#snapshot).
      this.#spinForSlot = false;
      slot = reserveSoon(this.#txRing!);
    }
    if (slot === null) {
      this.#blockedOnRing = true;
      return false;
    }
    this.#slot = slot;
    this.#slotUsed = 0;
    return true;
  }

  #commitSlot(): void {
    const slot = this.#slot;
    if (slot === null) return;
    this.#slot = null;
    slot.commit(this.#slotUsed);
  }

  /**
   * Writes the message at #sent into the ring: whole into the open slot when it fits,
   * else split into a begin record and parts, a slot each.
   *
   * @returns `false` when the ring is full.
   */
  #ringEntry(): boolean {
    const view = this.#encoder.view;
    const at = this.#sent;
    const length = view.getUint32(at + 4, true);
    const headLength = 4 + view.getUint32(at + RECORD_HEADER, true);
    const hasExtra = length > headLength;
    const blobs = hasExtra ? this.#extras[this.#extraHead]!.blobs : NO_BLOBS;
    while (true) {
      const left = length - this.#entryDone;
      if (this.#entryDone === 0 && RECORD_HEADER + length <= RING_SLOT_SIZE) {
        if (!this.#reserveRoom(RECORD_HEADER + length)) return false;
        const slot = this.#slot!.bytes;
        const offset = this.#slotUsed;
        writeRecord(this.#txView.of(slot.buffer), slot.byteOffset + offset, R_MESSAGE, 0, length);
        this.#copyMessage(slot, offset + RECORD_HEADER, at, headLength, blobs, 0, length);
        this.#slotUsed += RECORD_HEADER + length;
        this.#entryWritten(hasExtra);
        return true;
      }
      const begin = this.#entryDone === 0;
      const overhead = RECORD_HEADER + (begin ? 4 : 0);
      // Parts start in a fresh slot unless this one has a good share left.
      if (!this.#reserveRoom(overhead + Math.min(left, RING_SLOT_SIZE >> 2))) return false;
      const slot = this.#slot!.bytes;
      const offset = this.#slotUsed;
      const chunk = Math.min(left, RING_SLOT_SIZE - offset - overhead);
      const v = this.#txView.of(slot.buffer);
      writeRecord(
        v,
        slot.byteOffset + offset,
        begin ? R_BEGIN : R_PART,
        0,
        chunk + overhead - RECORD_HEADER,
      );
      if (begin) v.setUint32(slot.byteOffset + offset + RECORD_HEADER, length, true);
      this.#copyMessage(slot, offset + overhead, at, headLength, blobs, this.#entryDone, chunk);
      this.#slotUsed += overhead + chunk;
      this.#entryDone += chunk;
      if (this.#entryDone === length) {
        this.#entryWritten(hasExtra);
        return true;
      }
      this.#commitSlot();
    }
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  /**
   * Receives the next message, waiting without blocking the event loop. Messages arrive
   * in the order they were sent; several pending `receive` calls are served in the order
   * they were made (before `onmessage`). Handles in it are this process's: close them.
   *
   * @example
   * ```ts
   * import { connectPort, listenPort } from "@sysipc/sysipc/port";
   * const name = `/example-${Date.now()}`;
   * using listener = listenPort(name);
   * const [a, b] = await Promise.all([connectPort(name), listener.accept()]);
   * a.postMessage(new Map([["cycle", { self: null as unknown }]]));
   * const map = (await b.receive({ timeout: 5000 })) as Map<string, unknown>;
   * console.log(map.get("cycle")); // { self: null }
   * a.close();
   * await b.receive().catch((e) => console.log(e.code)); // "EPIPE": a is gone
   * b.close();
   * ```
   *
   * @param options `timeout` (ms) and `signal`.
   * @returns The message.
   * @throws {IpcError} `EPIPE` once the peer is gone and every message it sent has been
   *   received; `EPROTO` for a message that could not be decoded (the next receive gets
   *   the next message) or a stream the peer broke (every later receive fails too);
   *   `ETIMEDOUT`, `EAGAIN` (timeout 0 and nothing there), `EBADF` when closed.
   */
  receive(options?: WaitOptions): Promise<unknown> {
    this.use("receive");
    checkWaitOptions(options);
    if (this.#inboxHead === this.#inbox.length && !this.#pumping && this.#waiters.length === 0) {
      // Nobody else reading: take what is there now, with no waiting machinery, or what
      // the peer sends while this side yields once (attemptNow).
      try {
        attemptNow(this.#readNow, undefined, this.spin, options);
      } catch (e) {
        this.#failReceiving(e);
      }
    }
    if (this.#inboxHead < this.#inbox.length) {
      const entry = this.#take();
      return entry instanceof Failure ? Promise.reject(entry.error) : Promise.resolve(entry);
    }
    if (this.#rxError !== null) return Promise.reject(this.#rxError);
    if (options?.timeout === 0) return Promise.reject(IpcError.of("EAGAIN", "receive"));
    return track<unknown>(options, this.#receiveContext, (settle, fail) => {
      const waiter: Waiter = { settle, fail };
      this.#waiters.push(waiter);
      void this.#pump();
      return (then) => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        if (!this.#wanted()) this.#stopPump();
        then();
      };
    });
  }

  /**
   * Called with each message (`event.data`) that no `receive` call is waiting for. While
   * set, the port reads continuously and keeps the process alive; `null` (the default)
   * stops it.
   */
  get onmessage(): ((event: PortMessageEvent) => void) | null {
    return this.#onmessage;
  }

  set onmessage(handler: ((event: PortMessageEvent) => void) | null) {
    if (handler !== null && typeof handler !== "function") {
      throw new TypeError(`onmessage must be a function or null, got ${describeValue(handler)}`);
    }
    this.#onmessage = handler;
    if (handler !== null && !this.closed) void this.#pump();
    else if (!this.#wanted()) this.#stopPump();
  }

  /** Ends the pump's wait: nobody wants messages now. */
  #stopPump(): void {
    cancelAll(this.#pumpWaits, STOP);
    this.#pumpAbort?.abort(STOP);
    this.#pumpAbort = null;
  }

  /**
   * Called (while `onmessage` is set) for a message that arrived but could not be decoded,
   * with the `EPROTO` error; without it such messages are dropped.
   */
  get onmessageerror(): ((event: PortMessageErrorEvent) => void) | null {
    return this.#onmessageerror;
  }

  set onmessageerror(handler: ((event: PortMessageErrorEvent) => void) | null) {
    if (handler !== null && typeof handler !== "function") {
      throw new TypeError(
        `onmessageerror must be a function or null, got ${describeValue(handler)}`,
      );
    }
    this.#onmessageerror = handler;
  }

  /**
   * The messages, one after another, until the peer is gone (or this port is closed):
   * then the loop ends without an error.
   *
   * @returns An async iterator of messages.
   */
  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return untilClosed(() => this.closed, () => this.receive(), (e) => e.code === "EPIPE");
  }

  #wanted(): boolean {
    return this.#waiters.length > 0 || this.#onmessage !== null;
  }

  #take(): unknown {
    const inbox = this.#inbox;
    const entry = inbox[this.#inboxHead];
    inbox[this.#inboxHead++] = undefined;
    if (this.#inboxHead === inbox.length) {
      inbox.length = 0;
      this.#inboxHead = 0;
    }
    return entry instanceof WithHandles ? entry.value : entry;
  }

  /** Hands inbox entries to waiting receives, then to `onmessage`; `true` if any was. */
  #deliver(): boolean {
    let delivered = false;
    while (this.#inboxHead < this.#inbox.length) {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) {
        const entry = this.#take();
        if (entry instanceof Failure) waiter.fail(entry.error);
        else waiter.settle(entry);
        delivered = true;
        continue;
      }
      const handler = this.#onmessage;
      if (handler === null) break;
      const entry = this.#take();
      delivered = true;
      try {
        if (entry instanceof Failure) this.#onmessageerror?.({ error: entry.error });
        else handler({ data: entry });
      } catch (e) {
        // As an event listener's exception: reported, and delivery goes on.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    return delivered;
  }

  /** Reads while messages are wanted; one pump at a time. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#wanted() && !this.closed) {
        if (this.#deliver()) continue;
        if (this.#rxError !== null) throw this.#rxError;
        if (this.#readSome()) continue;
        try {
          await this.#waitForData();
        } catch (e) {
          if (e !== STOP || this.closed) throw e;
        }
      }
    } catch (e) {
      this.#failReceiving(e);
    } finally {
      this.#pumping = false;
    }
  }

  /** The receive side failed (peer gone, broken stream): every waiter hears it. */
  #failReceiving(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    if (this.closed) return; // close() has cancelled the waits already
    if (this.#rxError === null) this.#rxError = error;
    for (const waiter of this.#waiters.splice(0)) waiter.fail(this.#rxError);
  }

  /** Reads until a message is in the inbox or nothing is left: `true` if one is, else `undefined`. */
  readonly #readNow = (): true | undefined => {
    while (this.#inboxHead === this.#inbox.length) {
      if (this.#rxError !== null || !this.#readSome()) return undefined;
    }
    return true;
  };

  /** Reads what is there on the current path without waiting; `true` if anything was. */
  #readSome(): boolean {
    if (this.#rxPath === SOCKET) {
      const fd = this.use("receive");
      const flags = NONBLOCKING | C.MSG_TRUNC;
      let got;
      try {
        got = this.#io.receive(fd, UNIT_MAX, C.SCM_MAX_FD, flags, false, false);
      } catch (e) {
        throw gone(e, "receive");
      }
      if (got === null) return false;
      const { data, fds, truncated, fdsTruncated } = got.message;
      if (got.length === 0 && fds.length === 0) {
        this.#lostPart();
        throw peerGone("receive");
      }
      if (truncated || fdsTruncated) {
        for (const f of fds) libc.close(f);
        throw protocolError(
          truncated
            ? `a datagram of ${got.length} bytes (the most is ${UNIT_MAX})`
            : "too many descriptors",
        );
      }
      this.#unitIn(data, fds, true);
      return true;
    }
    const message = this.#rxRing!.tryReceiveView();
    if (message === null) return false;
    try {
      this.#unitIn(message.bytes, NO_FDS, false);
    } finally {
      message.release();
    }
    return true;
  }

  /** Waits until the current path has something (a ring message is processed here). */
  async #waitForData(): Promise<void> {
    if (this.#rxPath === SOCKET) {
      await waitFd(this.use("receive"), C.POLLIN, undefined, this.#pumpContext);
      return;
    }
    const ring = this.#rxRing!;
    // One controller for the pump's waits until it is used: none made per message.
    const abort = this.#pumpAbort ??= new AbortController();
    try {
      const message = await ring.receiveView({ timeout: SLICE_MS, signal: abort.signal });
      try {
        this.#unitIn(message.bytes, NO_FDS, false);
      } finally {
        message.release();
      }
    } catch (e) {
      if (this.closed) throw IpcError.closed("Port", "receive");
      if (abort.signal.aborted) throw STOP;
      if (!(e instanceof IpcError)) throw e;
      if (e.code === "EOWNERDEAD") {
        throw IpcError.of("EPIPE", "receive", undefined, "The peer died while sending a message");
      }
      if (e.code !== "ETIMEDOUT") throw e;
      // Gone only once nothing is left: the peer may have written and then exited.
      if (this.#peerHungUp() && !this.#readSome()) {
        this.#lostPart();
        throw peerGone("receive");
      }
    }
  }

  /** The peer is gone in the middle of a message: what came of it is dropped. */
  #lostPart(): void {
    const asm = this.#asm;
    if (asm === null) return;
    this.#asm = null;
    this.#dropHandles(asm.handles, asm.fds);
  }

  /** Closes the handles a dropped message made and its descriptors nobody took. */
  #dropHandles(handles: readonly unknown[], fds: readonly number[]): void {
    const taken = new Set<number>();
    for (const h of handles) {
      if (typeof h === "number") {
        libc.close(h);
        taken.add(h);
      } else if (h instanceof FdHandle) {
        taken.add(h.fd);
        h.close();
      }
    }
    for (const fd of fds) if (!taken.has(fd)) libc.close(fd);
  }

  /** Takes the records of one datagram or ring slot. */
  #unitIn(bytes: Uint8Array, fds: readonly number[], socket: boolean): void {
    const view = this.#rxView.of(bytes.buffer);
    const base = bytes.byteOffset;
    let at = 0;
    let fdAt = 0;
    const inboxBefore = this.#inbox.length;
    try {
      while (at < bytes.length) {
        if (bytes.length - at < RECORD_HEADER) throw protocolError("a record cut short");
        const kind = bytes[at]!;
        const count = view.getUint16(base + at + 2, true);
        const length = view.getUint32(base + at + 4, true);
        const payload = at + RECORD_HEADER;
        if (length > bytes.length - payload) throw protocolError("a record longer than its unit");
        if (count > fds.length - fdAt) {
          throw protocolError("a record claims descriptors that did not come");
        }
        const recordFds = count === 0 ? NO_FDS : fds.slice(fdAt, fdAt + count);
        fdAt += count;
        at = payload + length;
        switch (kind) {
          case R_MESSAGE:
            if (this.#asm !== null) throw protocolError("a message inside another");
            this.#message(bytes, payload, length, recordFds);
            break;
          case R_BEGIN:
            this.#begin(
              bytes,
              payload,
              length < 4 ? 0 : view.getUint32(base + payload, true),
              length,
              recordFds,
            );
            break;
          case R_PART:
            if (this.#asm === null) throw protocolError("a part with no message begun");
            this.#feed(bytes, payload, length);
            break;
          case R_SWITCH:
          case R_RING:
            if (at !== bytes.length || this.#asm !== null) {
              throw protocolError("a switch that is not the last record, or inside a message");
            }
            if (kind === R_RING) this.#ringIn(socket, recordFds);
            else if (this.#rxPath === SOCKET && this.#rxRing === null) {
              throw protocolError("a switch to a ring that was never offered");
            }
            this.#rxPath = this.#rxPath === SOCKET ? RING : SOCKET;
            break;
          default:
            throw protocolError(`a record of unknown kind ${kind}`);
        }
      }
      if (fdAt !== fds.length) throw protocolError("descriptors that no record claims");
    } catch (e) {
      for (let i = fdAt; i < fds.length; i++) libc.close(fds[i]!);
      // A broken unit delivers nothing, not even the messages before the break.
      for (const entry of this.#inbox.splice(inboxBefore)) {
        if (entry instanceof WithHandles) this.#dropHandles(entry.handles, NO_FDS);
      }
      throw e;
    }
  }

  #ringIn(socket: boolean, fds: readonly number[]): void {
    if (!socket || fds.length !== 1 || this.#rxRing !== null || this.#rxPath !== SOCKET) {
      for (const fd of fds) libc.close(fd);
      throw protocolError("a ring offered twice, or not with one descriptor on the socket");
    }
    try {
      this.#rxRing = openChannelFd(fds[0]!, "sysipc-port");
    } catch (e) {
      throw protocolError(`the peer's ring cannot be used: ${(e as Error).message}`);
    } finally {
      libc.close(fds[0]!);
    }
  }

  /** A message whole in one record: decoded straight from it. */
  #message(bytes: Uint8Array, at: number, length: number, fds: readonly number[]): void {
    if (length > this.#maxMessage) {
      for (const fd of fds) libc.close(fd);
      throw protocolError(`a message of ${length} bytes (this side takes ${this.#maxMessage})`);
    }
    const handles: unknown[] = fds.length === 0 ? NO_FDS : [];
    try {
      if (length < 4) throw protocolError("a message without its value stream's length");
      const valueLength = this.#rxView.of(bytes.buffer).getUint32(bytes.byteOffset + at, true);
      if (valueLength > length - 4) throw protocolError("a value stream longer than its message");
      const start = at + 4;
      const end = start + valueLength;
      const { value, blobs } = this.#decoder.decode(
        bytes,
        start,
        end,
        length - 4 - valueLength,
        this.#handleMaker(fds, handles),
      );
      let from = end;
      for (const blob of blobs) {
        blob.set(bytes.subarray(from, from + blob.length));
        from += blob.length;
      }
      this.#closeUnclaimed(fds, handles);
      this.#inbox.push(handles.length > 0 ? new WithHandles(value, handles) : value);
    } catch (e) {
      this.#dropHandles(handles, fds);
      if (!(e instanceof IpcError) || e.code !== "EPROTO") throw e;
      this.#inbox.push(new Failure(e));
    }
  }

  /** Turns descriptor `index` of a message into a handle, recording it. */
  #handleMaker(
    fds: readonly number[],
    handles: unknown[],
  ): ((kind: number, index: number, flags: number) => unknown) | null {
    if (fds.length === 0) return null;
    return (kind, index, flags) => {
      if (index >= fds.length) throw protocolError(`descriptor ${index} of ${fds.length}`);
      let handle: unknown;
      try {
        handle = rebuild(kind, fds[index]!, flags);
      } catch (e) {
        throw e instanceof IpcError && e.code === "EPROTO" ? e : protocolError(
          `descriptor ${index} is not what it was sent as: ${(e as Error).message}`,
        );
      }
      handles.push(handle);
      return handle;
    };
  }

  /** Closes the descriptors of a message that no handle in it took. */
  #closeUnclaimed(fds: readonly number[], handles: readonly unknown[]): void {
    if (fds.length === 0) return;
    const taken = new Set<number>();
    for (const h of handles) taken.add(typeof h === "number" ? h : (h as FdHandle).fd);
    for (const fd of fds) if (!taken.has(fd)) libc.close(fd);
  }

  /** `total`: the message's size, from the record's first 4 bytes (0 when it has fewer). */
  #begin(
    bytes: Uint8Array,
    at: number,
    total: number,
    length: number,
    fds: readonly number[],
  ): void {
    if (this.#asm !== null) throw protocolError("a message begun inside another");
    if (length < 4) throw protocolError("a begin record without the message's length");
    if (total > this.#maxMessage) {
      throw protocolError(`a message of ${total} bytes (this side takes ${this.#maxMessage})`);
    }
    if (total <= length - 4) throw protocolError("a begun message that fits its first record");
    this.#asm = {
      total,
      got: 0,
      head: new Uint8Array(Math.min(total, 4096)),
      headLength: -1,
      decoded: false,
      value: undefined,
      blobs: NO_BLOBS,
      blob: 0,
      blobOffset: 0,
      fds: fds.slice(),
      handles: [],
    };
    this.#feed(bytes, at + 4, length - 4);
  }

  /** The next bytes of the message being assembled. */
  #feed(bytes: Uint8Array, at: number, n: number): void {
    const asm = this.#asm!;
    if (n > asm.total - asm.got) throw protocolError("a message longer than it said");
    asm.got += n;
    while (n > 0) {
      if (!asm.decoded) {
        // The head: the value stream's length, then the value stream.
        const want = asm.headLength < 0 ? 4 : asm.headLength;
        const have = asm.head.length === 0 ? 0 : this.#headFill;
        const take = Math.min(n, want - have);
        if (have + take > asm.head.length) {
          // Grown as bytes arrive, never beyond what came.
          const grown = new Uint8Array(Math.min(want, Math.max(2 * asm.head.length, have + take)));
          grown.set(asm.head.subarray(0, have));
          asm.head = grown;
        }
        asm.head.set(bytes.subarray(at, at + take), have);
        this.#headFill = have + take;
        at += take;
        n -= take;
        if (this.#headFill === 4 && asm.headLength < 0) {
          const valueLength = new DataView(asm.head.buffer).getUint32(0, true);
          if (valueLength > asm.total - 4) {
            throw protocolError("a value stream longer than its message");
          }
          asm.headLength = 4 + valueLength;
        }
        if (asm.headLength >= 0 && this.#headFill === asm.headLength) this.#decodeHead(asm);
        continue;
      }
      const blob = asm.blobs[asm.blob];
      if (blob === undefined) throw protocolError("bytes after the last ArrayBuffer");
      const take = Math.min(n, blob.length - asm.blobOffset);
      blob.set(bytes.subarray(at, at + take), asm.blobOffset);
      asm.blobOffset += take;
      at += take;
      n -= take;
      if (asm.blobOffset === blob.length) {
        asm.blob++;
        asm.blobOffset = 0;
      }
    }
    if (asm.got === asm.total) {
      this.#asm = null;
      this.#headFill = 0;
      if (!asm.decoded) throw protocolError("a message that ended in its value stream");
      this.#inbox.push(
        asm.handles.length > 0 ? new WithHandles(asm.value, asm.handles) : asm.value,
      );
    }
  }

  #decodeHead(asm: Assembly): void {
    try {
      const { value, blobs } = this.#decoder.decode(
        asm.head,
        4,
        asm.headLength,
        asm.total - asm.headLength,
        this.#handleMaker(asm.fds, asm.handles),
      );
      this.#closeUnclaimed(asm.fds, asm.handles);
      asm.value = value;
      asm.blobs = blobs;
      asm.decoded = true;
      asm.head = new Uint8Array(0);
    } catch (e) {
      this.#dropHandles(asm.handles, asm.fds);
      asm.handles = [];
      asm.fds = NO_FDS;
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Lifetime

  /**
   * Closes the port: what `postMessage` queued and can still be written without waiting
   * is sent, the rest is dropped (its promises reject with `EBADF`); pending receives
   * reject with `EBADF`; handles in messages that arrived but were not received are
   * closed. The peer receives what was sent, then `EPIPE`. Idempotent.
   */
  override close(): void {
    if (this.closed) return;
    try {
      if (this.#sendError === null && !this.#flushing && this.#sent < this.#end) this.#writeBatch();
    } catch {
      // nothing more can be sent
    }
    try {
      this.#commitSlot();
    } catch {
      // the ring is unusable: the peer is gone
    }
    cancelAll(this.#pumpWaits, IpcError.closed("Port", "receive"));
    super.close();
    this.#failSending(IpcError.closed("Port", "postMessage"));
    if (this.#txRingFd >= 0) libc.close(this.#txRingFd);
    this.#txRing?.close();
    this.#rxRing?.close();
    this.#lostPart();
    for (let i = this.#inboxHead; i < this.#inbox.length; i++) {
      const entry = this.#inbox[i];
      if (entry instanceof WithHandles) this.#dropHandles(entry.handles, NO_FDS);
    }
    this.#inbox.length = 0;
    this.#inboxHead = 0;
  }
}

// ---------------------------------------------------------------------------------------
// Making ports

/**
 * A port's abstract socket name: `"sysipc-port"` followed by `name`.
 *
 * @param name The port's name.
 * @returns The abstract name.
 * @throws {TypeError} For a name that breaks the rule.
 */
export function portAddress(name: unknown): string {
  posixName(name, "name");
  const address = ADDRESS_PREFIX + (name as string);
  const bytes = new TextEncoder().encode(address).length;
  if (bytes > MAX_NAME) {
    throw new TypeError(
      `name is too long: a port name holds at most ${MAX_NAME - ADDRESS_PREFIX.length} bytes ` +
        `of UTF-8 (slash included), got ${bytes - ADDRESS_PREFIX.length}`,
    );
  }
  return address;
}

function checkMaxMessage(options: PortOptions | undefined): number {
  return options?.maxMessageSize === undefined
    ? DEFAULT_MAX_MESSAGE
    : checkInteger(options.maxMessageSize, "maxMessageSize", 64, MAX_MESSAGE);
}

/** Wraps a connected socket: a copy of the connection's descriptor (the connection is closed). */
function adopt(connection: UnixConnection, maxMessage: number): Port {
  let fd: number;
  try {
    fd = check(libc.fcntl(connection.fd, C.F_DUPFD_CLOEXEC, 0), "fcntl(F_DUPFD_CLOEXEC)");
  } finally {
    connection.close();
  }
  constructing = true;
  return make(fd, maxMessage);
}

/**
 * Two ports connected to each other in this process, made without waiting (internal: for
 * tests, which need one at once).
 *
 * @param options `maxMessageSize`, for both.
 * @returns The two ends.
 */
export function portPair(options?: PortOptions): [Port, Port] {
  const maxMessage = checkMaxMessage(options);
  const [a, b] = socketpair("seqpacket");
  let ports: Port[] = [];
  try {
    ports = [adopt(a, maxMessage), adopt(b, maxMessage)];
    pairUp(ports[0]!, ports[1]!);
    return ports as [Port, Port];
  } catch (e) {
    a.close();
    b.close();
    for (const port of ports) port.close();
    throw e;
  }
}

/**
 * Connects to a port another process (or this one) listens on. The port is ready once the
 * listener's `accept` has taken the connection (the two exchange their hellos then), so
 * in one process, wait for both together.
 *
 * @example
 * ```ts
 * import { connectPort, listenPort } from "@sysipc/sysipc/port";
 * const name = `/example-${Date.now()}`;
 * using listener = listenPort(name);
 * const serving = listener.accept().then(async (port) => {
 *   for await (const message of port) await port.postMessage({ echo: message });
 *   port.close();
 * });
 * using port = await connectPort(name, { timeout: 5000 });
 * await port.postMessage([1n, "two", new Set([3])]);
 * console.log(await port.receive()); // { echo: [ 1n, "two", Set(1) { 3 } ] }
 * port.close();
 * await serving;
 * ```
 *
 * @param name `"/name"`: one leading slash, no other slash, 1 to 95 bytes after it (it
 *   becomes the abstract socket `"sysipc-port/name"`).
 * @param options `timeout` (ms) and `signal` (for connecting and the handshake),
 *   `anyUser`, `maxMessageSize`.
 * @returns The port.
 * @throws {TypeError} For a name that breaks the rule, or options of the wrong type.
 * @throws {IpcError} `ECONNREFUSED` when nothing listens on the name; `EACCES` when the
 *   listener's `mode` does not let this user in, or it runs as another user (see
 *   `anyUser`); `EPROTO` when the listener does not speak the protocol; `ETIMEDOUT`,
 *   `EAGAIN` (timeout 0).
 */
export async function connectPort(name: string, options?: PortConnectOptions): Promise<Port> {
  const abstract = portAddress(name);
  const maxMessage = checkMaxMessage(options);
  checkWaitOptions(options);
  if (options?.anyUser !== undefined && typeof options.anyUser !== "boolean") {
    throw new TypeError(`anyUser must be a boolean, got ${describeValue(options.anyUser)}`);
  }
  const deadline = deadlineOf(options);
  const connection = await connect({
    abstract,
    type: "seqpacket",
    timeout: options?.timeout,
    signal: options?.signal,
  });
  const port = adopt(connection, maxMessage);
  try {
    await handshake(port, remaining(options, deadline));
    const uid = port.peer.uid;
    if (!options?.anyUser && uid !== 0 && uid !== process.geteuid!()) {
      throw IpcError.of(
        "EACCES",
        "connect",
        name,
        `The listener runs as uid ${uid}, another user (anyUser: true allows it)`,
      );
    }
    return port;
  } catch (e) {
    port.close();
    throw e;
  }
}

/**
 * Listens for ports by name: other processes `connectPort(name)`, and each connection
 * becomes a {@linkcode Port} here when `accept` takes it.
 *
 * @example
 * ```ts
 * import { connectPort, listenPort } from "@sysipc/sysipc/port";
 * const name = `/example-${Date.now()}`;
 * const listener = listenPort(name, { mode: 0o600 });
 * // connectPort resolves once accept has taken the connection: wait for both.
 * const [client, server] = await Promise.all([connectPort(name), listener.accept()]);
 * console.log(server.peer.uid === client.peer.uid); // true
 * listener.close();
 * client.close();
 * server.close();
 * ```
 *
 * @param name `"/name"`: one leading slash, no other slash, 1 to 95 bytes after it. The
 *   port listens on the Linux abstract socket `"sysipc-port/name"` (no file; it goes
 *   away with the listener, even when the process is killed).
 * @param options `mode` (default `0o600`), `backlog`, `maxMessageSize`.
 * @returns The listener.
 * @throws {TypeError} For a name that breaks the rule, or options of the wrong type.
 * @throws {RangeError} For `mode` or `backlog` out of range.
 * @throws {IpcError} `EADDRINUSE` when a process already listens on the name.
 */
export function listenPort(name: string, options?: PortListenOptions): PortListener {
  const abstract = portAddress(name);
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const mode = options?.mode === undefined ? 0o600 : checkInteger(options.mode, "mode", 0, 0o777);
  const maxMessage = checkMaxMessage(options);
  const listener = listen({ abstract, type: "seqpacket", backlog: options?.backlog });
  return new PortListener(name, listener, mode, maxMessage, listenerKey);
}

const listenerKey = Symbol("PortListener");

/**
 * Connections to a port name, as {@linkcode Port}s: made by {@linkcode listenPort}. A client
 * whose user the `mode` does not let in is refused (it sees `EACCES`) and never shows up
 * here.
 */
export class PortListener implements AsyncIterable<Port>, Disposable {
  /** The port name it listens on. */
  readonly name: string;
  readonly #listener: UnixListener;
  readonly #mode: number;
  readonly #maxMessage: number;

  /**
   * Internal: listeners come from {@linkcode listenPort}; called from elsewhere, this throws.
   *
   * @param name The port name.
   * @param listener The listening socket.
   * @param mode Who may connect.
   * @param maxMessage The largest message accepted.
   * @param key Internal: `listenPort` makes listeners.
   */
  constructor(
    name: string,
    listener: UnixListener,
    mode: number,
    maxMessage: number,
    key?: symbol,
  ) {
    if (key !== listenerKey) {
      throw new TypeError("PortListener has no public constructor: use listenPort()");
    }
    this.name = name;
    this.#listener = listener;
    this.#mode = mode;
    this.#maxMessage = maxMessage;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#listener.closed;
  }

  /** Whether `mode` lets a process with these credentials in (as for a socket file's write bits). */
  #allows(peer: Credentials): boolean {
    if (peer.uid === 0) return true;
    if (peer.uid === process.geteuid!()) return (this.#mode & 0o200) !== 0;
    if (peer.gid === process.getegid!()) return (this.#mode & 0o020) !== 0;
    return (this.#mode & 0o002) !== 0;
  }

  /**
   * Accepts the next connection and completes its handshake, waiting without blocking the
   * event loop. A client that is refused, or does not complete its handshake within 5 s,
   * is dropped, and the wait goes on.
   *
   * @param options `timeout` (ms, for the whole wait) and `signal`.
   * @returns The port.
   * @throws {IpcError} `EBADF` when the listener is closed (also for a pending accept),
   *   `ETIMEDOUT`, `EAGAIN` when `timeout` is 0 and no client waits.
   */
  async accept(options?: WaitOptions): Promise<Port> {
    checkWaitOptions(options);
    const deadline = deadlineOf(options);
    while (true) {
      const connection = await this.#listener.accept(remaining(options, deadline));
      const credentials = connection.peerCredentials();
      if (!this.#allows(credentials)) {
        const refuse = new Uint8Array(new ArrayBuffer(RECORD_HEADER + 4));
        const view = new DataView(refuse.buffer);
        writeRecord(view, 0, R_REFUSE, 0, 4);
        view.setInt32(RECORD_HEADER, errnoNumber("EACCES"), true);
        try {
          connection.sendSync(refuse);
        } catch {
          // the client is gone already
        }
        connection.close();
        continue;
      }
      const port = adopt(connection, this.#maxMessage);
      const left = remaining(options, deadline)?.timeout;
      try {
        await handshake(port, {
          timeout: left === undefined ? HANDSHAKE_MS : Math.min(left, HANDSHAKE_MS),
          signal: options?.signal,
        });
        return port;
      } catch (e) {
        port.close();
        if (options?.signal?.aborted) throw options.signal.reason;
        if (deadline !== Infinity && performance.now() >= deadline) {
          throw IpcError.of("ETIMEDOUT", "accept", this.name, "Timed out");
        }
        if (e instanceof IpcError && e.code === "EBADF" && this.closed) throw e;
      }
    }
  }

  /**
   * Accepts ports one after another until the listener is closed (then the loop ends
   * without an error).
   *
   * @returns An async iterator of ports.
   */
  [Symbol.asyncIterator](): AsyncIterator<Port> {
    return untilClosed(() => this.closed, () => this.accept());
  }

  /** Stops listening; pending accepts reject with `EBADF`. Ports already made stay open. Idempotent. */
  close(): void {
    this.#listener.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

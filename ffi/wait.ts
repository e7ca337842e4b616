/**
 * The wait engine: the one way sysipc waits without blocking the event loop.
 *
 * # Design, and why
 *
 * Every async operation first tries its system call without blocking (`RWF_NOWAIT`,
 * `O_NONBLOCK`, `IPC_NOWAIT`, …). Only when that would block does it wait here, and the
 * wait is for *readiness*: nothing is read or consumed on the caller's behalf, so sync and
 * async calls can be mixed on one handle, a descriptor can be handed to a child at any
 * time, and a cancelled wait leaves the kernel object exactly as it was.
 *
 * Before parking, a wait checks readiness once per event-loop turn for a while (timers and
 * I/O keep running in between): a kernel wake-up costs 15–30 µs on a virtual machine, so a
 * peer that answers quickly is heard much sooner. Each handle adapts its spin budget
 * between 50 µs and a limit (`setWaitSpin`, default 1 ms): a wait that parked and was woken
 * soon after doubles it, a long idle wait halves it. Without adaptation, two processes in a
 * request–response loop can lock into a slow regime where each one's wake-up delay makes
 * the other park too (measured: 25 µs or 166 µs round trips, at random, with a fixed 50 µs).
 *
 * Backend 1, io_uring (Linux ≥ 5.6, chosen when `io_uring_setup` works): each wait is an
 * `IORING_OP_POLL_ADD` (or an `IORING_OP_OPENAT`, for FIFO opens that must wait for the
 * peer) hard-linked to a one-byte write into a private "doorbell" pipe. The runtime's own
 * reactor watches the doorbell's read end (`node:net` on Deno, `Bun.file().stream()` on
 * Bun), so a completed wait wakes the event loop directly: no helper thread, one wake-up,
 * as in C. Measured in-process round trips here: ≈ 11–13 µs, against ≈ 30 µs extra per
 * call for Deno's `nonblocking` FFI symbols (which also lose errno), and Bun has no
 * off-thread FFI at all. The runtime-stream paths alone (≈ 5 µs) read the bytes
 * themselves, read ahead even when paused, take ownership of the fd and force
 * `O_NONBLOCK` onto a file description other processes may share, so they are used only
 * for the doorbell. Cancelling (timeout, `AbortSignal`, handle closed) submits
 * `IORING_OP_ASYNC_CANCEL`, and the wait rejects only when the kernel has posted the
 * operation's result: nothing stays pending (a blocked FIFO open still counts as a peer
 * until then). A result that won the race is handed to the operation's `discard` (an
 * `openat` that succeeded has its fd closed).
 *
 * Backend 2, polling (when io_uring is unavailable, as under some container seccomp
 * profiles): the operation's non-blocking attempt is retried on a timer that backs off
 * from 0 to 16 ms. Correct, never blocks, but slower; `waitEngine()` tells which backend
 * runs. The same retry loop ({@linkcode pollUntil}) is the path for waits that are not fds.
 *
 * Timeouts use the runtime's timers, which run on a monotonic clock.
 *
 * @module
 */
import { clearImmediate, setImmediate } from "node:timers";
import { C } from "./constants.ts";
import { IpcError } from "./errors.ts";
import { EAGAIN, EBUSY, EINTR, errno, libc } from "./libc.ts";
import { type Doorbell, runtime } from "./runtime.ts";
import {
  cqringOffsets as CQO,
  pollfd as PFD,
  sqringOffsets as SQO,
  uringCqe as CQE,
  uringParams as UP,
  uringSqe as SQE,
} from "./structs.ts";

/** Options every operation that can block accepts. */
export interface WaitOptions {
  /**
   * Milliseconds to wait at most: `undefined` waits forever, `0` tries once, `> 0` waits
   * at most that long (monotonic clock).
   */
  timeout?: number;
  /** Cancels the wait; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** The pending waits of one handle, which `close()` cancels with an `EBADF` error. */
export type Owner = Set<(error: Error) => void>;

/** Describes a wait, for its errors. */
export interface WaitContext {
  /** The operation, as it appears in errors (`"read"`). */
  syscall: string;
  /** The path or name involved, if any. */
  path?: string;
  /** The handle's set of pending waits. */
  owner?: Owner;
  /** The handle's adaptive spin budget. */
  spin?: SpinState;
}

/** Which backend waits: `"io_uring"` or `"poll"`. */
export type EngineKind = "io_uring" | "poll";

const MAX_TIMER = 2 ** 31 - 1;

const SPIN_START = 50;
let spinLimit = 1000;

/**
 * How long a handle's fd waits spin before parking, in µs; adapted per handle (see
 * {@linkcode waitFd}).
 */
export interface SpinState {
  /** The current spin budget in microseconds. */
  budget: number;
}

/**
 * A fresh spin state for a new handle.
 *
 * @returns The state, starting at 50 µs (or the limit, if lower).
 */
export function newSpinState(): SpinState {
  return { budget: Math.min(SPIN_START, spinLimit) };
}

/**
 * Sets the most an fd wait may spin, checking readiness once per event-loop turn, before it
 * parks in the kernel. Each handle adapts its own budget between 50 µs and this limit: a
 * wait that parked and was woken soon after doubles it, a long idle wait halves it. The
 * event loop keeps running timers and I/O between checks; the cost is CPU time while
 * spinning. A kernel wake-up costs 15–30 µs on a virtual machine, so a peer that answers
 * within the budget is heard sooner. 0 turns spinning off.
 *
 * @param microseconds Default 1000; 0 to 100,000.
 * @throws {RangeError} Outside that range.
 */
export function setWaitSpin(microseconds: number): void {
  if (!Number.isFinite(microseconds) || microseconds < 0 || microseconds > 100_000) {
    throw new RangeError(`spin must be between 0 and 100000 microseconds, got ${microseconds}`);
  }
  spinLimit = microseconds;
}

const sharedSpin: SpinState = newSpinState();

/**
 * Checks wait options before any system call.
 *
 * @param options The options to check.
 * @throws {TypeError} When `signal` is not an `AbortSignal` or `timeout` is not a number.
 * @throws {RangeError} When `timeout` is negative or not a number.
 */
export function checkWaitOptions(options: WaitOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  const { timeout, signal } = options;
  if (timeout !== undefined) {
    if (typeof timeout !== "number") {
      throw new TypeError(`timeout must be a number of milliseconds, got ${typeof timeout}`);
    }
    if (Number.isNaN(timeout) || timeout < 0) {
      throw new RangeError(`timeout must be >= 0 milliseconds, got ${timeout}`);
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("signal must be an AbortSignal");
  }
}

/**
 * The options for the next wait of an operation that may wait several times (a large write,
 * a read that lost a race): the same signal, and whatever is left of the timeout.
 *
 * @param options The operation's options.
 * @param deadline `performance.now()` plus the timeout, taken when the operation started.
 * @returns Options for the next wait.
 */
export function remaining(
  options: WaitOptions | undefined,
  deadline: number,
): WaitOptions | undefined {
  if (options?.timeout === undefined) return options;
  return { signal: options.signal, timeout: Math.max(0, deadline - performance.now()) };
}

/** Cancels a backend operation, then calls `then` once the operation is over. */
type Cancel = (then: () => void) => void;

/**
 * Runs one wait: honours `timeout` and `signal`, registers with the owner, and settles
 * once. `start` begins the backend's operation, calls `settle` or `fail` when it ends
 * (possibly synchronously), and returns how to cancel it. A wait that is given up
 * rejects only after its operation is over, so nothing is left pending in the kernel.
 */
function track<T>(
  options: WaitOptions | undefined,
  context: WaitContext,
  start: (settle: (value: T) => void, fail: (error: unknown) => void) => Cancel,
): Promise<T> {
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      context.owner?.delete(giveUp);
    };
    const giveUp = (error: unknown) => {
      if (done) return;
      finish();
      cancel(() => reject(error));
    };
    const onAbort = () => giveUp(signal!.reason);
    const cancel: Cancel = start((value) => {
      if (done) return;
      finish();
      resolve(value);
    }, (error) => {
      if (done) return;
      finish();
      reject(error);
    });
    if (done) return;
    const timeout = options?.timeout;
    if (timeout !== undefined && timeout !== Infinity) {
      const deadline = performance.now() + timeout;
      const arm = () => {
        const left = deadline - performance.now();
        if (left <= 0) {
          giveUp(IpcError.of("ETIMEDOUT", context.syscall, context.path, "Timed out"));
        } else {
          timer = setTimeout(arm, Math.min(Math.ceil(left), MAX_TIMER));
        }
      };
      timer = setTimeout(arm, Math.min(Math.ceil(timeout), MAX_TIMER));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    context.owner?.add(giveUp);
  });
}

/**
 * Cancels every pending wait of a handle; call before closing its fd.
 *
 * @param owner The handle's pending waits.
 * @param error What the waits reject with.
 */
export function cancelAll(owner: Owner, error: Error): void {
  for (const giveUp of [...owner]) giveUp(error);
}

// ---------------------------------------------------------------------------------------
// The retry path: a non-blocking attempt, repeated on a backing-off timer.

/**
 * Retries `attempt` until it returns something other than `undefined`, with delays that
 * back off from 0 to 16 ms. The path for waits that are not fds, and the fallback engine.
 *
 * @param attempt A non-blocking try: a result, or `undefined` for "not yet".
 * @param options Timeout and abort signal.
 * @param context Names the operation in errors; the owner cancels on close.
 * @returns The first result.
 */
export function pollUntil<T>(
  attempt: () => T | undefined,
  options: WaitOptions | undefined,
  context: WaitContext,
): Promise<T> {
  return track<T>(options, context, (settle, fail) => retry(attempt, settle, fail));
}

/** The backing-off retry loop behind {@linkcode pollUntil}. */
function retry<T>(
  attempt: () => T | undefined,
  settle: (value: T) => void,
  fail: (error: unknown) => void,
): Cancel {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = 0;
  const tick = () => {
    timer = undefined;
    let value: T | undefined;
    try {
      value = attempt();
    } catch (e) {
      return fail(e);
    }
    if (value !== undefined) return settle(value);
    timer = setTimeout(tick, delay);
    delay = delay === 0 ? 1 : Math.min(delay * 2, 16);
  };
  tick();
  return (then) => {
    if (timer !== undefined) clearTimeout(timer);
    then();
  };
}

// ---------------------------------------------------------------------------------------
// The io_uring backend.

const IORING_OP_POLL_ADD = 6;
const IORING_OP_ASYNC_CANCEL = 14;
const IORING_OP_OPENAT = 18;
const IORING_OP_WRITE = 23;
const IOSQE_IO_HARDLINK = 1 << 3;
const IOSQE_ASYNC = 1 << 4;
const IOSQE_CQE_SKIP_SUCCESS = 1 << 6;
const IORING_FEAT_SINGLE_MMAP = 1 << 0;
const IORING_FEAT_CQE_SKIP = 1 << 11;
const IORING_SETUP_CQSIZE = 1 << 3;
const IORING_SETUP_CLAMP = 1 << 4;
const IORING_ENTER_GETEVENTS = 1 << 0;
const IORING_SQ_CQ_OVERFLOW = 1 << 1;
const IORING_OFF_CQ_RING = 0x8000000;
const IORING_OFF_SQES = 0x10000000;
const MAP_FAILED = 2n ** 64n - 1n;

/** A kernel operation in flight on the ring. */
interface RingOp {
  /** Receives the result. */
  settle: (res: number) => void;
  /** Cleans up a result that arrived after the wait was given up (an opened fd). */
  discard?: (res: number) => void;
}

class Ring {
  readonly fd: number;
  readonly doorbellFds: readonly [number, number];
  #sq: Int32Array;
  #sqTail: number;
  #sqMask: number;
  #sqFlags: number;
  #sqArray: number;
  #cq: Int32Array;
  #cqView: DataView;
  #cqHead: number;
  #cqTail: number;
  #cqMask: number;
  #cqes: number;
  #sqes: DataView;
  #skip: number;
  #doorbell: Doorbell;
  #doorbellByte: bigint;
  // Over an ArrayBuffer of its own, so that its address never changes (see cString).
  #doorbellBuffer = new Uint8Array(new ArrayBuffer(8));
  #ops = new Map<number, RingOp>();
  #nextId = 1;

  constructor() {
    const params = new Uint8Array(UP.size);
    const p = new DataView(params.buffer);
    p.setUint32(UP.offsets.cq_entries, 4096, true);
    p.setUint32(UP.offsets.flags, IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP, true);
    const fd = libc.syscall(C.SYS_io_uring_setup, 256, runtime.addressOf(params), 0, 0, 0, 0);
    if (fd < 0) throw new IpcError({ errno: errno(), syscall: "io_uring_setup" });
    this.fd = fd;
    try {
      const sqEntries = p.getUint32(UP.offsets.sq_entries, true);
      const cqEntries = p.getUint32(UP.offsets.cq_entries, true);
      const features = p.getUint32(UP.offsets.features, true);
      const so = (f: keyof typeof SQO.offsets) =>
        p.getUint32(UP.offsets.sq_off + SQO.offsets[f], true);
      const co = (f: keyof typeof CQO.offsets) =>
        p.getUint32(UP.offsets.cq_off + CQO.offsets[f], true);
      const sqSize = so("array") + sqEntries * 4;
      const cqSize = co("cqes") + cqEntries * CQE.size;
      const single = (features & IORING_FEAT_SINGLE_MMAP) !== 0;
      const sqMap = this.#map(single ? Math.max(sqSize, cqSize) : sqSize, 0);
      const cqMap = single ? sqMap : this.#map(cqSize, IORING_OFF_CQ_RING);
      this.#sqes = new DataView(this.#map(sqEntries * SQE.size, IORING_OFF_SQES));
      this.#sq = new Int32Array(sqMap);
      this.#cq = new Int32Array(cqMap);
      this.#cqView = new DataView(cqMap);
      this.#sqTail = so("tail") / 4;
      this.#sqMask = this.#sq[so("ring_mask") / 4];
      this.#sqFlags = so("flags") / 4;
      this.#sqArray = so("array") / 4;
      this.#cqHead = co("head") / 4;
      this.#cqTail = co("tail") / 4;
      this.#cqMask = this.#cq[co("ring_mask") / 4];
      this.#cqes = co("cqes");
      this.#skip = features & IORING_FEAT_CQE_SKIP ? IOSQE_CQE_SKIP_SUCCESS : 0;
      const pair = new Int32Array(2);
      if (libc.pipe2(pair, C.O_CLOEXEC | C.O_NONBLOCK) !== 0) {
        throw new IpcError({ errno: errno(), syscall: "pipe2" });
      }
      this.doorbellFds = [pair[0], pair[1]];
      this.#doorbellByte = BigInt(runtime.addressOf(this.#doorbellBuffer));
      this.#doorbell = runtime.watchDoorbell(pair[0], () => this.reap());
    } catch (e) {
      libc.close(fd);
      throw e;
    }
  }

  #map(length: number, offset: number): ArrayBuffer {
    const address = libc.mmap(
      0,
      length,
      C.PROT_READ | C.PROT_WRITE,
      C.MAP_SHARED | C.MAP_POPULATE,
      this.fd,
      offset,
    );
    if (address === MAP_FAILED) throw new IpcError({ errno: errno(), syscall: "mmap" });
    return runtime.memory(address, length);
  }

  /** Fills the next submission slot: returns its byte offset in the SQE array. */
  #slot(n: number): number {
    const tail = this.#sq[this.#sqTail] + n;
    const index = tail & this.#sqMask;
    this.#sq[this.#sqArray + index] = index;
    const o = index * SQE.size;
    const s = this.#sqes;
    for (let i = 0; i < SQE.size; i += 4) s.setUint32(o + i, 0);
    return o;
  }

  #submit(count: number): void {
    Atomics.store(this.#sq, this.#sqTail, this.#sq[this.#sqTail] + count);
    while (true) {
      const n = libc.syscall(C.SYS_io_uring_enter, this.fd, count, 0, 0, 0, 0);
      if (n >= 0) {
        count -= n;
        if (count === 0) return;
        continue;
      }
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN || e === EBUSY) { // completions backed up: drain and retry
        this.reap();
        libc.syscall(C.SYS_io_uring_enter, this.fd, 0, 0, IORING_ENTER_GETEVENTS, 0, 0);
        continue;
      }
      throw new IpcError({ errno: e, syscall: "io_uring_enter" });
    }
  }

  /** Queues an operation, then the doorbell write hard-linked behind it. */
  start(prep: (sqes: DataView, offset: number) => number, op: RingOp): Cancel {
    let id = this.#nextId;
    while (id === 0 || this.#ops.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    const s = this.#sqes;
    const o = this.#slot(0);
    s.setUint8(o + SQE.offsets.flags, prep(s, o) | IOSQE_IO_HARDLINK);
    s.setUint32(o + SQE.offsets.user_data, id, true);
    const w = this.#slot(1);
    s.setUint8(w + SQE.offsets.opcode, IORING_OP_WRITE);
    s.setUint8(w + SQE.offsets.flags, this.#skip);
    s.setInt32(w + SQE.offsets.fd, this.doorbellFds[1], true);
    s.setBigUint64(w + SQE.offsets.off, MAP_FAILED, true); // -1: the pipe's own position
    s.setBigUint64(w + SQE.offsets.addr, this.#doorbellByte, true);
    s.setUint32(w + SQE.offsets.len, 1, true);
    this.#ops.set(id, op);
    if (this.#ops.size === 1) this.#doorbell.ref();
    this.#submit(2);
    this.reap(); // an operation may complete during submission
    return (then) => {
      if (!this.#ops.has(id)) return then();
      // The result still arrives, as -ECANCELED or as what the operation did meanwhile.
      op.settle = (res) => {
        op.discard?.(res);
        then();
      };
      const c = this.#slot(0);
      s.setUint8(c + SQE.offsets.opcode, IORING_OP_ASYNC_CANCEL);
      s.setUint8(c + SQE.offsets.flags, this.#skip);
      s.setUint32(c + SQE.offsets.addr, id, true); // the user_data to cancel
      this.#submit(1);
    };
  }

  /** Drains the completion queue. */
  reap(): void {
    const cq = this.#cq;
    const v = this.#cqView;
    while (true) {
      let head = cq[this.#cqHead];
      const tail = Atomics.load(cq, this.#cqTail);
      if (head === tail) break;
      while (head !== tail) {
        const o = this.#cqes + (head & this.#cqMask) * CQE.size;
        const id = v.getUint32(o + CQE.offsets.user_data, true);
        const high = v.getUint32(o + CQE.offsets.user_data + 4, true);
        const res = v.getInt32(o + CQE.offsets.res, true);
        head = (head + 1) | 0;
        const op = id === 0 || high !== 0 ? undefined : this.#ops.get(id);
        if (!op) continue;
        this.#ops.delete(id);
        if (this.#ops.size === 0) this.#doorbell.unref();
        op.settle(res);
      }
      Atomics.store(cq, this.#cqHead, head);
    }
    if (this.#sq[this.#sqFlags] & IORING_SQ_CQ_OVERFLOW) {
      libc.syscall(C.SYS_io_uring_enter, this.fd, 0, 0, IORING_ENTER_GETEVENTS, 0, 0);
      this.reap();
    }
  }
}

let engine: Ring | null | undefined;
let forced: EngineKind | undefined;

function ring(): Ring | null {
  if (engine === undefined) {
    if (forced === "poll") {
      engine = null;
    } else {
      try {
        engine = new Ring();
      } catch {
        engine = null; // io_uring unavailable: the polling backend serves
      }
    }
  }
  return engine;
}

/**
 * The backend that serves waits in this process: `"io_uring"`, or `"poll"` where io_uring
 * is unavailable.
 *
 * @returns The backend's name.
 */
export function waitEngine(): EngineKind {
  return ring() ? "io_uring" : "poll";
}

/**
 * Chooses the backend before the first wait (for tests and benchmarks).
 *
 * @param kind `"poll"` to force the polling backend, `"io_uring"` to require io_uring.
 * @throws {Error} When a wait already ran, or io_uring was required and is unavailable.
 */
export function setWaitEngine(kind: EngineKind): void {
  if (engine !== undefined) {
    if (waitEngine() === kind) return;
    throw new Error("setWaitEngine must be called before the first wait");
  }
  forced = kind;
  if (kind === "io_uring" && !ring()) throw new Error("io_uring is not available here");
}

/** The fds the engine keeps open for the life of the process (for leak checks). */
export function engineFds(): number[] {
  const r = engine;
  return r ? [r.fd, ...r.doorbellFds] : [];
}

const pollCell = new DataView(new ArrayBuffer(PFD.size));

/**
 * `poll()` once, without waiting.
 *
 * @param fd The descriptor.
 * @param events The events of interest.
 * @returns The ready events of `fd` (0 when none).
 */
export function readyEvents(fd: number, events: number): number {
  pollCell.setInt32(PFD.offsets.fd, fd, true);
  pollCell.setInt16(PFD.offsets.events, events, true);
  pollCell.setInt16(PFD.offsets.revents, 0, true);
  if (libc.poll(pollCell, 1, 0) <= 0) return 0;
  return pollCell.getUint16(PFD.offsets.revents, true);
}

/**
 * Waits until `fd` is ready for `events` (`POLLIN`, `POLLOUT`, …), without consuming
 * anything. Resolves with the ready events, which may include `POLLHUP`/`POLLERR`.
 *
 * @param fd The descriptor.
 * @param events The poll events to wait for.
 * @param options Timeout and abort signal.
 * @param context Names the operation in errors; the owner cancels on close.
 * @returns The poll events that became ready.
 */
export function waitFd(
  fd: number,
  events: number,
  options: WaitOptions | undefined,
  context: WaitContext,
): Promise<number> {
  const r = ring();
  const spin = context.spin ?? sharedSpin;
  return track<number>(options, context, (settle, fail) => {
    const start = performance.now();
    const budget = Math.min(spin.budget, spinLimit);
    let stage: Cancel;
    const park = () => {
      // Adapt: woken soon after parking means spinning longer would have caught it.
      const adapt = (ready: number) => {
        const waited = (performance.now() - start) * 1000;
        if (waited < budget * 4) {
          spin.budget = Math.min(Math.max(budget * 2, SPIN_START), spinLimit);
        } else if (waited > budget * 20) spin.budget = Math.max(budget / 2, SPIN_START);
        settle(ready);
      };
      stage = r
        ? r.start((s, o) => {
          s.setUint8(o + SQE.offsets.opcode, IORING_OP_POLL_ADD);
          s.setInt32(o + SQE.offsets.fd, fd, true);
          s.setUint32(o + SQE.offsets.poll32_events, events, true);
          return 0;
        }, { settle: adapt })
        : retry(() => readyEvents(fd, events) || undefined, adapt, fail);
    };
    if (budget <= 0) {
      park();
    } else {
      const until = start + budget / 1000;
      let turn: ReturnType<typeof setImmediate> | undefined;
      const check = () => {
        // Give the CPU to a runnable peer on this CPU (it may be the one that will answer);
        // returns at once when there is none.
        libc.sched_yield();
        const ready = readyEvents(fd, events);
        if (ready) return settle(ready);
        if (performance.now() < until) {
          turn = setImmediate(check);
        } else {
          turn = undefined;
          park();
        }
      };
      turn = setImmediate(check);
      stage = (then) => {
        if (turn !== undefined) clearImmediate(turn);
        then();
      };
    }
    return (then) => stage(then);
  });
}

/**
 * Opens a path with `openat(2)` performed by the kernel asynchronously, so that an open
 * that blocks (a FIFO waiting for its peer) does not block the event loop. Without
 * io_uring, `fallback` is retried on the polling backend instead.
 *
 * @param path The encoded path (kept alive until the kernel is done with it).
 * @param flags The open flags.
 * @param mode The creation mode.
 * @param fallback A non-blocking attempt for the polling backend.
 * @param options Timeout and abort signal.
 * @param context Names the operation in errors.
 * @returns The new fd; rejects with an {@linkcode IpcError} when the open fails.
 */
export async function openAsync(
  path: Uint8Array,
  flags: number,
  mode: number,
  fallback: () => number | undefined,
  options: WaitOptions | undefined,
  context: WaitContext,
): Promise<number> {
  const r = ring();
  if (!r) return pollUntil(fallback, options, context);
  const address = BigInt(runtime.addressOf(path));
  const res = await track<number>(options, context, (settle) =>
    r.start((s, o) => {
      s.setUint8(o + SQE.offsets.opcode, IORING_OP_OPENAT);
      s.setInt32(o + SQE.offsets.fd, C.AT_FDCWD, true);
      s.setBigUint64(o + SQE.offsets.addr, address, true);
      s.setUint32(o + SQE.offsets.len, mode, true);
      s.setUint32(o + SQE.offsets.open_flags, flags, true);
      // Run in an io-wq worker from the start: the inline attempt would add O_NONBLOCK,
      // which opens a FIFO reader at once and fails a writer with ENXIO.
      return IOSQE_ASYNC;
    }, {
      settle,
      discard: (fd) => {
        void path;
        if (fd >= 0) libc.close(fd);
      },
    }));
  if (res < 0) throw new IpcError({ errno: -res, syscall: context.syscall, path: context.path });
  return res;
}

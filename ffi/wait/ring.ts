/**
 * The io_uring backend (Linux ≥ 5.6). Each wait is one kernel operation (`POLL_ADD`, or
 * `OPENAT` for a FIFO open that must wait for its peer) hard-linked to a one-byte write
 * into a private "doorbell" pipe whose read end the runtime's own reactor watches
 * (`node:net` on Deno, `Bun.file().stream()` on Bun): a completed wait wakes the event
 * loop directly, with no helper thread and one wake-up, as in C. The doorbell's write end
 * is registered with the ring as a fixed file and not kept as a descriptor, so no other
 * code can close or replace it.
 *
 * Rules the ring keeps:
 * - Cancelling (timeout, abort, handle closed) submits `ASYNC_CANCEL`; the wait is over
 *   only when the kernel has posted the operation's result, and a result that won the
 *   race is handed to the operation's `discard` (an `openat` that succeeded is closed).
 * - An operation that the kernel ended with a restart code (`-EINTR`, or `-ERESTARTSYS`
 *   and kin: `SIGSTOP`/`SIGCONT` during a pending `OPENAT` ends it with -512) and that
 *   was not cancelled is submitted again.
 * - A ring that can no longer work (a failed submission, the doorbell's fd closed or
 *   replaced behind its back, noticed within 100 ms while operations are pending) is
 *   replaced by a new ring: pending waits that can be repeated (polls, futex waits) move
 *   to it, the others fail with an error. Its fds are closed unless they no longer belong
 *   to it.
 * - Completions run as task work on the thread that submitted them, and interrupt that
 *   thread's blocking system calls with `EINTR` (see `retryWithDeadline`).
 *   `IORING_SETUP_DEFER_TASKRUN` would avoid that, but its only wake-up is an eventfd,
 *   which Deno's reactor cannot watch ("Unsupported fd type"), measured.
 * - In a Worker the ring is closed as soon as no operation is pending: a terminated
 *   Worker runs no cleanup, and its ring would stay open for the life of the process.
 *   On the main thread the ring lives as long as the process.
 *
 * @module
 */
import { clearInterval, setInterval } from "node:timers";
import { C } from "../constants.ts";
import { IpcError } from "../errors.ts";
import { EAGAIN, EBUSY, EINTR, errno, libc } from "../libc.ts";
import { type Doorbell, type DoorbellState, runtime } from "../runtime.ts";
import { inodeOf } from "../stat.ts";
import {
  cqringOffsets as CQO,
  sqringOffsets as SQO,
  uringCqe as CQE,
  uringParams as UP,
  uringProbe as PROBE,
  uringProbeOp as PROBE_OP,
  uringSqe as SQE,
} from "../structs.ts";
import type { Cancel } from "./track.ts";

/**
 * Results that mean "interrupted, do it again": `-EINTR`, and the kernel-internal restart
 * codes `ERESTARTSYS` (512), `ERESTARTNOINTR` (513), `ERESTARTNOHAND` (514) and
 * `ERESTART_RESTARTBLOCK` (516), which no user-space header defines.
 */
const RESTART: ReadonlySet<number> = new Set([-4, -512, -513, -514, -516]);
const MAP_FAILED = 2n ** 64n - 1n;
const SQ_ENTRIES = 32;
const CQ_ENTRIES = 4096;
/** How often a ring with pending operations checks its doorbell (ms). */
const WATCHDOG_MS = 100;

/** A kernel operation to run on the ring. */
export interface RingOp {
  /** Fills the submission entry at byte `o` (opcode, fd, …); returns extra SQE flags. */
  prep(sqes: DataView, o: number): number;
  /** Receives the result: ≥ 0, or a negative errno. */
  settle(res: number): void;
  /** The ring broke: the operation will never complete. */
  fail(error: Error): void;
  /** Cleans up a result that arrived after the wait was given up (an opened fd). */
  discard?(res: number): void;
  /** Whether the pending operation keeps the process alive. */
  ref: boolean;
  /** Whether starting it again has no effect beyond the wait (a poll, a futex wait). */
  restartable?: boolean;
}

interface Entry {
  op: RingOp;
  id: number;
  /** Set once the wait was given up: called when the kernel posts the result. */
  cancelled: (() => void) | null;
}

class Ring {
  readonly fd: number;
  #maps: [bigint, number][] = [];
  #sq!: Int32Array;
  #sqTail = 0;
  #sqMask = 0;
  #sqFlags = 0;
  #sqArray = 0;
  #cq!: Int32Array;
  #cqView!: DataView;
  #cqHead = 0;
  #cqTail = 0;
  #cqMask = 0;
  #cqes = 0;
  #sqes!: DataView;
  #skip = 0;
  #doorbell!: Doorbell;
  #doorbellFd = -1;
  #doorbellIno = -1n;
  #doorbellState: DoorbellState = "idle";
  #doorbellByte: bigint;
  // Over an ArrayBuffer of its own, so that its address never changes (see cString).
  #doorbellBuffer = new Uint8Array(new ArrayBuffer(8));
  #ops = new Map<number, Entry>();
  #refs = 0;
  #nextId = 1;
  #closed = false;
  #submitting = false;
  #restarts: Entry[] = [];
  #watchdog: ReturnType<typeof setInterval> | undefined = undefined;
  /** Opcodes this kernel supports, from `IORING_REGISTER_PROBE`. */
  readonly supported: ReadonlySet<number>;

  constructor() {
    const params = new Uint8Array(new ArrayBuffer(UP.size));
    const p = new DataView(params.buffer);
    p.setUint32(UP.offsets.cq_entries, CQ_ENTRIES, true);
    p.setUint32(UP.offsets.flags, C.IORING_SETUP_CQSIZE | C.IORING_SETUP_CLAMP, true);
    const fd = libc.syscall(
      C.SYS_io_uring_setup,
      SQ_ENTRIES,
      runtime.addressOf(params),
      0,
      0,
      0,
      0,
    );
    if (fd < 0) throw new IpcError({ errno: errno(), syscall: "io_uring_setup" });
    this.fd = fd;
    this.#doorbellByte = BigInt(runtime.addressOf(this.#doorbellBuffer));
    const pair = new Int32Array(new ArrayBuffer(8));
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
      const single = (features & C.IORING_FEAT_SINGLE_MMAP) !== 0;
      const sqMap = this.#map(single ? Math.max(sqSize, cqSize) : sqSize, C.IORING_OFF_SQ_RING);
      const cqMap = single ? sqMap : this.#map(cqSize, C.IORING_OFF_CQ_RING);
      this.#sqes = new DataView(this.#map(sqEntries * SQE.size, C.IORING_OFF_SQES));
      this.#sq = new Int32Array(sqMap);
      this.#cq = new Int32Array(cqMap);
      this.#cqView = new DataView(cqMap);
      this.#sqTail = so("tail") / 4;
      this.#sqMask = this.#sq[so("ring_mask") / 4]!;
      this.#sqFlags = so("flags") / 4;
      this.#sqArray = so("array") / 4;
      this.#cqHead = co("head") / 4;
      this.#cqTail = co("tail") / 4;
      this.#cqMask = this.#cq[co("ring_mask") / 4]!;
      this.#cqes = co("cqes");
      this.#skip = features & C.IORING_FEAT_CQE_SKIP ? C.IOSQE_CQE_SKIP_SUCCESS : 0;
      if (libc.pipe2(pair, C.O_CLOEXEC | C.O_NONBLOCK) !== 0) {
        pair.fill(-1);
        throw new IpcError({ errno: errno(), syscall: "pipe2" });
      }
      // The write end lives on as fixed file 0 of the ring; the fd itself is closed.
      const registered = libc.syscall(
        C.SYS_io_uring_register,
        fd,
        C.IORING_REGISTER_FILES,
        runtime.addressOf(pair.subarray(1)),
        1,
        0,
        0,
      );
      if (registered < 0) throw new IpcError({ errno: errno(), syscall: "io_uring_register" });
      libc.close(pair[1]!);
      pair[1] = -1;
      this.supported = probe(fd);
      this.#doorbellIno = inodeOf(pair[0]!);
      this.#doorbell = runtime.watchDoorbell(
        pair[0]!,
        () => this.reap(),
        (e) => this.break(engineError("the doorbell stopped working", e)),
      );
      this.#doorbellFd = pair[0]!;
    } catch (e) {
      for (const end of pair) if (end >= 0) libc.close(end);
      this.#release();
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
    this.#maps.push([address, length]);
    return runtime.memory(address, length);
  }

  /** The fds the ring holds (for leak checks). */
  get fds(): number[] {
    return this.#closed ? [] : [this.fd, this.#doorbellFd];
  }

  /** Whether the doorbell's read end is still the pipe this ring made. */
  healthy(): boolean {
    return this.#doorbellFd >= 0 && inodeOf(this.#doorbellFd) === this.#doorbellIno;
  }

  /**
   * While operations are pending, checks every 100 ms that the doorbell is still the pipe
   * this ring made: if other code closed or replaced it, no completion could wake the event
   * loop, so the ring breaks (its restartable waits move to a new ring, the others fail).
   * A check on every wait would cost a system call each; this timer stops itself when idle.
   */
  #watch(): void {
    this.#watchdog = setInterval(() => {
      if (this.#closed || this.#ops.size === 0) return this.#unwatch();
      if (!this.healthy()) {
        this.break(engineError("its doorbell's descriptor was closed or replaced by other code"));
      }
    }, WATCHDOG_MS);
    this.#watchdog.unref();
  }

  #unwatch(): void {
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** Submits an operation; it ends in `op.settle`, `op.fail`, or the returned cancel. */
  start(op: RingOp): Cancel {
    const entry: Entry = { op, id: 0, cancelled: null };
    this.#enqueue(entry);
    this.reap(); // an operation may complete during its submission
    return (then) => this.#cancel(entry, then);
  }

  #enqueue(entry: Entry): void {
    if (this.#closed) return entry.op.fail(engineError("the wait engine was closed"));
    let id = this.#nextId;
    while (id === 0 || this.#ops.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    entry.id = id;
    this.#ops.set(id, entry);
    if (entry.op.ref) this.#refs++;
    this.#updateDoorbell();
    if (this.#watchdog === undefined) this.#watch();
    const s = this.#sqes;
    const o = this.#slot(0);
    s.setUint8(o + SQE.offsets.flags, entry.op.prep(s, o) | C.IOSQE_IO_HARDLINK);
    s.setUint32(o + SQE.offsets.user_data, id, true);
    const w = this.#slot(1);
    s.setUint8(w + SQE.offsets.opcode, C.IORING_OP_WRITE);
    s.setUint8(w + SQE.offsets.flags, this.#skip | C.IOSQE_FIXED_FILE);
    s.setInt32(w + SQE.offsets.fd, 0, true); // fixed file 0: the doorbell's write end
    s.setBigUint64(w + SQE.offsets.off, MAP_FAILED, true); // -1: the pipe's own position
    s.setBigUint64(w + SQE.offsets.addr, this.#doorbellByte, true);
    s.setUint32(w + SQE.offsets.len, 1, true);
    this.#submit(2);
  }

  #cancel(entry: Entry, then: () => void): void {
    if (this.#ops.get(entry.id) !== entry) return then(); // already over
    entry.cancelled = then;
    const s = this.#sqes;
    const c = this.#slot(0);
    s.setUint8(c + SQE.offsets.opcode, C.IORING_OP_ASYNC_CANCEL);
    s.setUint8(c + SQE.offsets.flags, this.#skip);
    s.setUint32(c + SQE.offsets.addr, entry.id, true); // the user_data to cancel
    this.#submit(1);
  }

  /** Fills the next submission slot: returns its byte offset in the SQE array. */
  #slot(n: number): number {
    const tail = this.#sq[this.#sqTail]! + n;
    const index = tail & this.#sqMask;
    this.#sq[this.#sqArray + index] = index;
    const o = index * SQE.size;
    const s = this.#sqes;
    for (let i = 0; i < SQE.size; i += 4) s.setUint32(o + i, 0);
    return o;
  }

  /** Hands `count` filled slots to the kernel; a failure breaks the ring. */
  #submit(count: number): void {
    Atomics.store(this.#sq, this.#sqTail, this.#sq[this.#sqTail]! + count);
    this.#submitting = true;
    try {
      for (let stalls = 0; count > 0;) {
        const n = libc.syscall_u32(C.SYS_io_uring_enter, this.fd, count, 0, 0, null, 0);
        if (n > 0) {
          count -= n;
          continue;
        }
        const e = n < 0 ? errno() : EAGAIN;
        if (e === EINTR) continue;
        if ((e === EAGAIN || e === EBUSY) && ++stalls < 100) {
          // Completions backed up: drain them, then try again.
          this.reap();
          libc.syscall_u32(C.SYS_io_uring_enter, this.fd, 0, 0, C.IORING_ENTER_GETEVENTS, null, 0);
          continue;
        }
        throw new IpcError({ errno: e, syscall: "io_uring_enter" });
      }
    } catch (e) {
      this.break(engineError("a submission failed", e));
    } finally {
      this.#submitting = false;
    }
    if (this.#restarts.length > 0 && !this.#closed) this.#resubmit();
  }

  #resubmit(): void {
    const restarts = this.#restarts;
    this.#restarts = [];
    for (const entry of restarts) this.#enqueue(entry);
  }

  #remove(entry: Entry): void {
    this.#ops.delete(entry.id);
    if (entry.op.ref) this.#refs--;
  }

  #updateDoorbell(): void {
    const state: DoorbellState = this.#refs > 0 ? "ref" : this.#ops.size > 0 ? "unref" : "idle";
    if (state === this.#doorbellState) return;
    this.#doorbellState = state;
    this.#doorbell.set(state);
  }

  /** Drains the completion queue. */
  reap(): void {
    if (this.#closed) return;
    const cq = this.#cq;
    const v = this.#cqView;
    while (true) {
      let head = cq[this.#cqHead]!;
      const tail = Atomics.load(cq, this.#cqTail);
      if (head === tail) break;
      while (head !== tail) {
        const o = this.#cqes + (head & this.#cqMask) * CQE.size;
        const id = v.getUint32(o + CQE.offsets.user_data, true);
        const high = v.getUint32(o + CQE.offsets.user_data + 4, true);
        const res = v.getInt32(o + CQE.offsets.res, true);
        head = (head + 1) | 0;
        const entry = id === 0 || high !== 0 ? undefined : this.#ops.get(id);
        if (!entry) continue;
        this.#remove(entry);
        if (entry.cancelled) {
          if (res >= 0) entry.op.discard?.(res);
          entry.cancelled();
        } else if (RESTART.has(res)) {
          this.#restarts.push(entry);
        } else {
          entry.op.settle(res);
        }
      }
      Atomics.store(cq, this.#cqHead, head);
    }
    if (this.#sq[this.#sqFlags]! & C.IORING_SQ_CQ_OVERFLOW) {
      libc.syscall_u32(C.SYS_io_uring_enter, this.fd, 0, 0, C.IORING_ENTER_GETEVENTS, null, 0);
      this.reap();
      return;
    }
    if (this.#restarts.length > 0 && !this.#submitting) this.#resubmit();
    if (this.#closed) return;
    this.#updateDoorbell();
    if (this.#ops.size === 0 && runtime.isWorker) this.close();
  }

  /** Fails every pending operation and releases the ring. */
  break(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (current === this) current = null;
    const entries = [...this.#ops.values(), ...this.#restarts];
    this.#ops.clear();
    this.#restarts = [];
    this.#refs = 0;
    for (const entry of entries) {
      if (entry.cancelled) entry.cancelled();
      else entry.op.fail(error);
    }
    this.#release();
  }

  /** Closes an idle ring. */
  close(): void {
    if (this.#closed || this.#ops.size > 0) return;
    this.#closed = true;
    if (current === this) current = null;
    this.#release();
  }

  #release(): void {
    this.#unwatch();
    // The doorbell fd is closed only while it is still the pipe this ring made: if other
    // code closed it, the number may belong to someone else by now.
    const ownsDoorbell = this.healthy();
    if (this.#doorbellFd >= 0) {
      this.#doorbell.set("idle");
      if (ownsDoorbell) this.#doorbell.close();
      this.#doorbellFd = -1;
    }
    for (const [address, length] of this.#maps) libc.munmap(address, length);
    this.#maps = [];
    libc.close(this.fd);
  }
}

/** The opcodes the kernel supports (an empty set if it cannot say). */
function probe(fd: number): Set<number> {
  const count = 256;
  const bytes = new Uint8Array(new ArrayBuffer(PROBE.size + count * PROBE_OP.size));
  const supported = new Set<number>();
  const r = libc.syscall(
    C.SYS_io_uring_register,
    fd,
    C.IORING_REGISTER_PROBE,
    runtime.addressOf(bytes),
    count,
    0,
    0,
  );
  if (r < 0) return supported;
  const view = new DataView(bytes.buffer);
  const ops = view.getUint8(PROBE.offsets.ops_len);
  for (let i = 0; i < ops; i++) {
    const o = PROBE.offsets.ops + i * PROBE_OP.size;
    if (view.getUint16(o + PROBE_OP.offsets.flags, true) & C.IO_URING_OP_SUPPORTED) {
      supported.add(view.getUint8(o + PROBE_OP.offsets.op));
    }
  }
  return supported;
}

function engineError(what: string, cause?: unknown): IpcError {
  const e = IpcError.of(
    cause instanceof IpcError ? cause.code : "EIO",
    "wait",
    undefined,
    `The wait engine's io_uring ring failed: ${what}` +
      (cause instanceof Error ? ` (${cause.message})` : ""),
  );
  if (cause !== undefined) (e as { cause?: unknown }).cause = cause;
  return e;
}

let current: Ring | null = null;

/** Why io_uring cannot be used at all in this process, once known. */
let unavailable: IpcError | null = null;

/** Errors of `io_uring_setup` that mean "never here" rather than "not right now". */
const PERMANENT = new Set(["ENOSYS", "EPERM", "EACCES", "EINVAL", "EOPNOTSUPP"]);

/**
 * The ring of this thread, made on first use. A ring that broke is replaced; a ring that
 * cannot be made right now (out of descriptors or memory) gives `null` for this wait,
 * which then uses the polling backend, and is tried again next time.
 *
 * @returns The ring, or `null` when the polling backend must serve this wait.
 */
export function getRing(): Ring | null {
  if (current !== null) return current;
  if (unavailable !== null) return null;
  try {
    current = new Ring();
  } catch (e) {
    if (e instanceof IpcError && e.syscall === "io_uring_setup" && PERMANENT.has(e.code)) {
      unavailable = e;
    }
    return null;
  }
  return current;
}

/**
 * Whether io_uring can serve waits in this process.
 *
 * @returns `false` once `io_uring_setup` was refused for good (blocked by a seccomp
 *   profile, disabled by `kernel.io_uring_disabled`, or too old a kernel).
 */
export function ringAvailable(): boolean {
  if (unavailable === null && current === null) getRing();
  return unavailable === null;
}

/**
 * The fds the current ring holds, for leak checks.
 *
 * @returns The ring's fd and the doorbell's read end, or none.
 */
export function ringFds(): number[] {
  return current?.fds ?? [];
}

export type { Ring };

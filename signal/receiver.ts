/**
 * {@linkcode SignalReceiver}: receiving signals with their sender and value.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkCode, errno, libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { untilClosed } from "../ffi/handle.ts";
import { sigaction, siginfo, sigset } from "../ffi/structs.ts";
import { cancelAll, checkWaitOptions, type Owner, type WaitOptions } from "../ffi/wait/mod.ts";
import { CANCEL_SIGNAL } from "../ffi/wait/offload_layout.ts";
import { track } from "../ffi/wait/track.ts";
import { type SignalName, signalName, signalToSend } from "./names.ts";
import { getRecorder, type Recorder, type Waiter } from "./recorder.ts";
import { inSigset, sigsetOf } from "./sigset.ts";

/** One received signal. */
export interface SignalInfo {
  /** The signal's name, such as `"SIGUSR1"` or `"SIGRTMIN+1"`. */
  signal: SignalName;
  /** The signal's number. */
  number: number;
  /**
   * The sending process's id (`si_pid`); for `SIGCHLD`, the child's. 0 when the kernel
   * sent it (`code` `"SI_KERNEL"`, timers, I/O).
   */
  pid: number;
  /** The sender's real user id (`si_uid`); 0 when `pid` is 0. */
  uid: number;
  /**
   * The integer sent with the signal (`si_value.sival_int`) by `sigqueue` (code
   * `"SI_QUEUE"`), a timer or a message queue; 0 for other signals.
   */
  value: number;
  /**
   * How it was sent (`si_code`): `"SI_USER"` (`kill`), `"SI_QUEUE"` (`sigqueue`),
   * `"SI_TKILL"` (`tgkill`), `"SI_KERNEL"`, `"SI_TIMER"`, `"SI_MESGQ"`, `"SI_ASYNCIO"`,
   * `"SI_SIGIO"`; for `SIGCHLD` one of `"CLD_EXITED"`, `"CLD_KILLED"`, `"CLD_DUMPED"`,
   * `"CLD_TRAPPED"`, `"CLD_STOPPED"`, `"CLD_CONTINUED"`; for `SIGIO` `"POLL_IN"`,
   * `"POLL_OUT"`, … Any other code is its number as text.
   */
  code: string;
}

/** Options of {@linkcode SignalReceiver.receiveSync}. */
export interface ReceiveSyncOptions {
  /** Milliseconds to wait at most: `undefined` waits forever, `0` tries once. */
  timeout?: number;
}

/** Set by the internal factories: the constructors are not public. */
let constructing = false;

const SIGKILL = 9;
const SIGSTOP = 19;
const SIGCHLD = 17;
const SIGIO = 29;
/** Raised by the kernel for a fault in the thread that caused it; a handler that returns
 * runs the faulting instruction again, and the runtimes' crash handlers own them. */
const FAULTS = new Set([4, 5, 7, 8, 11, 31]); // SIGILL SIGTRAP SIGBUS SIGFPE SIGSEGV SIGSYS

/** The names of `si_code` values, by value. */
function codeNames(names: readonly (keyof typeof C)[]): Map<number, string> {
  return new Map(names.map((name) => [C[name], name]));
}
const CODES = codeNames([
  "SI_USER",
  "SI_KERNEL",
  "SI_QUEUE",
  "SI_TIMER",
  "SI_MESGQ",
  "SI_ASYNCIO",
  "SI_SIGIO",
  "SI_TKILL",
]);
const CHILD_CODES = codeNames([
  "CLD_EXITED",
  "CLD_KILLED",
  "CLD_DUMPED",
  "CLD_TRAPPED",
  "CLD_STOPPED",
  "CLD_CONTINUED",
]);
const POLL_CODES = codeNames([
  "POLL_IN",
  "POLL_OUT",
  "POLL_MSG",
  "POLL_ERR",
  "POLL_PRI",
  "POLL_HUP",
]);

function codeName(signal: number, code: number): string {
  const table = code > 0 && signal === SIGCHLD
    ? CHILD_CODES
    : code > 0 && signal === SIGIO
    ? POLL_CODES
    : CODES;
  return table.get(code) ?? String(code);
}

/** Decodes one `siginfo_t` record. */
function decode(record: DataView, at: number): SignalInfo {
  const number = record.getInt32(at + siginfo.offsets.si_signo, true);
  const code = record.getInt32(at + siginfo.offsets.si_code, true);
  // Which union member the kernel filled in depends on how the signal was sent.
  const fromProcess = code === C.SI_USER || code === C.SI_QUEUE || code === C.SI_TKILL ||
    code === C.SI_MESGQ || (number === SIGCHLD && code > 0);
  const withValue = code === C.SI_QUEUE || code === C.SI_TIMER || code === C.SI_MESGQ ||
    code === C.SI_ASYNCIO;
  return {
    signal: signalName(number),
    number,
    pid: fromProcess ? record.getInt32(at + siginfo.offsets.si_pid, true) : 0,
    uid: fromProcess ? record.getUint32(at + siginfo.offsets.si_uid, true) : 0,
    value: withValue ? record.getInt32(at + siginfo.offsets.si_value, true) : 0,
    code: codeName(number, code),
  };
}

/** Checks the signals to listen for; returns their numbers, without duplicates. */
function receivable(signals: unknown): number[] {
  if (!Array.isArray(signals) || signals.length === 0) {
    throw new TypeError("signals must be a non-empty array of signal names or numbers");
  }
  const numbers = new Set<number>();
  for (const [i, s] of signals.entries()) {
    const n = signalToSend(s, false, `signals[${i}]`); // known, and not one of glibc's own
    const name = signalName(n);
    if (n === SIGKILL || n === SIGSTOP) {
      throw new TypeError(
        `signals[${i}]: ${name} cannot be received: the kernel never lets a process catch it`,
      );
    }
    if (FAULTS.has(n)) {
      throw new TypeError(
        `signals[${i}]: ${name} cannot be received: the kernel raises it for a fault in the faulting ` +
          "thread, which cannot continue, and the runtime's crash handler owns it",
      );
    }
    if (runtime.reservedSignals.includes(n)) {
      throw new TypeError(
        `signals[${i}]: ${name} cannot be received: the ${runtime.name} runtime uses it`,
      );
    }
    if (n === CANCEL_SIGNAL) {
      throw new TypeError(
        `signals[${i}]: ${name} cannot be received: sysipc's wait engine interrupts its helper threads with it`,
      );
    }
    numbers.add(n);
  }
  return [...numbers];
}

/** Which signal each open receiver holds, process-wide. */
const held = new Map<number, SignalReceiver>();

/**
 * Receives signals sent to this process, with their sender's pid and uid, the value sent
 * with `sigqueue`, and how they were sent.
 *
 * While a receiver is open, its signals never run their default action (so a real-time
 * signal, fatal by default, cannot kill the process), whichever thread of the process
 * the kernel delivers them to: sysipc installs its own handler for them, which records
 * every delivery. Real-time signals queue, one delivery per `sigqueue`/`kill`; a standard
 * signal sent again while the first is still pending is merged into it by the kernel, as
 * always. Signals that arrive at the same moment may be reported in another order than
 * they were sent (the kernel may run the handler on two threads at once). `close()` puts
 * back what `listen()` changed: each signal's previous action (default, ignored, or
 * another handler) and whether the main thread blocked it; signals that arrived but were
 * not received are dropped.
 *
 * One receiver per signal per process, on the main thread. While it listens, the
 * runtime's own listeners for the same signals (`Deno.addSignalListener`,
 * `process.on("SIGUSR1")`) are not called. See the README's "Signals" section for why it
 * works this way, and its limits.
 *
 * @example Receiving a value sent with sigqueue
 * ```ts
 * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
 * import process from "node:process";
 *
 * using receiver = SignalReceiver.listen(["SIGRTMIN+1", "SIGTERM"]);
 * sigqueue(process.pid, "SIGRTMIN+1", 42); // another process would do this
 * const info = await receiver.receive({ timeout: 1000 });
 * console.log(info.signal, info.value, info.pid === process.pid); // "SIGRTMIN+1" 42 true
 * ```
 */
export class SignalReceiver implements AsyncIterable<SignalInfo>, Disposable {
  readonly #signals: number[];
  readonly #recorder: Recorder;
  /** Each signal's action before `listen`, as `sigaction` returned it. */
  readonly #previous = new Map<number, Uint8Array>();
  /** The signals the main thread blocked before `listen`, which `close()` blocks again. */
  #wasBlocked: Uint8Array | null = null;
  #droppedAtStart = 0;
  #queue: SignalInfo[] = [];
  #head = 0;
  #waiting: { settle(info: SignalInfo): void; waiter: Waiter }[] = [];
  readonly #waits: Owner = new Set();
  #closed = false;

  private constructor(signals: number[], recorder: Recorder) {
    if (!constructing) {
      throw new TypeError("SignalReceiver has no public constructor: use SignalReceiver.listen()");
    }
    constructing = false;
    this.#signals = signals;
    this.#recorder = recorder;
  }

  /**
   * Starts receiving `signals`. Signals that were pending for this process because every
   * thread blocked them (as `spawn`'s `blockSignals` and `sysipc run --block` start a
   * program) are received first.
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGUSR2", "SIGRTMIN+2"]);
   * sigqueue(process.pid, "SIGRTMIN+2", 7); // as another process would, with its pid
   * const info = await receiver.receive({ timeout: 5000 });
   * console.log(info.signal, info.value, info.code, info.pid === process.pid); // SIGRTMIN+2 7 SI_QUEUE true
   * ```
   *
   * @param signals Names (`"SIGUSR1"`, `"SIGRTMIN+1"`) or numbers.
   * @returns The receiver.
   * @throws {TypeError} For an empty list, an unknown name, or a signal that cannot be
   *   received: `SIGKILL`, `SIGSTOP`, the fault signals (`SIGSEGV`, `SIGBUS`, `SIGFPE`,
   *   `SIGILL`, `SIGTRAP`, `SIGSYS`), any the runtime uses itself (Bun: `SIGPWR`), and
   *   `SIGRTMAX`, which sysipc's wait engine uses.
   * @throws {RangeError} For a number out of range or reserved by the C library (32, 33).
   * @throws {IpcError} `EBUSY` when another receiver holds one of the signals; `ENOTSUP`
   *   in a Worker or on a CPU other than x86_64 (see `platform.signalReceiver`).
   */
  static listen(signals: (SignalName | number)[]): SignalReceiver {
    const numbers = receivable(signals);
    const taken = numbers.filter((n) => held.has(n));
    if (taken.length > 0) {
      throw IpcError.of(
        "EBUSY",
        "listen",
        undefined,
        `${taken.map(signalName).join(", ")} already has a SignalReceiver in this process; ` +
          "close it first",
      );
    }
    const recorder = getRecorder();
    constructing = true;
    const receiver = new SignalReceiver(numbers, recorder);
    receiver.#start();
    return receiver;
  }

  #start(): void {
    const recorder = this.#recorder;
    const action = new DataView(new ArrayBuffer(sigaction.size));
    action.setBigUint64(sigaction.offsets.sa_handler, recorder.handler, true);
    action.setInt32(sigaction.offsets.sa_flags, C.SA_SIGINFO | C.SA_RESTART, true);
    const sink = (record: DataView, at: number) => this.#deliver(decode(record, at));
    try {
      for (const n of this.#signals) {
        const previous = new Uint8Array(new ArrayBuffer(sigaction.size));
        if (libc.sigaction(n, action, previous) !== 0) {
          throw new IpcError({ errno: errno(), syscall: "sigaction", path: signalName(n) });
        }
        this.#previous.set(n, previous);
        held.set(n, this);
        recorder.route(n, sink);
      }
      // A signal every thread blocked stays pending; unblocking it here, after the handler
      // is in place, delivers what is pending to the handler.
      const before = new Uint8Array(new ArrayBuffer(sigset.size));
      checkCode(
        libc.pthread_sigmask(C.SIG_UNBLOCK, sigsetOf(this.#signals), before),
        "pthread_sigmask",
      );
      const blocked = this.#signals.filter((n) => inSigset(before, n));
      if (blocked.length > 0) this.#wasBlocked = sigsetOf(blocked);
    } catch (e) {
      this.#restore();
      throw e;
    }
    this.#droppedAtStart = this.#droppedNow();
  }

  #droppedNow(): number {
    return this.#signals.reduce((sum, n) => sum + this.#recorder.dropped(n), 0);
  }

  #deliver(info: SignalInfo): void {
    const next = this.#waiting[0];
    if (next) next.settle(info);
    else this.#queue.push(info);
  }

  #take(): SignalInfo | null {
    if (this.#head === this.#queue.length) return null;
    const info = this.#queue[this.#head++]!;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return info;
  }

  #use(syscall: string): void {
    if (this.#closed) throw IpcError.closed("SignalReceiver", syscall);
  }

  /**
   * The signals this receiver listens for.
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGUSR2", "SIGRTMIN+2"]);
   * console.log(receiver.signals); // ["SIGUSR2", "SIGRTMIN+2"]
   * ```
   */
  get signals(): SignalName[] {
    return this.#signals.map(signalName);
  }

  /**
   * Whether `close()` was called.
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGUSR2", "SIGRTMIN+2"]);
   * receiver.close(); // SIGUSR2 and SIGRTMIN+2 get back their previous action
   * console.log(receiver.closed); // true
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * How many of this receiver's signals were lost since `listen()` because sysipc's
   * queue was full: it holds {@linkcode SignalReceiver.capacity} signals not yet received
   * (for every receiver of the process together). Normally 0.
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGUSR2", "SIGRTMIN+2"]);
   * console.log(receiver.dropped); // 0 unless more than `capacity` signals waited unread
   * ```
   */
  get dropped(): number {
    return this.#closed ? 0 : this.#droppedNow() - this.#droppedAtStart;
  }

  /** How many received but not yet read signals sysipc can hold for the process: 8,192, or
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGUSR2", "SIGRTMIN+2"]);
   * console.log(receiver.capacity); // 8192 (or 512)
   * ```
   * 512 where its pipe cannot be enlarged to 1 MiB. */
  get capacity(): number {
    return this.#recorder.capacity;
  }

  /**
   * Returns the next signal if one is there, without waiting.
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGUSR2", "SIGRTMIN+2"]);
   * console.log(receiver.tryReceive()); // null: nothing arrived
   * process.kill(process.pid, "SIGUSR2");
   * await new Promise((r) => setTimeout(r, 50));
   * console.log(receiver.tryReceive()?.signal); // "SIGUSR2"
   * ```
   *
   * @returns The signal, or `null`.
   * @throws {IpcError} `EBADF` when closed.
   */
  tryReceive(): SignalInfo | null {
    this.#use("receive");
    const queued = this.#take();
    if (queued) return queued;
    this.#recorder.drain();
    return this.#take();
  }

  /**
   * Waits for the next signal without blocking the event loop.
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGUSR2", "SIGRTMIN+2"]);
   * const controller = new AbortController();
   * setTimeout(() => sigqueue(process.pid, "SIGUSR2", 1), 10);
   * const { signal, code } = await receiver.receive({ timeout: 5000, signal: controller.signal });
   * console.log(signal, code); // "SIGUSR2" "SI_QUEUE"
   * ```
   *
   * @param options `timeout` (ms) and `signal` (an `AbortSignal`).
   * @returns The signal.
   * @throws {IpcError} `ETIMEDOUT` when the timeout passes, `EAGAIN` when `timeout` is 0
   *   and nothing is there, `EBADF` when closed (also while waiting).
   */
  receive(options?: WaitOptions): Promise<SignalInfo> {
    try {
      checkWaitOptions(options);
      const got = this.tryReceive();
      if (got) return Promise.resolve(got);
    } catch (e) {
      return Promise.reject(e);
    }
    if (options?.timeout === 0) return Promise.reject(IpcError.of("EAGAIN", "receive"));
    return track<SignalInfo>(
      options,
      { syscall: "receive", owner: this.#waits },
      (settle, fail) => {
        const leave = () => {
          const i = this.#waiting.indexOf(entry);
          if (i >= 0) this.#waiting.splice(i, 1);
          this.#recorder.unwait(entry.waiter);
        };
        const entry = {
          settle: (info: SignalInfo) => {
            leave();
            settle(info);
          },
          waiter: {
            fail: (error: unknown) => {
              leave();
              fail(error);
            },
          },
        };
        this.#waiting.push(entry);
        this.#recorder.wait(entry.waiter);
        return (then) => {
          leave();
          then();
        };
      },
    );
  }

  /**
   * Waits for the next signal, blocking the calling thread.
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGUSR2", "SIGRTMIN+2"]);
   * sigqueue(process.pid, "SIGRTMIN+2", 99);
   * console.log(receiver.receiveSync({ timeout: 5000 }).value); // 99
   * ```
   *
   * @param options `timeout` (ms).
   * @returns The signal.
   * @throws {IpcError} `ETIMEDOUT` when the timeout passes, `EAGAIN` when `timeout` is 0
   *   and nothing is there, `EBADF` when closed.
   */
  receiveSync(options?: ReceiveSyncOptions): SignalInfo {
    checkWaitOptions(options);
    const timeout = options?.timeout;
    const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
    const pollfd = new DataView(new ArrayBuffer(8));
    pollfd.setInt32(0, this.#recorder.readFd, true);
    pollfd.setInt16(4, C.POLLIN, true);
    while (true) {
      const got = this.tryReceive();
      if (got) return got;
      if (timeout === 0) throw IpcError.of("EAGAIN", "receive");
      const left = deadline - performance.now();
      if (left <= 0) throw IpcError.of("ETIMEDOUT", "receive", undefined, "Timed out");
      // poll() of a valid descriptor fails only when interrupted: by the handler itself
      // when the signal lands on this thread, or by io_uring task work. Then try again,
      // with what is left of the timeout (a closed descriptor shows as POLLNVAL, and the
      // next read reports it).
      libc.poll(pollfd, 1, left === Infinity ? -1 : Math.ceil(left));
    }
  }

  /**
   * Yields signals as they come, until the receiver is closed.
   *
   * @example Ending a server on SIGTERM
   * ```ts
   * import process from "node:process";
   * import { kill, SignalReceiver } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGTERM", "SIGHUP"]);
   * kill(process.pid, "SIGHUP"); // as a service manager would, from another process
   * kill(process.pid, "SIGTERM");
   * for await (const info of receiver) {
   *   if (info.signal === "SIGTERM") break;
   *   console.log("reloading, asked by", info.pid);
   * }
   * ```
   *
   * @returns An async iterator of signals; it ends when `close()` is called.
   */
  [Symbol.asyncIterator](): AsyncGenerator<SignalInfo, void, undefined> {
    return untilClosed(() => this.#closed, () => this.receive());
  }

  /**
   * Stops receiving and puts back what `listen()` changed: each signal's previous action
   * and, where the main thread blocked it before, its blocked state. Pending receives
   * reject with `EBADF`; signals not yet received are dropped. Idempotent.
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGUSR2", "SIGRTMIN+2"]);
   * const pending = receiver.receive().catch((e) => e.code);
   * receiver.close();
   * receiver.close(); // idempotent
   * console.log(await pending); // "EBADF"
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#restore();
    cancelAll(this.#waits, IpcError.closed("SignalReceiver", "close"));
    this.#queue = [];
    this.#head = 0;
  }

  #restore(): void {
    // Block again first: a signal that comes in between then waits, as before listen().
    if (this.#wasBlocked) libc.pthread_sigmask(C.SIG_BLOCK, this.#wasBlocked, null);
    for (const [n, previous] of this.#previous) {
      libc.sigaction(n, previous, null);
      this.#recorder.route(n, undefined);
      held.delete(n);
    }
    this.#previous.clear();
    try {
      this.#recorder.drain(); // hands on other receivers' records, drops this one's
    } catch {
      // Nothing to put back: the records stay for the next drain, which reports the error.
    }
  }

  /**
   * Same as `close()`.
   *
   * @example
   * ```ts
   * import { SignalReceiver } from "@sysipc/sysipc/signal";
   * const receiver = SignalReceiver.listen(["SIGUSR2"]);
   * {
   *   using inner = SignalReceiver.listen(["SIGUSR1"]);
   *   console.log(inner.signals); // ["SIGUSR1"]
   * } // closed here: SIGUSR1 has its previous action again
   * receiver.close();
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}

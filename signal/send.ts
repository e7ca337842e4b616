/**
 * Sending signals: {@linkcode kill}, {@linkcode killGroup}, {@linkcode sigqueue}, race-free
 * through a {@linkcode PidFd}, and the process-group calls {@linkcode getpgid} and
 * {@linkcode setpgid}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkInteger, checkOptions, FdHandle } from "../ffi/handle.ts";
import { check, errno, libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { siginfo } from "../ffi/structs.ts";
import { type SignalName, signalToSend } from "./names.ts";

const INT_MIN = -0x80000000;
const INT_MAX = 0x7fffffff;

/** Options of {@linkcode kill}. */
export interface KillOptions {
  /**
   * Allows `pid` 0 (every process in the caller's process group, the caller included)
   * and `pid` < -1 (every process in group `-pid`). Default `false`.
   */
  group?: boolean;
  /**
   * Allows `pid` -1: every process the caller may signal, except init and the caller.
   * Default `false`.
   */
  everyone?: boolean;
}

function checkPid(pid: unknown, what: string): number {
  return checkInteger(pid, what, INT_MIN, INT_MAX);
}

function checkValue(value: unknown): number {
  return checkInteger(value, "value", INT_MIN, INT_MAX);
}

/**
 * Sends a signal, as `kill(2)`: to one process (`pid` > 0), or, when asked explicitly, to
 * a process group or to every process the caller may signal. The receiver sees code
 * `"SI_USER"` and the caller's pid and uid.
 *
 * @example Asking a process to end
 * ```ts
 * import { kill } from "@sysipc/sysipc/signal";
 * import { spawn } from "@sysipc/sysipc/pipe";
 * const child = spawn("sleep", ["10"]);
 * kill(child.pid, "SIGTERM");
 * console.log(await child.status); // { code: null, signal: "SIGTERM" }
 * ```
 *
 * @example The seed's ping-pong: a signal to one's own process group
 * ```ts
 * import process from "node:process";
 * import { getpgid, kill, setpgid, SignalReceiver } from "@sysipc/sysipc/signal";
 * // A group of its own, so that kill(0, …) reaches this process and what it starts (a
 * // shell's job leads its own group already; a session leader may not call setpgid).
 * if (getpgid() !== process.pid) setpgid();
 * using receiver = SignalReceiver.listen(["SIGUSR2"]);
 * kill(0, "SIGUSR2", { group: true }); // every process in the group, this one included
 * console.log((await receiver.receive({ timeout: 1000 })).signal); // "SIGUSR2"
 * ```
 *
 * @param pid The process; 0, -1 or -pgid only with the matching option.
 * @param signal A name (`"SIGTERM"`, `"SIGRTMIN+1"`) or number; 0 sends nothing and only
 *   checks that the target exists and may be signalled.
 * @param options `group` allows 0 and negative process groups; `everyone` allows -1.
 * @throws {TypeError} For a `pid` that is not an integer or an unknown signal name.
 * @throws {RangeError} For `pid` 0, -1 or < -1 without the option that allows it, or a
 *   signal number out of range or reserved by the C library (32, 33).
 * @throws {IpcError} `ESRCH` when no such process (or group) exists, `EPERM` when the
 *   caller may not signal it.
 */
export function kill(
  pid: number,
  signal: SignalName | number,
  options: KillOptions = {},
): void {
  checkPid(pid, "pid");
  const n = signalToSend(signal, true);
  checkOptions(options);
  for (const flag of ["group", "everyone"] as const) {
    const value = options[flag];
    if (value !== undefined && typeof value !== "boolean") {
      throw new TypeError(`${flag} must be a boolean, got ${typeof value}`);
    }
  }
  if (pid === 0 && !options.group) {
    throw new RangeError(
      "pid 0 signals every process in this process group, this one included: pass " +
        "{ group: true } to mean that",
    );
  }
  if (pid === -1 && !options.everyone) {
    throw new RangeError(
      "pid -1 signals every process you may signal: pass { everyone: true } to mean that",
    );
  }
  if (pid < -1 && !options.group) {
    throw new RangeError(
      `pid ${pid} signals every process in group ${-pid}: pass { group: true }, or call ` +
        "killGroup",
    );
  }
  check(libc.kill(pid, n), "kill", String(pid));
}

/**
 * Sends a signal to every process in a process group (`killpg(3)`).
 *
 * @example
 * ```ts
 * import { spawn } from "@sysipc/sysipc/pipe";
 * import process from "node:process";
 * import { getpgid, killGroup, setpgid, SignalReceiver } from "@sysipc/sysipc/signal";
 * if (getpgid() !== process.pid) setpgid(); // a group of its own, which children join
 * const sleeper = spawn("sleep", ["10"]);
 * using receiver = SignalReceiver.listen(["SIGTERM"]); // so that it does not end this process
 * killGroup(getpgid(), "SIGTERM");
 * console.log(await sleeper.status); // { code: null, signal: "SIGTERM" }
 * ```
 *
 * @param pgid The process group id; 0 is the caller's own group.
 * @param signal A name or number; 0 checks that the group exists.
 * @throws {TypeError} For a non-integer `pgid` or an unknown signal name.
 * @throws {RangeError} For a negative `pgid` or a signal out of range.
 * @throws {IpcError} `ESRCH` when the group has no process, `EPERM` when the caller may
 *   signal none of them.
 */
export function killGroup(pgid: number, signal: SignalName | number): void {
  checkInteger(pgid, "pgid", 0, INT_MAX);
  const n = signalToSend(signal, true);
  check(libc.killpg(pgid, n), "killpg", String(pgid));
}

/**
 * Sends a signal with an integer value, as `sigqueue(3)`: the receiver sees code
 * `"SI_QUEUE"`, the value in `si_value`, and the caller's pid and uid. Real-time signals
 * queue (every one sent is received, in order); a standard signal is merged with one of
 * the same number still pending.
 *
 * @example
 * ```ts
 * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
 * import process from "node:process";
 * using receiver = SignalReceiver.listen(["SIGRTMIN"]);
 * sigqueue(process.pid, "SIGRTMIN", -7);
 * console.log((await receiver.receive()).value); // -7
 * ```
 *
 * @param pid The process (> 0).
 * @param signal A name or number; 0 checks that the process exists.
 * @param value An integer from -2^31 to 2^31 - 1 (C's `sival_int`).
 * @throws {TypeError} For a non-integer `pid` or `value`, or an unknown signal name.
 * @throws {RangeError} For `pid` ≤ 0, a value out of range, or a signal out of range.
 * @throws {IpcError} `ESRCH` when no such process exists, `EPERM` when the caller may not
 *   signal it, `EAGAIN` when the receiver's queue of pending real-time signals is full
 *   (`RLIMIT_SIGPENDING`).
 */
export function sigqueue(pid: number, signal: SignalName | number, value: number): void {
  checkInteger(pid, "pid", 1, INT_MAX);
  const n = signalToSend(signal, true);
  checkValue(value);
  // union sigval: the int in the low half, as C code that sets sival_int leaves it.
  check(libc.sigqueue(pid, n, value >>> 0), "sigqueue", String(pid));
}

/**
 * The process group of a process (`getpgid(2)`).
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { getpgid } from "@sysipc/sysipc/signal";
 * console.log(getpgid() === getpgid(process.pid)); // true
 * ```
 *
 * @param pid The process; 0 (the default) is the caller.
 * @returns The process group id.
 * @throws {IpcError} `ESRCH` when no such process exists.
 */
export function getpgid(pid = 0): number {
  checkInteger(pid, "pid", 0, INT_MAX);
  return check(libc.getpgid(pid), "getpgid", String(pid));
}

/**
 * Moves a process into a process group (`setpgid(2)`): `setpgid()` makes the caller the
 * leader of a new group whose id is its pid.
 *
 * @example
 * ```ts
 * import { getpgid, setpgid } from "@sysipc/sysipc/signal";
 * import process from "node:process";
 * // A group of its own, so that kill(0, …) reaches only what it starts; a session leader
 * // (a process started with setsid) leads its group already and may not call setpgid.
 * if (getpgid() !== process.pid) setpgid();
 * console.log(getpgid() === process.pid); // true
 * ```
 *
 * @param pid The process: the caller (0, the default) or one of its children.
 * @param pgid The group to join; 0 (the default) means a new group with id `pid`.
 * @throws {IpcError} `EPERM` when the process is a session leader or the group is in
 *   another session, `ESRCH` when `pid` is not the caller or its child, `EACCES` when the
 *   child has already called `exec`.
 */
export function setpgid(pid = 0, pgid = 0): void {
  checkInteger(pid, "pid", 0, INT_MAX);
  checkInteger(pgid, "pgid", 0, INT_MAX);
  check(libc.setpgid(pid, pgid), "setpgid", String(pid));
}

/** Set by `PidFd.open`: the constructor is not public. */
let constructing = false;

function internalOnly(fd: number): number {
  if (!constructing) throw new TypeError("PidFd has no public constructor: use PidFd.open(pid)");
  constructing = false;
  return fd;
}

/**
 * A process, held by a pidfd (Linux 5.3): signals sent through it reach that process or
 * fail with `ESRCH` once it has ended, never another process that reused its pid.
 *
 * @example
 * ```ts
 * import { PidFd } from "@sysipc/sysipc/signal";
 * import { spawn } from "@sysipc/sysipc/pipe";
 * const child = spawn("sleep", ["10"]);
 * using held = PidFd.open(child.pid);
 * held.kill("SIGTERM");
 * console.log(await child.status); // { code: null, signal: "SIGTERM" }
 * ```
 */
export class PidFd extends FdHandle {
  /** The process id it was opened for. */
  readonly pid: number;

  private constructor(fd: number, pid: number) {
    super(internalOnly(fd), "owned");
    this.pid = pid;
  }

  /**
   * Opens a pidfd for a running process. Between learning a pid and this call the
   * process may end and its pid be reused, as with any pid: open it while you know it is
   * the process you mean (your own child before you reap it, a peer that just told you
   * its pid).
   *
   * @example
   * ```ts
   * import { spawn } from "@sysipc/sysipc/pipe";
   * import { PidFd } from "@sysipc/sysipc/signal";
   * const child = spawn("sleep", ["10"]);
   * using handle = PidFd.open(child.pid); // this process, and no other, until it ends
   * handle.kill("SIGTERM");
   * console.log((await child.status).signal); // "SIGTERM"
   * ```
   *
   * @param pid The process (> 0).
   * @returns The handle.
   * @throws {RangeError} For `pid` ≤ 0.
   * @throws {IpcError} `ESRCH` when no such process exists, `ENOSYS` when the kernel has
   *   no pidfds (see `platform.pidfd`), `EMFILE` when out of descriptors.
   */
  static open(pid: number): PidFd {
    checkInteger(pid, "pid", 1, INT_MAX);
    const fd = libc.syscall(C.SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
    if (fd < 0) throw new IpcError({ errno: errno(), syscall: "pidfd_open", path: String(pid) });
    constructing = true;
    return new PidFd(fd, pid);
  }

  /** The handle's kind, for messages. */
  protected get kind(): string {
    return "PidFd";
  }

  /**
   * Sends a signal to the process, as {@linkcode kill} does (code `"SI_USER"`).
   *
   * @example
   * ```ts
   * import { spawn } from "@sysipc/sysipc/pipe";
   * import { PidFd } from "@sysipc/sysipc/signal";
   * const child = spawn("sleep", ["10"]);
   * using handle = PidFd.open(child.pid);
   * handle.kill(0); // checks that it still runs
   * handle.kill("SIGKILL");
   * await child.status;
   * try {
   *   handle.kill(0);
   * } catch (e) {
   *   console.log((e as { code?: string }).code); // "ESRCH": it has ended; never another process
   * }
   * ```
   *
   * @param signal A name or number; 0 checks that the process still exists.
   * @throws {IpcError} `ESRCH` once the process has ended, `EPERM`, `EBADF` when closed.
   * @throws {TypeError} For an unknown signal name.
   * @throws {RangeError} For a signal out of range.
   */
  kill(signal: SignalName | number): void {
    const n = signalToSend(signal, true);
    const fd = this.use("pidfd_send_signal");
    check(libc.syscall(C.SYS_pidfd_send_signal, fd, n, 0, 0, 0, 0), "pidfd_send_signal");
  }

  /**
   * Sends a signal with a value to the process, as {@linkcode sigqueue} does (code
   * `"SI_QUEUE"`, the caller's pid and uid, the value in `si_value`).
   *
   * @example
   * ```ts
   * import process from "node:process";
   * import { PidFd, SignalReceiver } from "@sysipc/sysipc/signal";
   * using receiver = SignalReceiver.listen(["SIGRTMIN+3"]);
   * using self = PidFd.open(process.pid);
   * self.sigqueue("SIGRTMIN+3", 12345);
   * console.log((await receiver.receive({ timeout: 5000 })).value); // 12345
   * ```
   *
   * @param signal A name or number.
   * @param value An integer from -2^31 to 2^31 - 1.
   * @throws {IpcError} `ESRCH` once the process has ended, `EPERM`, `EAGAIN` when its
   *   queue of real-time signals is full, `EBADF` when closed.
   * @throws {TypeError} For an unknown signal name or a non-integer value.
   * @throws {RangeError} For a signal or a value out of range.
   */
  sigqueue(signal: SignalName | number, value: number): void {
    const n = signalToSend(signal, true);
    checkValue(value);
    const fd = this.use("pidfd_send_signal");
    // What glibc's sigqueue() fills in, sent through the pidfd.
    const info = new DataView(new ArrayBuffer(siginfo.size));
    info.setInt32(siginfo.offsets.si_signo, n, true);
    info.setInt32(siginfo.offsets.si_code, C.SI_QUEUE, true);
    info.setInt32(siginfo.offsets.si_pid, libc.getpid(), true);
    info.setUint32(siginfo.offsets.si_uid, libc.getuid(), true);
    info.setInt32(siginfo.offsets.si_value, value, true);
    const address = runtime.addressOf(info);
    check(
      libc.syscall(C.SYS_pidfd_send_signal, fd, n, address, 0, 0, 0),
      "pidfd_send_signal",
    );
    void info; // kept alive through the call
  }
}

/**
 * {@linkcode spawn}: starting a child process with descriptors placed at chosen fd numbers,
 * through `posix_spawn` (the runtimes cannot fork). The exit status comes through a pidfd,
 * waited on by the wait engine.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { errnoName, IpcError } from "../ffi/errors.ts";
import { checkFd } from "../ffi/handle.ts";
import {
  check,
  checkCode,
  checkRetry,
  cString,
  describeValue,
  EBADF,
  errno,
  libc,
  stableCString,
} from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { siginfo, spawnAttr, spawnFileActions } from "../ffi/structs.ts";
import { fileMode, fileTypeName } from "../ffi/stat.ts";
import { waitFd } from "../ffi/wait/mod.ts";
import { RTMAX, RTMIN, type SignalName, signalName, signalNumber } from "../signal/names.ts";
import { sigsetOf } from "../signal/sigset.ts";

/** A descriptor to hand to the child: an fd number, or any handle with an `fd`. */
export type FdSource = number | { readonly fd: number };

/** What a child's standard stream is: the parent's (`"inherit"`), `/dev/null`, or a descriptor. */
export type Stdio = "inherit" | "null" | FdSource;

/** Options of {@linkcode spawn}. */
export interface SpawnOptions {
  /**
   * Descriptors to place in the child, keyed by the child's fd number (3 and up; use
   * `stdin`/`stdout`/`stderr` for 0–2). Each is duplicated into the child without
   * `FD_CLOEXEC`; the parent's copy stays open. Default: none.
   */
  fds?: Record<number, FdSource>;
  /** The child's working directory. Default: the parent's. */
  cwd?: string;
  /**
   * The child's whole environment. Default: the parent's C environment (`environ`), which
   * `Deno.env.set` changes but Bun's `process.env` assignments do not: on Bun, pass
   * `{ ...process.env }` to hand those on.
   */
  env?: Record<string, string>;
  /** The child's fd 0. Default `"inherit"`. */
  stdin?: Stdio;
  /** The child's fd 1. Default `"inherit"`. */
  stdout?: Stdio;
  /** The child's fd 2. Default `"inherit"`. */
  stderr?: Stdio;
  /**
   * Signals blocked in the child from its first instruction, and so in every thread it
   * starts: those sent to it before it listens wait for its `SignalReceiver` (or its
   * `sigwaitinfo`) instead of running their default action, which for most is to end it.
   * On Bun they do not wait: its event loop unblocks every signal while it is idle, even
   * before the program's first line runs. Every other signal starts unblocked, and every
   * signal starts with its default action (the runtimes ignore `SIGPIPE`; the child does
   * not).
   */
  blockSignals?: (SignalName | number)[];
}

/** How a child ended: `code` when it exited, `signal` when a signal killed it. */
export interface ChildStatus {
  /** The exit code, or `null` when killed by a signal. */
  code: number | null;
  /** The signal that killed it, or `null` when it exited. */
  signal: string | null;
}

/** A started child process. */
export interface Child {
  /** Its process id. */
  readonly pid: number;
  /** Resolves once it has ended (and has been reaped). */
  readonly status: Promise<ChildStatus>;
  /**
   * Sends it a signal through its pidfd (never another process that reused the pid).
   *
   * @param signal Default `"SIGTERM"`.
   * @throws {IpcError} `ESRCH` once it has ended and been reaped.
   */
  kill(signal?: SignalName | number): void;
  /**
   * Lets this process exit while the child still runs (as Node's `ChildProcess.unref()`).
   * `status` still settles if the child ends while this process is running.
   */
  unref(): void;
  /** Undoes {@linkcode Child.unref}: the pending child keeps this process alive again. */
  ref(): void;
}

const encoder = new TextEncoder();

/** A NULL-terminated array of C strings, kept reachable with it, at stable addresses. */
class CStringArray {
  readonly pointers: BigUint64Array;
  readonly #strings: Uint8Array[];

  constructor(items: string[]) {
    this.#strings = items.map(stableCString);
    this.pointers = new BigUint64Array(new ArrayBuffer((items.length + 1) * 8));
    this.#strings.forEach((s, i) => this.pointers[i] = BigInt(runtime.addressOf(s)));
  }
}

function stringArg(value: unknown, what: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`${what} must be a string, got ${typeof value}`);
  }
  if (value.includes("\0")) throw new TypeError(`${what} must not contain NUL bytes`);
  return value;
}

function fdOf(source: unknown, what: string): number {
  if (typeof source === "object" && source !== null && "fd" in source) {
    const fd = (source as { fd: unknown }).fd;
    if (fd === -1) throw IpcError.of("EBADF", "spawn", undefined, `${what} is closed`);
    return checkFd(fd, `${what}.fd`);
  }
  return checkFd(source, what);
}

function stdioOf(source: unknown, what: string): number | "null" | undefined {
  if (source === undefined || source === "inherit") return undefined;
  if (source === "null") return "null";
  if (
    typeof source !== "number" &&
    (typeof source !== "object" || source === null || !("fd" in source))
  ) {
    throw new TypeError(
      `${what} must be "inherit", "null", a file descriptor number or a handle with an fd ` +
        `(such as a PipeReader), got ${describeValue(source)}`,
    );
  }
  return fdOf(source, what);
}

/** glibc's search path when `PATH` is not set (`confstr(_CS_PATH)`). */
const DEFAULT_PATH = "/bin:/usr/bin";

/**
 * Finds the file `posix_spawn` should run, as `execvp` would, but in the `PATH` the child
 * gets (`env.PATH` when `env` is given) rather than the parent's.
 */
function resolveCommand(command: string, env: Record<string, string> | undefined, cwd?: string) {
  if (command.includes("/")) return command;
  let search: string;
  if (env !== undefined) search = env.PATH ?? DEFAULT_PATH;
  else {
    const address = libc.getenv(stableCString("PATH"));
    search = address === 0n ? DEFAULT_PATH : runtime.cstring(address);
  }
  let denied: string | undefined;
  for (const dir of search.split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${command}`;
    // Relative entries are relative to the child's working directory, as in the child.
    const here = cwd !== undefined && !candidate.startsWith("/")
      ? `${cwd}/${candidate}`
      : candidate;
    let mode: number;
    try {
      mode = fileMode(here);
    } catch {
      continue; // not there (or not reachable): try the next directory
    }
    if ((mode & C.S_IFMT) !== C.S_IFREG) continue;
    if (libc.access(stableCString(here), C.X_OK) === 0) return candidate;
    denied ??= here;
  }
  if (denied !== undefined) {
    throw IpcError.of("EACCES", "spawn", command, `Permission denied: ${denied} is not executable`);
  }
  throw IpcError.of("ENOENT", "spawn", command, `Command not found in PATH (${search})`);
}

let environAddress: bigint | undefined;

/** The address of the C `environ` array, read through `dlsym` each time (setenv moves it). */
function currentEnviron(): number | bigint {
  if (environAddress === undefined) {
    const address = libc.dlsym?.(0, encoder.encode("environ\0")) ?? 0n;
    if (address === 0n) throw IpcError.of("ENOSYS", "dlsym", "environ", "Cannot find environ");
    environAddress = address;
  }
  return new BigUint64Array(runtime.memory(environAddress, 8))[0]!;
}

/**
 * Starts `command` with `args`, placing descriptors at chosen fd numbers in the child.
 * The command is looked up in `PATH` when it has no slash.
 *
 * @example Handing a pipe's read end to a child at fd 3
 * ```ts
 * import { pipe, spawn } from "@sysipc/sysipc/pipe";
 * const [reader, writer] = pipe();
 * const child = spawn("sh", ["-c", "cat <&3"], { fds: { 3: reader } });
 * reader.close(); // the child has its own copy
 * await writer.write("hello, child\n");
 * writer.close();
 * console.log(await child.status); // { code: 0, signal: null }
 * ```
 *
 * @param command The program: a path, or a name found in `PATH`.
 * @param args Its arguments (without `argv[0]`, which is `command`).
 * @param options Descriptors, working directory, environment, stdio, blocked signals.
 * @returns The child: `pid`, `status`, `kill()`.
 * @throws {IpcError} `ENOENT` when the command is not found, `EACCES` when it is not
 *   executable, `EBADF` when a descriptor to hand over is not open.
 * @throws {TypeError} For a malformed argument, such as a string with a NUL byte.
 * @throws {RangeError} For an fd number out of range.
 */
export function spawn(command: string, args: string[] = [], options: SpawnOptions = {}): Child {
  stringArg(command, "command");
  if (command.length === 0) throw new TypeError("command must not be empty");
  if (!Array.isArray(args)) throw new TypeError("args must be an array of strings");
  args.forEach((a, i) => stringArg(a, `args[${i}]`));
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }

  // Target fd → source fd ("null" for /dev/null).
  const plan = new Map<number, number | "null">();
  const stdio = [options.stdin, options.stdout, options.stderr];
  const stdioNames = ["stdin", "stdout", "stderr"] as const;
  stdio.forEach((s, target) => {
    const source = stdioOf(s, stdioNames[target]!);
    if (source !== undefined) plan.set(target, source);
  });
  if (options.fds !== undefined && (typeof options.fds !== "object" || options.fds === null)) {
    throw new TypeError("fds must be an object of child fd numbers to descriptors");
  }
  for (const [key, source] of Object.entries(options.fds ?? {})) {
    const target = Number(key);
    if (!Number.isInteger(target) || target < 3 || target > 1023) {
      throw new RangeError(
        `fds keys must be child fd numbers from 3 to 1023, got ${JSON.stringify(key)}`,
      );
    }
    plan.set(target, fdOf(source, `fds[${key}]`));
  }
  const block = options.blockSignals === undefined ? [] : options.blockSignals;
  if (!Array.isArray(block)) throw new TypeError("blockSignals must be an array of signals");
  const blocked = block.map((s, i) => signalNumber(s, `blockSignals[${i}]`));
  const cwd = options.cwd === undefined ? undefined : cString(options.cwd, "cwd");
  if (options.cwd !== undefined) {
    let mode: number;
    try {
      mode = fileMode(options.cwd, "cwd");
    } catch (e) {
      if (e instanceof IpcError) {
        throw IpcError.of(e.code, "spawn", options.cwd, `Cannot use cwd: ${e.message}`);
      }
      throw e;
    }
    if ((mode & C.S_IFMT) !== C.S_IFDIR) {
      throw IpcError.of("ENOTDIR", "spawn", options.cwd, `cwd is ${fileTypeName(mode)}`);
    }
  }
  let envp: CStringArray | undefined;
  if (options.env !== undefined) {
    if (typeof options.env !== "object" || options.env === null) {
      throw new TypeError("env must be an object of strings");
    }
    envp = new CStringArray(
      Object.entries(options.env).map(([k, v]) => {
        if (k.length === 0 || k.includes("=")) {
          throw new TypeError(`env key ${JSON.stringify(k)} is not a valid name`);
        }
        return `${stringArg(k, "env key")}=${stringArg(v, `env[${JSON.stringify(k)}]`)}`;
      }),
    );
  }
  const argv = new CStringArray([command, ...args]);
  const file = cString(resolveCommand(command, options.env, options.cwd), "command");

  const actions = new Uint8Array(spawnFileActions.size);
  const attr = new Uint8Array(spawnAttr.size);
  const temps: number[] = [];
  checkCode(libc.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
  checkCode(libc.posix_spawnattr_init(attr), "posix_spawnattr_init");
  try {
    // Sources are first duplicated above every target, so that placing one descriptor
    // can never overwrite another that is still to be placed; the copies are close-on-exec.
    const above = Math.max(3, ...plan.keys()) + 1;
    for (const [target, source] of plan) {
      if (source === "null") {
        const path = encoder.encode("/dev/null\0");
        checkCode(
          libc.posix_spawn_file_actions_addopen(actions, target, path, C.O_RDWR, 0),
          "posix_spawn_file_actions_addopen",
        );
        continue;
      }
      const temp = libc.fcntl(source, C.F_DUPFD_CLOEXEC, above);
      if (temp < 0) {
        const e = errno();
        const detail = e === EBADF
          ? `fd ${source} (for child fd ${target}) is not open`
          : undefined;
        throw new IpcError({ errno: e, syscall: "spawn", detail });
      }
      temps.push(temp);
      checkCode(
        libc.posix_spawn_file_actions_adddup2(actions, temp, target),
        "posix_spawn_file_actions_adddup2",
      );
    }
    if (cwd) {
      const addchdir = libc.posix_spawn_file_actions_addchdir_np;
      if (!addchdir) {
        throw IpcError.of("ENOSYS", "spawn", undefined, "cwd needs glibc 2.29 or later");
      }
      checkCode(addchdir(actions, cwd), "posix_spawn_file_actions_addchdir_np", options.cwd);
    }
    const defaults: number[] = [];
    for (let n = 1; n <= RTMAX; n++) {
      if (n !== 9 && n !== 19 && (n < 32 || n >= RTMIN)) defaults.push(n);
    }
    checkCode(
      libc.posix_spawnattr_setsigdefault(attr, sigsetOf(defaults)),
      "posix_spawnattr_setsigdefault",
    );
    checkCode(
      libc.posix_spawnattr_setsigmask(attr, sigsetOf(blocked)),
      "posix_spawnattr_setsigmask",
    );
    checkCode(
      libc.posix_spawnattr_setflags(attr, C.POSIX_SPAWN_SETSIGDEF | C.POSIX_SPAWN_SETSIGMASK),
      "posix_spawnattr_setflags",
    );
    const pid = new Int32Array(1);
    const env = envp ? runtime.addressOf(envp.pointers) : currentEnviron();
    checkCode(libc.posix_spawn(pid, file, actions, attr, argv.pointers, env), "spawn", command);
    return startChild(pid[0]!);
  } finally {
    for (const fd of temps) libc.close(fd);
    libc.posix_spawn_file_actions_destroy(actions);
    libc.posix_spawnattr_destroy(attr);
  }
}

/**
 * Opens the child's pidfd. If that fails (out of descriptors, say), the child is killed
 * and reaped before the error is thrown: a caller who gets no `Child` must not get a
 * running process it cannot see either.
 */
function openPidfd(pid: number): number {
  const pidfd = libc.syscall(C.SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
  if (pidfd >= 0) return pidfd;
  const e = errno();
  const error = new IpcError({
    errno: e,
    syscall: "spawn",
    detail: `Started process ${pid} but could not open its pidfd (${
      errnoName(e)
    }), so it was killed`,
  });
  libc.kill(pid, signalNumber("SIGKILL"));
  const info = new DataView(new ArrayBuffer(siginfo.size));
  checkRetry(() => libc.waitid(C.P_PID, pid, info, C.WEXITED), "waitid");
  throw error;
}

/** Why a wait on the child's pidfd was cancelled by `ref()`/`unref()`: start it again. */
const REWAIT = Symbol("rewait");

function startChild(pid: number): Child {
  const pidfd = openPidfd(pid);
  let reaped = false;
  let ref = true;
  let rewait = new AbortController();
  const status = (async (): Promise<ChildStatus> => {
    try {
      const info = new DataView(new ArrayBuffer(siginfo.size));
      // Someone else may have reaped it before the pidfd was opened, and the pid may have
      // been reused: then it is no child of ours, and waitid says ECHILD.
      checkRetry(
        () => libc.waitid(C.P_PIDFD, pidfd, info, C.WEXITED | C.WNOHANG | C.WNOWAIT),
        "waitid",
      );
      while (true) {
        try {
          await waitFd(pidfd, C.POLLIN, { signal: rewait.signal }, {
            syscall: "waitid",
            spin: null,
            ref,
          });
          break;
        } catch (e) {
          if (e !== REWAIT) throw e;
          rewait = new AbortController();
        }
      }
      checkRetry(() => libc.waitid(C.P_PIDFD, pidfd, info, C.WEXITED), "waitid");
      const code = info.getInt32(siginfo.offsets.si_code, true);
      const value = info.getInt32(siginfo.offsets.si_status, true);
      return code === C.CLD_EXITED
        ? { code: value, signal: null }
        : { code: null, signal: signalName(value) };
    } finally {
      reaped = true;
      libc.close(pidfd);
    }
  })();
  // A caller that never awaits `status` must not get an unhandled rejection; one that
  // does still sees the error.
  status.catch(() => {});
  const setRef = (wanted: boolean) => {
    if (ref === wanted || reaped) return;
    ref = wanted;
    rewait.abort(REWAIT);
  };
  return {
    pid,
    status,
    kill(signal: SignalName | number = "SIGTERM") {
      const n = signalNumber(signal);
      if (reaped) throw IpcError.of("ESRCH", "kill", undefined, `Process ${pid} has ended`);
      check(libc.syscall(C.SYS_pidfd_send_signal, pidfd, n, 0, 0, 0, 0), "pidfd_send_signal");
    },
    unref: () => setRef(false),
    ref: () => setRef(true),
  };
}

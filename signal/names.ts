/**
 * Signal names and numbers on Linux. The real-time range is the C library's, asked at run
 * time as C's `SIGRTMIN`/`SIGRTMAX` macros do: glibc keeps 32 and 33 for itself, so its
 * `SIGRTMIN` is 34, musl's is 35.
 *
 * @module
 */
import { libc } from "../ffi/libc.ts";

/** The first real-time signal programs may use (`SIGRTMIN`), from the C library. */
export const RTMIN: number = libc.__libc_current_sigrtmin?.() ?? 35;
/** The last real-time signal (`SIGRTMAX`), from the C library. */
export const RTMAX: number = libc.__libc_current_sigrtmax?.() ?? 64;

/** A standard signal name, or a real-time one written `"SIGRTMIN+n"` / `"SIGRTMAX-n"`. */
export type SignalName =
  | "SIGHUP"
  | "SIGINT"
  | "SIGQUIT"
  | "SIGILL"
  | "SIGTRAP"
  | "SIGABRT"
  | "SIGBUS"
  | "SIGFPE"
  | "SIGKILL"
  | "SIGUSR1"
  | "SIGSEGV"
  | "SIGUSR2"
  | "SIGPIPE"
  | "SIGALRM"
  | "SIGTERM"
  | "SIGSTKFLT"
  | "SIGCHLD"
  | "SIGCONT"
  | "SIGSTOP"
  | "SIGTSTP"
  | "SIGTTIN"
  | "SIGTTOU"
  | "SIGURG"
  | "SIGXCPU"
  | "SIGXFSZ"
  | "SIGVTALRM"
  | "SIGPROF"
  | "SIGWINCH"
  | "SIGIO"
  | "SIGPWR"
  | "SIGSYS"
  | "SIGRTMIN"
  | "SIGRTMAX"
  | `SIGRTMIN+${number}`
  | `SIGRTMAX-${number}`;

const STANDARD: readonly SignalName[] = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
]; // deno-fmt-ignore

const ALIASES: Record<string, number> = { SIGIOT: 6, SIGPOLL: 29, SIGCLD: 17 };

/**
 * The number of a signal.
 *
 * @example
 * ```ts
 * import { signalNumber } from "@sysipc/sysipc/signal";
 * signalNumber("SIGTERM"); // 15
 * signalNumber("SIGRTMIN+1"); // 35 with glibc
 * ```
 *
 * @param name A signal name (`"SIGTERM"`, `"TERM"`, `"SIGRTMIN+2"`) or number.
 * @returns The signal number.
 * @throws {TypeError} For an unknown name or a value that is neither string nor number.
 * @throws {RangeError} For a number outside 1 to `SIGRTMAX`, or an out-of-range `SIGRTMIN+n`.
 */
export function signalNumber(name: SignalName | number | string, what = "signal"): number {
  if (typeof name === "number") {
    if (!Number.isInteger(name) || name < 1 || name > RTMAX) {
      throw new RangeError(`${what} must be an integer between 1 and ${RTMAX}, got ${name}`);
    }
    return name;
  }
  if (typeof name !== "string") {
    throw new TypeError(`${what} must be a name or a number, got ${typeof name}`);
  }
  const full = name.startsWith("SIG") ? name : `SIG${name}`;
  const index = STANDARD.indexOf(full as SignalName);
  if (index >= 0) return index + 1;
  if (full in ALIASES) return ALIASES[full]!;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(full);
  if (rt) {
    const base = rt[1] === "MIN" ? RTMIN : RTMAX;
    const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === "+" ? 1 : -1);
    const n = base + offset;
    if (
      (rt[1] === "MIN" && offset < 0) || (rt[1] === "MAX" && offset > 0) || n < RTMIN ||
      n > RTMAX
    ) {
      throw new RangeError(
        `${what} ${name} is outside SIGRTMIN..SIGRTMAX (${RTMIN}..${RTMAX})`,
      );
    }
    return n;
  }
  throw new TypeError(`Unknown signal name for ${what}: ${JSON.stringify(name)}`);
}

/**
 * Checks a signal to send: a signal name or number, or 0 where `allowZero` (sending 0
 * checks that the target exists and may be signalled, and sends nothing).
 *
 * @param value The argument.
 * @param allowZero Whether 0 is accepted.
 * @returns The signal number.
 * @throws {TypeError} For an unknown name.
 * @throws {RangeError} For a number out of range, or one the C library keeps for itself.
 */
export function signalToSend(value: unknown, allowZero: boolean, what = "signal"): number {
  if (allowZero && value === 0) return 0;
  const n = signalNumber(value as SignalName | number, what);
  if (n > 31 && n < RTMIN) {
    throw new RangeError(
      `${what} ${n} is reserved by the C library for its own threads; real-time signals ` +
        `for programs are SIGRTMIN (${RTMIN}) to SIGRTMAX (${RTMAX})`,
    );
  }
  return n;
}

/**
 * The name of a signal number.
 *
 * @example
 * ```ts
 * import { signalName } from "@sysipc/sysipc/signal";
 * signalName(9); // "SIGKILL"
 * ```
 *
 * @param n The signal number.
 * @returns `"SIGKILL"`, `"SIGRTMIN+3"`, …
 * @throws {RangeError} For a number that is no signal here.
 */
export function signalName(n: number): SignalName {
  signalNumber(n);
  if (n <= STANDARD.length) return STANDARD[n - 1]!;
  if (n < RTMIN) {
    throw new RangeError(`signal ${n} is reserved by the C library`);
  }
  return n === RTMIN ? "SIGRTMIN" : `SIGRTMIN+${n - RTMIN}`;
}

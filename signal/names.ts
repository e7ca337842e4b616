/**
 * Signal names and numbers on Linux.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";

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
export function signalNumber(name: SignalName | number | string): number {
  if (typeof name === "number") {
    if (!Number.isInteger(name) || name < 1 || name > C.SIGRTMAX) {
      throw new RangeError(`signal must be an integer between 1 and ${C.SIGRTMAX}, got ${name}`);
    }
    return name;
  }
  if (typeof name !== "string") {
    throw new TypeError(`signal must be a name or a number, got ${typeof name}`);
  }
  const full = name.startsWith("SIG") ? name : `SIG${name}`;
  const index = STANDARD.indexOf(full as SignalName);
  if (index >= 0) return index + 1;
  if (full in ALIASES) return ALIASES[full]!;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(full);
  if (rt) {
    const base = rt[1] === "MIN" ? C.SIGRTMIN : C.SIGRTMAX;
    const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === "+" ? 1 : -1);
    const n = base + offset;
    if (
      (rt[1] === "MIN" && offset < 0) || (rt[1] === "MAX" && offset > 0) || n < C.SIGRTMIN ||
      n > C.SIGRTMAX
    ) {
      throw new RangeError(`${name} is outside SIGRTMIN..SIGRTMAX (${C.SIGRTMIN}..${C.SIGRTMAX})`);
    }
    return n;
  }
  throw new TypeError(`Unknown signal name: ${JSON.stringify(name)}`);
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
  if (n < C.SIGRTMIN) {
    throw new RangeError(`signal ${n} is reserved by the C library`);
  }
  return n === C.SIGRTMIN ? "SIGRTMIN" : `SIGRTMIN+${n - C.SIGRTMIN}`;
}

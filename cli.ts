#!/usr/bin/env bun
/**
 * The `sysipc` command line: look at, clean up and use the IPC objects of a host from a
 * shell or a script.
 *
 * - `sysipc ls [--json]` lists every IPC object (POSIX shared memory, message queues and
 *   named semaphores; System V shared memory, queues and semaphore sets; listening Unix
 *   sockets) with owner, mode, size or depth, the processes it records or that use it and
 *   whether they are alive, and whether it is in use, stale or unknown.
 * - `sysipc stat KIND NAME|ID|KEY` shows one object; `sysipc rm KIND NAME|ID|KEY…` removes.
 * - `sysipc doctor [--clean]` finds stale objects (every process that used them is gone,
 *   nothing is attached) by a conservative rule per kind, and with `--clean` removes them.
 * - `sysipc send QUEUE [TEXT]` and `sysipc recv QUEUE` use a POSIX (`/name`) or System V
 *   (id, or key `0x…`) queue from the shell.
 * - `sysipc bench [ARGS]…` runs the benchmark suite of a source checkout (`bench/run.ts`).
 * - `sysipc run [--block SIGNALS]… [--] COMMAND [ARG]…` runs COMMAND in place of sysipc (the
 *   same process: same pid, its exit status is the command's), with SIGNALS blocked in
 *   every thread it will start, so that signals sent before it listens wait for it.
 *
 * Every command has `--help`; exit statuses are in {@linkcode EXIT}. Run it as
 * `deno run -A jsr:@sysipc/sysipc/cli …`, `bunx sysipc …`, or from a checkout
 * `npm run sysipc -- …`.
 *
 * @example Cleaning up after a crashed program
 * ```sh
 * sysipc ls                 # what is there, and who uses it
 * sysipc doctor             # exit status 5 when something is stale
 * sysipc doctor --clean     # remove what is still stale on a second look
 * ```
 *
 * @example Starting a Deno program that will receive SIGRTMIN+1
 * ```sh
 * bunx sysipc run --block SIGRTMIN+1 -- deno run -A receiver.ts
 * ```
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { C } from "./ffi/constants.ts";
import { errno, libc, stableCString } from "./ffi/libc.ts";
import { errnoName } from "./ffi/errors.ts";
import { runtime } from "./ffi/runtime.ts";
import { sigaction } from "./ffi/structs.ts";
import { signalName, signalNumber, signalToSend } from "./signal/names.ts";
import { sigsetOf } from "./signal/sigset.ts";
import { type Command, COMMANDS } from "./cli/commands.ts";
import { EXIT, say } from "./cli/output.ts";

export { EXIT };

const USAGE = `Usage: sysipc <command> [options]

Commands:
${
  Object.entries({
    ...COMMANDS,
    run: { summary: "run a program with signals blocked in every thread" },
  })
    .map(([name, c]) => `  ${name.padEnd(7)}${c.summary}`).join("\n")
}

Run "sysipc <command> --help" (or "sysipc help <command>") for a command's options.
Exit status: 0 success; 1 a system call failed (such as permission denied); 2 bad
usage (no command, an unknown one, a bad option); 3 no such object; 4 timed out;
5 doctor found stale objects; run: 125 to 127, or the program's own.`;

const RUN_USAGE = `Usage: sysipc run [--block SIGNALS]... [--] COMMAND [ARG]...

Runs COMMAND in place of sysipc: the same process, so its pid is the one you started,
signals sent to that pid reach it, and its exit status is COMMAND's. SIGNALS start
blocked in every thread it will start: those sent before it listens wait for it
instead of killing it, and sigwaitinfo/signalfd readers get them all. SIGPIPE and
SIGXFSZ get back their default action (the JavaScript runtimes ignore them).

Options:
  -b, --block SIGNALS  signals to block, comma-separated names or numbers
                       (SIGUSR1,SIGRTMIN+1,12); may be repeated
  -h, --help           show this help

Exit status: COMMAND's own; 125 when sysipc run itself fails (a bad option or
signal), 126 when COMMAND cannot be run, 127 when it is not found.

On Bun, the event loop unblocks every signal while it waits, even before the first
line of the program runs: a Bun program should also ignore the signals until it
listens (in sh: trap '' USR1), so that an early one is dropped rather than fatal.`;

/** Splits `run`'s own options from the command: options end at `--` or the first operand. */
function splitRun(args: string[]): { options: string[]; command: string[] } {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return { options: args.slice(0, i), command: args.slice(i + 1) };
    if (!arg.startsWith("-") || arg === "-") {
      return { options: args.slice(0, i), command: args.slice(i) };
    }
    if (arg === "-b" || arg === "--block") i++; // its value
  }
  return { options: args, command: [] };
}

function blockedSignals(lists: string[]): number[] {
  const numbers = new Set<number>();
  for (const list of lists) {
    for (const item of list.split(",")) {
      const text = item.trim();
      const n = signalToSend(/^\d+$/.test(text) ? Number(text) : text, false);
      if (signalName(n) === "SIGKILL" || signalName(n) === "SIGSTOP") {
        throw new RangeError(`${signalName(n)} cannot be blocked: the kernel never lets it wait`);
      }
      numbers.add(n);
    }
  }
  return [...numbers];
}

/** A NULL-terminated `char *argv[]`, with the strings it points at kept alive with it. */
function argvOf(items: string[]): { pointers: BigUint64Array; strings: Uint8Array[] } {
  const strings = items.map(stableCString);
  const pointers = new BigUint64Array(new ArrayBuffer((items.length + 1) * 8));
  strings.forEach((s, i) => pointers[i] = BigInt(runtime.addressOf(s)));
  return { pointers, strings };
}

function run(args: string[]): number {
  const { options, command } = splitRun(args);
  let values: { block?: string[]; help?: boolean };
  try {
    values = parseArgs({
      args: options,
      options: {
        block: { type: "string", short: "b", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    say(2, `sysipc run: ${(e as Error).message}\n${RUN_USAGE}\n`);
    return EXIT.runFailed;
  }
  if (values.help) {
    say(1, `${RUN_USAGE}\n`);
    return EXIT.ok;
  }
  if (command.length === 0) {
    say(2, `sysipc run: no command given\n${RUN_USAGE}\n`);
    return EXIT.runFailed;
  }
  let signals: number[];
  try {
    signals = blockedSignals(values.block ?? []);
  } catch (e) {
    say(2, `sysipc run: --block: ${(e as Error).message}\n`);
    return EXIT.runFailed;
  }
  const file = command[0]!;
  if (command.some((a) => a.includes("\0"))) {
    say(2, "sysipc run: arguments must not contain NUL bytes\n");
    return EXIT.runFailed;
  }
  // What the runtimes changed and a program expects at its default: SIGPIPE and SIGXFSZ.
  const action = new Uint8Array(new ArrayBuffer(sigaction.size));
  for (const name of ["SIGPIPE", "SIGXFSZ"] as const) {
    libc.sigaction(signalNumber(name), action, null);
  }
  // The mask of the thread that calls exec is the new program's, and every thread it
  // starts inherits it.
  libc.pthread_sigmask(C.SIG_BLOCK, sigsetOf(signals), null);
  const argv = argvOf(command);
  libc.execvp(stableCString(file), argv.pointers);
  const e = errno();
  void argv; // kept alive through the call
  say(2, `sysipc run: cannot run ${file}: ${errnoName(e)}\n`);
  return errnoName(e) === "ENOENT" ? EXIT.notFound : EXIT.cannotRun;
}

const ALL: Record<string, Command> = {
  ...Object.fromEntries(Object.entries(COMMANDS).map(([name, c]) => [name, c.run])),
  run,
};

/**
 * Runs the command line `args` (without the program name) and returns the exit status;
 * `sysipc run` does not return when it starts its command. Output goes to fds 1 and 2.
 *
 * @example
 * ```ts
 * import { EXIT, main } from "@sysipc/sysipc/cli";
 * const status = main(["run", "--help"]); // prints the help of `run`, returns 0
 * console.log(status === EXIT.ok); // true
 * console.log(main(["stat", "shm", "/no-such-object"]) === EXIT.noSuchObject); // true
 * ```
 *
 * @param args The arguments, such as `["ls", "--json"]` or
 *   `["run", "--block", "SIGUSR1", "--", "sh"]`.
 * @returns The exit status: see {@linkcode EXIT}.
 * @throws Nothing for bad input: usage errors and failed system calls are reported on fd 2
 *   and in the exit status.
 */
export function main(args: string[]): number {
  const [name, ...rest] = args;
  if (name === "help" && rest.length > 0) return main([rest[0]!, "--help"]);
  if (name === "--help" || name === "-h" || name === "help") {
    say(1, `${USAGE}\n`);
    return EXIT.ok;
  }
  const command = name === undefined || !Object.hasOwn(ALL, name) ? undefined : ALL[name];
  if (command === undefined) {
    say(
      2,
      `${name === undefined ? "sysipc: no command given" : `sysipc: unknown command ${name}`}\n` +
        `${USAGE}\n`,
    );
    return EXIT.usage;
  }
  return command(rest);
}

if (import.meta.main) process.exit(main(process.argv.slice(2)));

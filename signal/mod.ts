/**
 * Signals: sending them (`kill`, `killGroup`, `sigqueue` with a value, race-free through
 * a `PidFd`), process groups (`getpgid`, `setpgid`), receiving them with their sender and
 * value (`SignalReceiver`), and signal names and numbers.
 *
 * @example Receiving what another process sends
 * ```ts
 * import { SignalReceiver, sigqueue } from "@sysipc/sysipc/signal";
 * import process from "node:process";
 *
 * using receiver = SignalReceiver.listen(["SIGUSR1", "SIGRTMIN+1"]);
 * sigqueue(process.pid, "SIGRTMIN+1", 42); // as another process would
 * const { signal, value, pid, code } = await receiver.receive({ timeout: 1000 });
 * console.log(signal, value, pid, code); // "SIGRTMIN+1" 42 <pid> "SI_QUEUE"
 * ```
 *
 * @module
 */
export { type SignalName, signalName, signalNumber } from "./names.ts";
export { type ReceiveSyncOptions, type SignalInfo, SignalReceiver } from "./receiver.ts";
export { getpgid, kill, killGroup, type KillOptions, PidFd, setpgid, sigqueue } from "./send.ts";

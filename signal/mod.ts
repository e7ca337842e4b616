/**
 * Signals. So far: the names and numbers of signals; sending and receiving them come in
 * a later release.
 *
 * @example
 * ```ts
 * import { signalName, signalNumber } from "@sysipc/sysipc/signal";
 * console.log(signalNumber("SIGUSR1"), signalName(15)); // 10 "SIGTERM"
 * ```
 *
 * @module
 */
export { type SignalName, signalName, signalNumber } from "./names.ts";

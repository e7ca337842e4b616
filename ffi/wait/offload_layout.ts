/**
 * The control block shared by the main thread and one offload helper thread (see
 * `./offload.ts`): `Int32` slots, then the call's arguments as `Float64`s (addresses and
 * sizes are below 2^53).
 *
 * @module
 */
import { C } from "../constants.ts";

/** Slot: the request's state, one of `IDLE`, `REQUEST`, `DONE`, `EXIT`. */
export const STATE = 0;
/** Slot: set to 1 by the main thread to give the request up. */
export const CANCEL = 1;
/** Slot: the helper thread's kernel thread id, for `tgkill`. */
export const TID = 2;
/** Slot: the call's result. */
export const RESULT = 3;
/** Slot: errno after a failed call, read in the helper thread. */
export const ERRNO = 4;
/** Byte offset of the arguments: the system call's number, then up to six arguments. */
export const ARGS = 32;
/** Size of the control block in bytes. */
export const SIZE = ARGS + 7 * 8;

/** No request. */
export const IDLE = 0;
/** A request is waiting for the helper, or being made. */
export const REQUEST = 1;
/** The helper wrote the result. */
export const DONE = 2;
/** The helper must end. */
export const EXIT = 3;

/**
 * The signal that interrupts a helper thread's call when its wait is given up. Neither
 * runtime handles signals 34 and up; sysipc installs a no-op `SA_RESTART` handler for this
 * one and sends it only to its own helper threads (`tgkill`).
 */
export const CANCEL_SIGNAL: number = C.SIGRTMAX;

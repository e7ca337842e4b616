/**
 * The helper thread of the Worker offload (`./offload.ts`): it makes one blocking system
 * call at a time for the main thread and reads errno in its own thread. The control block is a
 * `SharedArrayBuffer` laid out as in `./offload.ts`; requests and results move through it,
 * with `Atomics.wait`/`Atomics.notify`, and never as messages.
 *
 * @module
 */
import { workerData } from "node:worker_threads";
import { C } from "../constants.ts";
import { EINTR, errno, libc } from "../libc.ts";
import { sigset } from "../structs.ts";
import {
  ARGS,
  CANCEL,
  CANCEL_SIGNAL,
  DONE,
  ERRNO,
  EXIT,
  REQUEST,
  RESULT,
  STATE,
  TID,
} from "./offload_layout.ts";

const control = workerData as SharedArrayBuffer;
const state = new Int32Array(control);
const args = new Float64Array(control, ARGS);

// The cancel signal interrupts this thread's call: it must not be blocked here, whatever
// mask the thread that started this one had.
const mask = new Uint8Array(new ArrayBuffer(sigset.size));
mask[(CANCEL_SIGNAL - 1) >> 3]! |= 1 << ((CANCEL_SIGNAL - 1) & 7);
libc.pthread_sigmask(C.SIG_UNBLOCK, mask, null);

Atomics.store(state, TID, libc.syscall(C.SYS_gettid, 0, 0, 0, 0, 0, 0));
Atomics.notify(state, TID);

while (true) {
  const now = Atomics.load(state, STATE);
  if (now === EXIT) break;
  if (now !== REQUEST) {
    // Sleep while the state stays what it is: IDLE, or DONE until the main thread has
    // taken the result (waiting for IDLE alone returned at once on DONE, and the thread
    // spun, taking the CPU from the main thread that had to take the result).
    Atomics.wait(state, STATE, now);
    continue;
  }
  let result = -1;
  let error = EINTR;
  if (Atomics.load(state, CANCEL) === 0) {
    const a = (i: number) => args[i]!;
    result = libc.syscall(a(0), a(1), a(2), a(3), a(4), a(5), a(6));
    error = result === -1 ? errno() : 0;
  }
  Atomics.store(state, RESULT, result);
  Atomics.store(state, ERRNO, error);
  Atomics.store(state, STATE, DONE);
  Atomics.notify(state, STATE);
}

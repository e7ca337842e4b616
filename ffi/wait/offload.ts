/**
 * The Worker offload: the engine's wait for what has no descriptor to poll (System V
 * semaphores and message queues, and other blocking system calls). The caller first tries
 * its call without blocking (`IPC_NOWAIT`) on the main thread; only when that would block
 * does it come here, and a helper thread makes the blocking call.
 *
 * Why this design (measured on this machine, two processes, round trip against a blocking
 * C peer, pinned): a helper thread that blocks in the call and reports through a
 * `SharedArrayBuffer` (`Atomics.notify` in the helper, `Atomics.waitAsync` on the main
 * thread, both runtimes have them) cost 2.3–3× C and ≈ 0.1 % CPU while idle. Retrying
 * `IPC_NOWAIT` on timers (the poll set) was measured as unfit: 7–9 ms to notice after
 * idle, or a full core, and it starved against a blocked C waiter. The poll set remains
 * the fallback where no helper thread can be had.
 *
 * Rules:
 * - Helper threads are `node:worker_threads` Workers, which on both runtimes do not keep
 *   the process alive (a web Worker does, and Deno's cannot be unref'd); a pending call
 *   keeps the process alive through a ref'd timer instead, so a process with no wait
 *   pending exits on its own. Helpers are reused; one idle for 10 s ends. At most 8 run at
 *   once; more concurrent waits fall back to the poll set.
 * - Cancelling (timeout, abort, close) sets a flag the helper reads before its call and
 *   sends the helper thread `CANCEL_SIGNAL` with `tgkill`, again every 2 ms until the
 *   helper reports: a signal that lands just before the call starts is lost, the next one
 *   is not. With sysipc's no-op `SA_RESTART` handler, `semop`, `semtimedop`, `msgrcv` and
 *   `msgsnd` return `EINTR` (System V calls are never restarted; see signal(7)). Deno's
 *   `Worker.terminate()` hangs while the thread sits in an FFI call, so helpers are never
 *   terminated mid-call.
 * - The helper is the authority: a call that succeeded after its wait was given up is
 *   handed to the request's `late` (the caller undoes it or keeps it), never dropped.
 * - `Atomics.waitAsync` may wake on a stale notify: the state is re-checked and the wait
 *   re-armed. A call interrupted by some other signal (`EINTR`, not cancelled) is made
 *   again.
 *
 * @module
 */
import { setInterval, setTimeout as setTimer } from "node:timers";
import { Worker } from "node:worker_threads";
import { C } from "../constants.ts";
import { IpcError } from "../errors.ts";
import { EINTR, errno, libc, stableCString } from "../libc.ts";
import { sigaction } from "../structs.ts";
import {
  ARGS,
  CANCEL,
  CANCEL_SIGNAL,
  DONE,
  ERRNO,
  EXIT,
  IDLE,
  REQUEST,
  RESULT,
  SIZE,
  STATE,
  TID,
} from "./offload_layout.ts";
import type { WaitOptions } from "./options.ts";
import { pollRetry } from "./poll.ts";
import { spinThenPark } from "./spin.ts";
import { type Cancel, track, type WaitContext } from "./track.ts";

/** A blocking system call to make in a helper thread. */
export interface OffloadRequest {
  /** The system call's number. */
  syscall: number;
  /**
   * Up to six arguments: integers, or addresses of memory that stays put (views over
   * explicit `ArrayBuffer`s, or mapped memory). Every such view must be listed in `memory`.
   */
  args: readonly number[];
  /** The views whose addresses are in `args`: held until the call is over. */
  memory: readonly ArrayBufferView[];
  /**
   * One try without blocking, for when no helper thread can be had: the result, or
   * `undefined` when it would block. Throws an `IpcError` on failure.
   */
  attempt: () => number | undefined;
  /** Receives the result of a call that succeeded after its wait was given up. */
  late?: (result: number) => void;
}

const MAX_HELPERS = 8;
const IDLE_MS = 10_000;
const RESIGNAL_MS = 2;

interface Helper {
  worker: Worker;
  state: Int32Array;
  args: Float64Array;
  busy: boolean;
  dead: Error | null;
  /** Called when the helper dies with a request in flight. */
  onDeath: ((error: Error) => void) | null;
  idle: ReturnType<typeof setTimer> | undefined;
}

const helpers: Helper[] = [];
let handlerInstalled = false;
let refs = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

function hold(ref: boolean): void {
  if (!ref) return;
  if (refs++ === 0) keepAlive = setInterval(() => {}, 1 << 30);
}

function unhold(ref: boolean): void {
  if (!ref) return;
  if (--refs === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/**
 * Installs the no-op handler for `CANCEL_SIGNAL`, once per process: the helper threads'
 * cancellation needs it, and so do sync calls interrupted by a timer (`./interrupt.ts`).
 */
export function installHandler(): void {
  if (handlerInstalled) return;
  // Any async-signal-safe C function whose arguments do not matter serves as a no-op.
  const noop = libc.dlsym?.(0, stableCString("getppid")) ?? 0n;
  if (noop === 0n) throw IpcError.of("ENOSYS", "sigaction", undefined, "Cannot find getppid");
  const old = new DataView(new ArrayBuffer(sigaction.size));
  if (libc.sigaction(CANCEL_SIGNAL, null, old) !== 0) {
    throw new IpcError({ errno: errno(), syscall: "sigaction" });
  }
  const current = old.getBigUint64(sigaction.offsets.sa_handler, true);
  if (current !== 0n && current !== noop) {
    throw IpcError.of(
      "EBUSY",
      "sigaction",
      undefined,
      `Signal ${CANCEL_SIGNAL} (SIGRTMAX) has a handler that sysipc did not install; sysipc ` +
        "needs it to cancel waits on System V objects",
    );
  }
  const act = new DataView(new ArrayBuffer(sigaction.size));
  act.setBigUint64(sigaction.offsets.sa_handler, noop, true);
  act.setInt32(sigaction.offsets.sa_flags, C.SA_RESTART, true);
  if (libc.sigaction(CANCEL_SIGNAL, act, null) !== 0) {
    throw new IpcError({ errno: errno(), syscall: "sigaction" });
  }
  handlerInstalled = true;
}

function newHelper(): Helper {
  const control = new SharedArrayBuffer(SIZE);
  const worker = new Worker(new URL("./offload_worker.ts", import.meta.url), {
    workerData: control,
  });
  (worker as { unref?: () => void }).unref?.();
  const helper: Helper = {
    worker,
    state: new Int32Array(control, 0, ARGS / 4),
    args: new Float64Array(control, ARGS),
    busy: false,
    dead: null,
    onDeath: null,
    idle: undefined,
  };
  const died = (why: unknown) => {
    if (helper.dead) return;
    helper.dead = IpcError.of(
      "EIO",
      "offload",
      undefined,
      `A sysipc helper thread ended: ${why instanceof Error ? why.message : String(why)}`,
    );
    const at = helpers.indexOf(helper);
    if (at >= 0) helpers.splice(at, 1);
    helper.onDeath?.(helper.dead);
  };
  worker.on("error", died);
  worker.on("exit", (code) => died(`exit code ${code}`));
  return helper;
}

/**
 * Starts one helper thread ahead of the first wait that needs it (a handle that may wait
 * through the offload calls this when it is made), so that the first wait does not pay
 * for the start: ≈ 40 ms on Deno, of which ≈ 35 ms block the calling thread inside
 * `new Worker()`, and ≈ 0.7 s under `deno test`, which type-checks a Worker's module when
 * it starts; ≈ 10 ms on Bun.
 */
export function warmOffload(): void {
  if (helpers.length > 0) return;
  const helper = newHelper();
  helpers.push(helper);
  release(helper);
}

/** A free helper thread, or `null` when as many as allowed are busy. */
function acquire(): Helper | null {
  let helper = helpers.find((h) => !h.busy && !h.dead);
  if (!helper) {
    if (helpers.length >= MAX_HELPERS) return null;
    helper = newHelper();
    helpers.push(helper);
  }
  if (helper.idle !== undefined) clearTimeout(helper.idle);
  helper.idle = undefined;
  helper.busy = true;
  return helper;
}

function release(helper: Helper): void {
  helper.busy = false;
  helper.onDeath = null;
  Atomics.store(helper.state, STATE, IDLE);
  helper.idle = setTimer(() => {
    if (helper.busy || helper.dead) return;
    const at = helpers.indexOf(helper);
    if (at >= 0) helpers.splice(at, 1);
    helper.dead = IpcError.of("EIO", "offload", undefined, "helper retired");
    Atomics.store(helper.state, STATE, EXIT);
    Atomics.notify(helper.state, STATE);
  }, IDLE_MS);
  helper.idle.unref();
}

/**
 * Makes a blocking system call in a helper thread, without blocking the event loop. Like
 * every wait, it first spins: `request.attempt` is tried once per event-loop turn for the
 * handle's spin budget (`context.spin`), then the call goes to a helper thread.
 *
 * @param request The call, its non-blocking fallback and what to do with a late result.
 * @param options Timeout and abort signal.
 * @param context Names the operation in errors; the owner cancels on close.
 * @returns The call's result (≥ 0); rejects with an {@linkcode IpcError} carrying the
 *   call's errno when it fails.
 */
export function offload(
  request: OffloadRequest,
  options: WaitOptions | undefined,
  context: WaitContext,
): Promise<number> {
  return track<number>(
    options,
    context,
    (settle, fail) =>
      spinThenPark(
        request.attempt,
        context.spin ?? null,
        (parked) => inHelper(request, context, parked, fail),
        settle,
        fail,
      ),
  );
}

/** Hands the call to a helper thread (or to the poll set when none is free). */
function inHelper(
  request: OffloadRequest,
  context: WaitContext,
  settle: (result: number) => void,
  fail: (error: unknown) => void,
): Cancel {
  const ref = context.ref !== false;
  installHandler();
  const helper = acquire();
  if (helper === null) return pollRetry(request.attempt, ref, settle, fail);
  const { state, args } = helper;
  let cancelled: (() => void) | null = null;
  let over = false;
  const submit = () => {
    args[0] = request.syscall;
    for (let i = 0; i < 6; i++) args[i + 1] = request.args[i] ?? 0;
    Atomics.store(state, CANCEL, 0);
    Atomics.store(state, STATE, REQUEST);
    Atomics.notify(state, STATE);
  };
  const end = () => {
    over = true;
    unhold(ref);
    release(helper);
    void request.memory; // the helper's call read or wrote it until now
  };
  const complete = (): void => {
    const result = Atomics.load(state, RESULT);
    const error = Atomics.load(state, ERRNO);
    if (cancelled === null && result === -1 && error === EINTR) {
      submit(); // interrupted by some other signal: make the call again
      return watch();
    }
    end();
    if (cancelled !== null) {
      if (result >= 0) request.late?.(result);
      return cancelled();
    }
    if (result >= 0) settle(result);
    else fail(new IpcError({ errno: error, syscall: context.syscall, path: context.path }));
  };
  const watch = (): void => {
    if (Atomics.load(state, STATE) === DONE) return complete();
    const waiting = Atomics.waitAsync(state, STATE, REQUEST);
    if (!waiting.async) return complete();
    void waiting.value.then(() => {
      if (over) return;
      // A stale notify may wake this wait: only DONE means done.
      if (Atomics.load(state, STATE) === DONE) complete();
      else watch();
    });
  };
  helper.onDeath = (error) => {
    if (over) return;
    over = true;
    unhold(ref);
    if (cancelled !== null) cancelled();
    else fail(error);
  };
  hold(ref);
  submit();
  watch();
  return (then) => {
    if (over) return then();
    cancelled = then;
    Atomics.store(state, CANCEL, 1);
    const interrupt = () => {
      if (over || Atomics.load(state, STATE) !== REQUEST) return;
      const tid = Atomics.load(state, TID);
      if (tid > 0) libc.syscall(C.SYS_tgkill, libc.getpid(), tid, CANCEL_SIGNAL, 0, 0, 0);
      setTimer(interrupt, RESIGNAL_MS);
    };
    interrupt();
  };
}

/**
 * The helper threads alive now (for tests).
 *
 * @returns How many there are.
 */
export function offloadHelpers(): number {
  return helpers.length;
}

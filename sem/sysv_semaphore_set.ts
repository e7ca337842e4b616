/**
 * System V semaphore sets: {@linkcode SysVSemaphoreSet}.
 *
 * How an async `op` waits (a set has no descriptor to poll): it first tries the operations
 * with `IPC_NOWAIT` on every one of them; only when that would block does the engine's
 * Worker offload make the caller's own `semop` in a helper thread (see
 * `ffi/wait/offload.ts`: spin first, then the helper, cancelled with a signal that makes
 * `semop` return `EINTR`). The helper is part of this process, so `undo` (`SEM_UNDO`)
 * adjustments it makes are this process's and are applied when it exits. An `op` that the
 * kernel completed just after its wait was given up is undone by the inverse operations,
 * so a timed-out or aborted `op` never takes anything (at once; when it moved units that
 * someone took meanwhile, as soon as they can be put back). An `op` that must wait while
 * other processes are queued on its semaphores parks at once instead of spinning: the
 * kernel hands units to the queued waiters in order.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { errnoNumber, IpcError } from "../ffi/errors.ts";
import { checkInteger } from "../ffi/handle.ts";
import {
  type CreateOptions,
  createOptions,
  dateOfSeconds,
  type IpcPerm,
  readIpcPerm,
  sysvGetFlags,
  type SysVKey,
  sysvKey,
} from "../ffi/ipc.ts";
import { describeValue, EAGAIN, EINTR, errno, libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { sembuf, semidDs } from "../ffi/structs.ts";
import {
  attemptNow,
  cancelAll,
  checkWaitOptions,
  DONE,
  newSpinState,
  offload,
  type Owner,
  retryWithDeadline,
  type WaitContext,
  type WaitOptions,
  warmOffload,
} from "../ffi/wait/mod.ts";
import { relativeTimespec, syncTimeout } from "./timespec.ts";

/** One operation on one semaphore of a set. */
export interface SemaphoreOperation {
  /** The semaphore's index in the set, from 0. */
  index: number;
  /**
   * What to add: `> 0` adds (never waits), `< 0` takes (waits while the value is too
   * small), `0` waits until the value is 0. -32767 to 32767.
   */
  delta: number;
  /**
   * `SEM_UNDO`: the kernel reverses this operation when the process exits (also when it is
   * killed). Default `false`.
   */
  undo?: boolean;
  /**
   * `IPC_NOWAIT`: when this operation cannot proceed, the whole call fails with `EAGAIN`
   * at once instead of waiting. Default `false`.
   */
  noWait?: boolean;
}

/** Options of {@linkcode SysVSemaphoreSet.get}. */
export interface SysVSemaphoreSetOptions extends CreateOptions {
  /**
   * How many semaphores a set this call creates has: 1 to 32000. Default 1. When the set
   * exists, it must have at least this many (`EINVAL` otherwise).
   */
  count?: number;
}

/** What `stat()` reports about a set (`semctl(IPC_STAT)`). */
export interface SysVSemaphoreSetStat extends IpcPerm {
  /** How many semaphores the set has. */
  count: number;
  /** When a `semop` last changed it, or `null` if none has. */
  lastOpTime: Date | null;
  /** When it was created or last changed by `semctl`. */
  changeTime: Date | null;
}

/** An operation list checked and laid out as `struct sembuf`s. */
interface Compiled {
  /** The caller's values, as given: `index, delta, undo, noWait` per operation. */
  source: unknown[];
  ops: { index: number; delta: number; undo: boolean; noWait: boolean }[];
  /** The caller's flags. */
  blocking: Uint8Array;
  /** The address of `blocking` (over an `ArrayBuffer` of its own: it never moves). */
  address: number;
  /** Every operation with `IPC_NOWAIT`. */
  nowait: Uint8Array;
  someNoWait: boolean;
  allNoWait: boolean;
}

/** Set by the internal factories: the constructors are not public. */
let constructing = false;

const SEMVMX = C.SEMVMX;
const EACCES = errnoNumber("EACCES");

function layOut(ops: Compiled["ops"], flags: (op: Compiled["ops"][number]) => number) {
  const bytes = new Uint8Array(new ArrayBuffer(ops.length * sembuf.size));
  const view = new DataView(bytes.buffer);
  ops.forEach((op, i) => {
    const o = i * sembuf.size;
    view.setUint16(o + sembuf.offsets.sem_num, op.index, true);
    view.setInt16(o + sembuf.offsets.sem_op, op.delta, true);
    view.setInt16(o + sembuf.offsets.sem_flg, flags(op), true);
  });
  return bytes;
}

const undoFlag = (op: { undo: boolean }) => op.undo ? C.SEM_UNDO : 0;

/** Whether an operation list still holds the values it was checked with. */
function unchanged(ops: readonly SemaphoreOperation[], source: unknown[]): boolean {
  if (ops.length * 4 !== source.length) return false;
  for (let i = 0, j = 0; i < ops.length; i++, j += 4) {
    const op = ops[i];
    if (
      typeof op !== "object" || op === null || op.index !== source[j] ||
      op.delta !== source[j + 1] || op.undo !== source[j + 2] ||
      op.noWait !== source[j + 3]
    ) return false;
  }
  return true;
}

/**
 * A System V semaphore set (`semget`): several counters under one key, changed by
 * operations that apply all together or not at all. Interoperates with any program that
 * uses the same key (`ipcs -s` lists it). The set lives until `remove()`, even when no
 * process has it open; `close()` only ends this handle's use of it.
 *
 * @example Two counters changed at once
 * ```ts
 * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
 * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
 * set.setValues([1, 0]);
 * // Move a unit from semaphore 0 to semaphore 1, atomically; undone if this process dies.
 * await set.op([{ index: 0, delta: -1, undo: true }, { index: 1, delta: 1, undo: true }]);
 * console.log(set.values()); // [0, 1]
 * set.remove();
 * ```
 */
export class SysVSemaphoreSet implements Disposable {
  /** The set's identifier (`ipcs -s` shows it in the `semid` column). */
  readonly id: number;
  readonly #count: number;
  #state: "open" | "closed" | "removed" = "open";
  readonly #waits: Owner = new Set();
  readonly #compiled = new WeakMap<object, Compiled>();
  readonly #spinning: WaitContext;
  readonly #parking: WaitContext;

  private constructor(id: number, count: number) {
    if (!constructing) {
      throw new TypeError(
        "SysVSemaphoreSet has no public constructor: use SysVSemaphoreSet.get() or fromId()",
      );
    }
    constructing = false;
    this.id = id;
    this.#count = count;
    const context = { syscall: "semop", path: `semid ${id}`, owner: this.#waits };
    this.#spinning = { ...context, spin: newSpinState() };
    this.#parking = { ...context, spin: null };
  }

  /**
   * Gets a set by key, creating it if asked. A new set's semaphores start at 0.
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 3, mode: 0o640 });
   * console.log(set.count, set.stat().mode.toString(8)); // 3 "640"
   * set.remove();
   * ```
   *
   * @param key A 32-bit key (from `ftok`, or chosen), signed or unsigned, or `"private"`
   *   for a new set that only its id reaches (`IPC_PRIVATE`).
   * @param options `create`, `exclusive`, `mode` (default `0o600`, not reduced by the
   *   umask) and the `count` of semaphores (default 1).
   * @returns The set.
   * @throws {IpcError} `ENOENT` when no set has the key and `create` is not set, `EEXIST`
   *   when one has and `exclusive` is set, `EINVAL` when it has fewer than `count`
   *   semaphores, `EACCES` without permission, `ENOSPC` at the system's limit of sets.
   * @throws {TypeError} For a bad key or options.
   * @throws {RangeError} When `count` is outside 1 to 32000 or `mode` outside 0 to 0o777.
   */
  static get(key: SysVKey, options?: SysVSemaphoreSetOptions): SysVSemaphoreSet {
    const k = sysvKey(key);
    const create = createOptions(options);
    const count = options?.count;
    if (count !== undefined) checkInteger(count, "count", 1, 32000);
    const flags = sysvGetFlags(create);
    // IPC_PRIVATE always makes a new set, create or not: it needs a size too.
    const size = count ?? (create.create || k === C.IPC_PRIVATE ? 1 : 0);
    const id = libc.syscall(C.SYS_semget, k, size, flags, 0, 0, 0);
    if (id === -1) throw new IpcError({ errno: errno(), syscall: "semget", path: keyText(k) });
    return SysVSemaphoreSet.#attach(id, false);
  }

  /**
   * A handle for a set known by its id (from `ipcs -s`, another process, or
   * {@linkcode SysVSemaphoreSet.id}): the way to reach a `"private"` set from elsewhere.
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using made = SysVSemaphoreSet.get("private", { create: true });
   * using same = SysVSemaphoreSet.fromId(made.id); // as another process would
   * same.setValue(0, 4);
   * console.log(made.getValue(0)); // 4
   * made.remove();
   * ```
   *
   * @param id The set's identifier.
   * @returns The set.
   * @throws {IpcError} `EINVAL` or `EIDRM` when no set has that id, `EACCES` without read
   *   permission.
   * @throws {TypeError} When `id` is not an integer.
   * @throws {RangeError} When `id` is negative.
   */
  static fromId(id: number): SysVSemaphoreSet {
    return SysVSemaphoreSet.#attach(checkInteger(id, "id", 0, 0x7fffffff), true);
  }

  /** Reads the set's size (for index checks) and makes the handle. */
  static #attach(id: number, strict: boolean): SysVSemaphoreSet {
    const stat = new DataView(new ArrayBuffer(semidDs.size));
    const known = libc.syscall(C.SYS_semctl, id, 0, C.IPC_STAT, runtime.addressOf(stat), 0, 0);
    // Without read permission the size is unknown, and only the kernel checks indexes.
    const e = known === -1 ? errno() : 0;
    if (known === -1 && (strict || e !== EACCES)) {
      throw new IpcError({ errno: e, syscall: "semctl(IPC_STAT)", path: `semid ${id}` });
    }
    const size = known === -1 ? -1 : Number(stat.getBigUint64(semidDs.offsets.sem_nsems, true));
    warmOffload();
    constructing = true;
    return new SysVSemaphoreSet(id, size);
  }

  /**
   * How many semaphores the set has (`-1` when this process may not read the set, so that
   * it could not be asked).
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * console.log(set.count); // 2
   * set.remove();
   * ```
   */
  get count(): number {
    return this.#count;
  }

  /**
   * Whether `close()` or `remove()` was called on this handle.
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * const same = SysVSemaphoreSet.fromId(set.id);
   * same.close();
   * console.log(same.closed, set.closed); // true false
   * set.remove();
   * ```
   */
  get closed(): boolean {
    return this.#state !== "open";
  }

  #use(syscall: string): number {
    if (this.#state === "closed") throw IpcError.closed("SysVSemaphoreSet", syscall);
    if (this.#state === "removed") {
      throw IpcError.of("EIDRM", syscall, undefined, `SysVSemaphoreSet ${this.id} was removed`);
    }
    return this.id;
  }

  #error(e: number, syscall: string): IpcError {
    return new IpcError({ errno: e, syscall, path: `semid ${this.id}` });
  }

  #index(index: unknown, what = "index"): number {
    return checkInteger(index, what, 0, this.#count < 0 ? 0xffff : this.#count - 1);
  }

  /**
   * Checks and lays out an operation list, once per array while its contents stay the
   * same: a loop that passes the same array each time (the usual way) skips the work.
   */
  #compile(ops: readonly SemaphoreOperation[]): Compiled {
    const known = typeof ops === "object" && ops !== null ? this.#compiled.get(ops) : undefined;
    if (known !== undefined && unchanged(ops, known.source)) return known;
    const compiled = this.#check(ops);
    this.#compiled.set(ops, compiled);
    return compiled;
  }

  #check(ops: readonly SemaphoreOperation[]): Compiled {
    if (!Array.isArray(ops)) {
      throw new TypeError(`ops must be an array of { index, delta }, got ${describeValue(ops)}`);
    }
    if (ops.length === 0) throw new RangeError("ops must hold at least one operation");
    const checked = ops.map((op: unknown, i) => {
      if (typeof op !== "object" || op === null) {
        throw new TypeError(`ops[${i}] must be an object, got ${describeValue(op)}`);
      }
      const { index, delta, undo, noWait } = op as SemaphoreOperation;
      for (const [name, value] of [["undo", undo], ["noWait", noWait]] as const) {
        if (value !== undefined && typeof value !== "boolean") {
          throw new TypeError(`ops[${i}].${name} must be a boolean, got ${describeValue(value)}`);
        }
      }
      return {
        index: this.#index(index, `ops[${i}].index`),
        delta: checkInteger(delta, `ops[${i}].delta`, -SEMVMX, SEMVMX),
        undo: undo === true,
        noWait: noWait === true,
      };
    });
    const someNoWait = checked.some((op) => op.noWait);
    const blocking = layOut(checked, (op) => undoFlag(op) | (op.noWait ? C.IPC_NOWAIT : 0));
    return {
      source: ops.flatMap((op) => [op.index, op.delta, op.undo, op.noWait]),
      ops: checked,
      blocking,
      address: runtime.addressOf(blocking),
      nowait: layOut(checked, (op) => undoFlag(op) | C.IPC_NOWAIT),
      someNoWait,
      allNoWait: someNoWait && checked.every((op) => op.noWait),
    };
  }

  /**
   * One try with `IPC_NOWAIT`: `0` when done, `undefined` when the call would wait. Made
   * once per set, so that it is also the engine's attempt (`attemptNow`).
   */
  readonly #attempt = (compiled: Compiled): 0 | undefined => {
    const id = this.#use("semop");
    while (true) {
      if (libc.semop(id, compiled.nowait, compiled.ops.length) === 0) return 0;
      const e = errno();
      if (e === EINTR) continue;
      if (e !== EAGAIN) throw this.#error(e, "semop");
      if (this.#wouldFail(compiled)) throw this.#error(EAGAIN, "semop");
      return undefined;
    }
  };

  /**
   * After the all-`IPC_NOWAIT` try failed: whether the caller's own call would fail with
   * `EAGAIN` rather than wait, which is when the first operation that cannot proceed (the
   * kernel tries them in order) is one the caller marked `noWait`.
   */
  #wouldFail(compiled: Compiled): boolean {
    if (!compiled.someNoWait) return false;
    if (compiled.allNoWait) return true;
    let values: number[];
    try {
      values = this.values();
    } catch {
      return false; // no read permission: the helper's call will tell
    }
    for (const op of compiled.ops) {
      const value = values[op.index]!;
      if (op.delta === 0 ? value !== 0 : value + op.delta < 0) return op.noWait;
      values[op.index] = value + op.delta;
    }
    return false;
  }

  /** Reverses operations that completed after their wait was given up. */
  #undo(compiled: Compiled): void {
    const inverse = compiled.ops.filter((op) => op.delta !== 0).map((op) => ({
      ...op,
      delta: -op.delta,
    }));
    if (inverse.length === 0) return;
    const nowait = layOut(inverse, (op) => undoFlag(op) | C.IPC_NOWAIT);
    const id = this.id;
    if (libc.semop(id, nowait, inverse.length) === 0 || errno() !== EAGAIN) return;
    // Someone took what the late operation gave: put the rest back when it can be.
    const blocking = layOut(inverse, undoFlag);
    offload(
      {
        syscall: C.SYS_semop,
        args: [id, runtime.addressOf(blocking), inverse.length],
        memory: [blocking],
        attempt: () => libc.semop(id, nowait, inverse.length) === 0 ? 0 : undefined,
      },
      undefined,
      { syscall: "semop", ref: false },
    ).catch(() => {});
  }

  /**
   * Applies operations atomically (`semop`): all of them, or none while any would have to
   * wait. Waits without blocking the event loop.
   *
   * @example A lock, released even if this process is killed
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true });
   * set.setValue(0, 1);
   * await set.op([{ index: 0, delta: -1, undo: true }], { timeout: 1000 }); // lock
   * // … critical section …
   * await set.op([{ index: 0, delta: 1, undo: true }]); // unlock
   * set.remove();
   * ```
   *
   * @param ops The operations, applied in order as one.
   * @param options `timeout` in ms (`0` tries once) and an abort `signal`.
   * @throws {IpcError} `EAGAIN` when `timeout` is 0 and the operations would wait, or when
   *   an operation marked `noWait` cannot proceed; `ETIMEDOUT` when the timeout passes;
   *   `EIDRM` when the set is removed (also while waiting); `ERANGE` when a value would
   *   pass 32767; `E2BIG` for more operations than the system allows (500 by default);
   *   `EBADF` when closed.
   * @throws {TypeError} For malformed operations.
   * @throws {RangeError} For an empty list, an index outside the set, or a delta outside
   *   -32767 to 32767.
   */
  op(ops: readonly SemaphoreOperation[], options?: WaitOptions): Promise<void> {
    // The direct path, with no async frame: operations that go through at once, or once a
    // poster on this CPU has run while this side yields (attemptNow).
    let id: number, compiled: Compiled;
    try {
      id = this.#use("semop");
      compiled = this.#compile(ops);
      checkWaitOptions(options);
      if (attemptNow(this.#attempt, compiled, this.#spinning.spin!, options) === 0) {
        return DONE;
      }
      if (options?.timeout === 0) throw this.#error(EAGAIN, "semop");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#opLater(id, compiled, options);
  }

  /** Operations that wait: a helper thread makes the blocking `semop`. */
  async #opLater(id: number, compiled: Compiled, options: WaitOptions | undefined): Promise<void> {
    await offload(
      {
        syscall: C.SYS_semop,
        args: [id, compiled.address, compiled.ops.length],
        memory: [compiled.blocking],
        attempt: () => this.#attempt(compiled),
        late: () => this.#undo(compiled),
      },
      options,
      this.#queued(compiled) ? this.#parking : this.#spinning,
    );
  }

  /**
   * Whether other processes already wait on a semaphore the operations use. The kernel
   * hands a unit straight to the waiters it has queued, in order, so retrying without
   * waiting could only burn the CPU they need: such an op parks at once, behind them.
   */
  #queued(compiled: Compiled): boolean {
    return compiled.ops.some((op) => {
      const command = op.delta === 0 ? C.GETZCNT : C.GETNCNT;
      return libc.syscall(C.SYS_semctl, this.id, op.index, command, 0, 0, 0) > 0;
    });
  }

  /**
   * Applies operations atomically, blocking the calling thread while they would wait
   * (`semop`, or `semtimedop` with a timeout).
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true });
   * set.opSync([{ index: 0, delta: 2 }]);
   * set.opSync([{ index: 0, delta: -2 }], { timeout: 100 });
   * set.remove();
   * ```
   *
   * @param ops The operations, applied in order as one.
   * @param options `timeout` in ms: `undefined` waits forever, `0` tries once. A `signal`
   *   is only checked before the call.
   * @throws {IpcError} As {@linkcode SysVSemaphoreSet.op}.
   * @throws {TypeError} For malformed operations.
   * @throws {RangeError} As {@linkcode SysVSemaphoreSet.op}.
   */
  opSync(ops: readonly SemaphoreOperation[], options?: WaitOptions): void {
    const id = this.#use("semop");
    const compiled = this.#compile(ops);
    checkWaitOptions(options);
    const timeout = syncTimeout(options);
    const { blocking } = compiled;
    const n = compiled.ops.length;
    if (timeout === 0) {
      if (this.#attempt(compiled) === undefined) throw this.#error(EAGAIN, "semop");
      return;
    }
    if (timeout === undefined) {
      // No closure and no path string unless it fails: this is a hot path (bench/alloc.ts).
      while (libc.semop(id, blocking, n) !== 0) {
        const e = errno();
        if (e !== EINTR) throw new IpcError({ errno: e, syscall: "semop", path: `semid ${id}` });
      }
      return;
    }
    const deadline = performance.now() + timeout;
    try {
      retryWithDeadline(
        (left) => libc.semtimedop(id, blocking, n, relativeTimespec(left!)),
        timeout,
        "semtimedop",
        `semid ${id}`,
      );
    } catch (e) {
      // semtimedop reports its timeout as EAGAIN, as it does a noWait operation that fails.
      if (
        e instanceof IpcError && e.errno === EAGAIN &&
        (!compiled.someNoWait || performance.now() >= deadline)
      ) {
        throw IpcError.of("ETIMEDOUT", "semtimedop", `semid ${id}`, "Timed out");
      }
      throw e;
    }
  }

  /**
   * Applies operations atomically if none of them has to wait.
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true });
   * console.log(set.tryOp([{ index: 0, delta: -1 }])); // false: the value is 0
   * set.remove();
   * ```
   *
   * @param ops The operations.
   * @returns `true` when they were applied, `false` when they would have waited.
   * @throws {IpcError} As {@linkcode SysVSemaphoreSet.op}, except `EAGAIN`.
   * @throws {TypeError} For malformed operations.
   * @throws {RangeError} As {@linkcode SysVSemaphoreSet.op}.
   */
  tryOp(ops: readonly SemaphoreOperation[]): boolean {
    const id = this.#use("semop");
    const { nowait } = this.#compile(ops);
    while (true) {
      if (libc.semop(id, nowait, ops.length) === 0) return true;
      const e = errno();
      if (e === EAGAIN) return false;
      if (e !== EINTR) throw this.#error(e, "semop");
    }
  }

  /** `semctl` on one semaphore, with an integer or an address as its fourth argument. */
  #ctl(syscall: string, index: number, command: number, arg = 0): number {
    const id = this.#use(syscall);
    const result = libc.syscall(C.SYS_semctl, id, index, command, arg, 0, 0);
    if (result === -1) throw this.#error(errno(), syscall);
    return result;
  }

  /**
   * The value of one semaphore (`GETVAL`).
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * set.setValue(1, 3);
   * console.log(set.getValue(0), set.getValue(1)); // 0 3
   * set.remove();
   * ```
   *
   * @param index The semaphore's index.
   * @returns Its value, 0 to 32767.
   * @throws {IpcError} `EACCES` without read permission, `EIDRM`/`EINVAL` when the set is
   *   gone, `EBADF` when closed.
   * @throws {RangeError} For an index outside the set.
   */
  getValue(index: number): number {
    return this.#ctl("semctl(GETVAL)", this.#index(index), C.GETVAL);
  }

  /**
   * Sets the value of one semaphore (`SETVAL`), waking the waiters it lets through and
   * clearing every process's `undo` adjustment for it.
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * set.setValue(0, 1); // a free lock
   * console.log(set.tryOp([{ index: 0, delta: -1 }])); // true: taken
   * set.remove();
   * ```
   *
   * @param index The semaphore's index.
   * @param value 0 to 32767.
   * @throws {IpcError} `EACCES` without write permission, `EIDRM`/`EINVAL` when the set
   *   is gone, `EBADF` when closed.
   * @throws {RangeError} For an index outside the set or a value outside 0 to 32767.
   */
  setValue(index: number, value: number): void {
    const i = this.#index(index);
    this.#ctl("semctl(SETVAL)", i, C.SETVAL, checkInteger(value, "value", 0, SEMVMX));
  }

  #all(): Uint16Array {
    if (this.#count < 0) {
      throw IpcError.of("EACCES", "semctl(GETALL)", `semid ${this.id}`, "No read permission");
    }
    return new Uint16Array(new ArrayBuffer(this.#count * 2));
  }

  /**
   * Every semaphore's value, in index order (`GETALL`).
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * set.setValues([4, 2]);
   * console.log(set.values()); // [4, 2]
   * set.remove();
   * ```
   *
   * @returns The values.
   * @throws {IpcError} `EACCES` without read permission, `EIDRM`/`EINVAL` when the set is
   *   gone, `EBADF` when closed.
   */
  values(): number[] {
    this.#use("semctl(GETALL)");
    const all = this.#all();
    this.#ctl("semctl(GETALL)", 0, C.GETALL, runtime.addressOf(all));
    return [...all];
  }

  /**
   * Sets every semaphore's value at once (`SETALL`).
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * set.setValues([1, 0]); // every semaphore at once (SETALL)
   * console.log(set.values()); // [1, 0]
   * set.remove();
   * ```
   *
   * @param values One value per semaphore, each 0 to 32767.
   * @throws {IpcError} `EACCES` without write permission, `EIDRM`/`EINVAL` when the set
   *   is gone, `EBADF` when closed.
   * @throws {TypeError} When `values` is not an array of integers.
   * @throws {RangeError} When its length is not the set's `count`, or a value is outside
   *   0 to 32767.
   */
  setValues(values: readonly number[]): void {
    this.#use("semctl(SETALL)");
    if (!Array.isArray(values)) {
      throw new TypeError(`values must be an array of integers, got ${describeValue(values)}`);
    }
    const all = this.#all();
    if (values.length !== all.length) {
      throw new RangeError(
        `values must hold one value per semaphore (${all.length}), got ${values.length}`,
      );
    }
    values.forEach((v, i) => all[i] = checkInteger(v, `values[${i}]`, 0, SEMVMX));
    this.#ctl("semctl(SETALL)", 0, C.SETALL, runtime.addressOf(all));
  }

  /**
   * How many processes wait for one semaphore's value to grow (`GETNCNT`).
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * const waiting = set.op([{ index: 0, delta: -1 }], { timeout: 5000 }); // waits: value 0
   * await new Promise((r) => setTimeout(r, 100));
   * console.log(set.waitingCount(0)); // 1 (a helper thread waits in semop)
   * set.setValue(0, 1);
   * await waiting;
   * set.remove();
   * ```
   *
   * @param index The semaphore's index.
   * @returns The count.
   * @throws {IpcError} As {@linkcode SysVSemaphoreSet.getValue}.
   * @throws {RangeError} For an index outside the set.
   */
  waitingCount(index: number): number {
    return this.#ctl("semctl(GETNCNT)", this.#index(index), C.GETNCNT);
  }

  /**
   * How many processes wait for one semaphore to reach 0 (`GETZCNT`).
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * set.setValue(1, 1);
   * const waiting = set.op([{ index: 1, delta: 0 }], { timeout: 5000 }); // waits for zero
   * await new Promise((r) => setTimeout(r, 100));
   * console.log(set.zeroWaitingCount(1)); // 1
   * set.setValue(1, 0);
   * await waiting;
   * set.remove();
   * ```
   *
   * @param index The semaphore's index.
   * @returns The count.
   * @throws {IpcError} As {@linkcode SysVSemaphoreSet.getValue}.
   * @throws {RangeError} For an index outside the set.
   */
  zeroWaitingCount(index: number): number {
    return this.#ctl("semctl(GETZCNT)", this.#index(index), C.GETZCNT);
  }

  /**
   * The process that last operated on one semaphore (`GETPID`).
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * import process from "node:process";
   * set.opSync([{ index: 0, delta: 1 }]);
   * console.log(set.lastPid(0) === process.pid, set.lastPid(1)); // true 0
   * set.remove();
   * ```
   *
   * @param index The semaphore's index.
   * @returns Its pid, or 0 if none has.
   * @throws {IpcError} As {@linkcode SysVSemaphoreSet.getValue}.
   * @throws {RangeError} For an index outside the set.
   */
  lastPid(index: number): number {
    return this.#ctl("semctl(GETPID)", this.#index(index), C.GETPID);
  }

  /**
   * The set's owner, mode, size and times (`IPC_STAT`).
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * const s = set.stat();
   * console.log(s.count, s.mode.toString(8)); // 2 "600"
   * set.remove();
   * ```
   *
   * @returns What the kernel reports.
   * @throws {IpcError} `EACCES` without read permission, `EIDRM`/`EINVAL` when the set is
   *   gone, `EBADF` when closed.
   */
  stat(): SysVSemaphoreSetStat {
    const view = new DataView(new ArrayBuffer(semidDs.size));
    this.#ctl("semctl(IPC_STAT)", 0, C.IPC_STAT, runtime.addressOf(view));
    return {
      ...readIpcPerm(view, semidDs.offsets.sem_perm),
      count: Number(view.getBigUint64(semidDs.offsets.sem_nsems, true)),
      lastOpTime: dateOfSeconds(view.getBigInt64(semidDs.offsets.sem_otime, true)),
      changeTime: dateOfSeconds(view.getBigInt64(semidDs.offsets.sem_ctime, true)),
    };
  }

  /**
   * Removes the set from the system (`IPC_RMID`): waiters in every process fail with
   * `EIDRM`, and this handle can no longer be used.
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * const waiting = set.op([{ index: 0, delta: -1 }]).catch((e) => e.code);
   * set.remove(); // waiters in every process fail at once
   * console.log(await waiting); // "EIDRM"
   * ```
   *
   * @throws {IpcError} `EPERM` when this process's user neither owns nor created it,
   *   `EIDRM`/`EINVAL` when it is gone already, `EBADF` when closed.
   */
  remove(): void {
    this.#ctl("semctl(IPC_RMID)", 0, C.IPC_RMID);
    this.#state = "removed"; // pending operations fail with EIDRM, from the kernel
  }

  /**
   * Ends this handle's use of the set; pending operations reject with `EBADF`. The set
   * itself stays (see `remove()`). Idempotent.
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * const same = SysVSemaphoreSet.fromId(set.id);
   * same.close(); // the set stays
   * console.log(set.values()); // [0, 0]
   * set.remove();
   * ```
   */
  close(): void {
    if (this.#state !== "open") return;
    this.#state = "closed";
    cancelAll(this.#waits, IpcError.closed("SysVSemaphoreSet", "close"));
  }

  /**
   * Same as `close()`.
   *
   * @example
   * ```ts
   * import { SysVSemaphoreSet } from "@sysipc/sysipc/sem";
   * using set = SysVSemaphoreSet.get("private", { create: true, count: 2 });
   * {
   *   using same = SysVSemaphoreSet.fromId(set.id);
   *   same.setValue(0, 2);
   * } // closed here; the set stays
   * console.log(set.getValue(0)); // 2
   * set.remove();
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}

function keyText(key: number): string {
  return key === C.IPC_PRIVATE ? "IPC_PRIVATE" : `key 0x${(key >>> 0).toString(16)}`;
}

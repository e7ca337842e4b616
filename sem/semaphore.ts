/**
 * POSIX named semaphores: {@linkcode Semaphore} and the {@linkcode Permit} an acquire
 * hands back.
 *
 * How an async acquire waits (the semaphore has no descriptor to poll): it first tries
 * `sem_trywait`. If that would block, and the C library is glibc ≥ 2.21 on a 64-bit CPU
 * (checked at run time, `platform.semaphoreWait`), it follows glibc's own protocol: a
 * `sem_t` is one 64-bit word, the value in its low half and the number of waiters in its
 * high half, and `sem_post` wakes the futex on the value only when that number is above
 * 0. The acquire counts itself as a waiter, takes a unit with a compare-and-swap that
 * also uncounts it, and parks on the value word with the engine's futex wait (io_uring
 * `FUTEX_WAIT`, no thread; where the ring lacks it, a timed `futex` wait in an offload
 * helper thread, since polling the word would lose every wake-up to waiters blocked in
 * the kernel). A C program's `sem_post` therefore wakes it like one of its own waiters,
 * in turn with them. A wait that is given up (timeout, abort, `close()`) uncounts itself,
 * and passes a wake-up on when a unit is there and other waiters are counted, so that a
 * wake-up meant for it is never lost to a C waiter. With another C library or a 32-bit
 * CPU the acquire retries `sem_trywait` on the poll set's timer instead: correct, but up
 * to 16 ms late, and a C waiter blocked in `sem_wait` may take every post first.
 *
 * Sync acquires call the C library: `sem_wait`, or `sem_clockwait` on `CLOCK_MONOTONIC`
 * for a timeout (`sem_timedwait` on the wall clock where `sem_clockwait` is missing),
 * retried against one deadline when `EINTR` cuts them short.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { checkInteger } from "../ffi/handle.ts";
import { type CreateOptions, createOptions, openCreateFlags, posixName } from "../ffi/ipc.ts";
import { EAGAIN, EINTR, errno, libc } from "../ffi/libc.ts";
import { glibcSemaphores } from "../ffi/platform.ts";
import { runtime } from "../ffi/runtime.ts";
import { semT } from "../ffi/structs.ts";
import {
  attemptNow,
  cancelAll,
  checkWaitOptions,
  deadlineOf,
  futexWaitParks,
  type FutexWord,
  futexWord,
  newSpinState,
  offload,
  type Owner,
  pollUntil,
  remaining,
  retryWithDeadline,
  type WaitContext,
  waitFutex,
  type WaitOptions,
  wakeFutex,
} from "../ffi/wait/mod.ts";
import { absoluteTimespec, syncTimeout } from "./timespec.ts";

/** Options of {@linkcode Semaphore.open}. */
export interface SemaphoreOpenOptions extends CreateOptions {
  /**
   * The value of a semaphore this call creates: 0 to 2147483647 (`SEM_VALUE_MAX`).
   * Default 0. Ignored when the semaphore exists already; needs `create: true`.
   */
  value?: number;
}

/** One waiter counted in the `sem_t`'s waiter count. */
const ONE_WAITER = 1n << 32n;
const VALUE_MASK = 0xffffffffn;

let trywaitOnly = false;

/**
 * Makes async acquires retry `sem_trywait` on the poll set, as where glibc's protocol
 * cannot be followed (for tests of that path). Internal: not exported from the module.
 *
 * @param on Whether to force the fallback.
 */
export function forceTrywaitFallback(on: boolean): void {
  trywaitOnly = on;
}

/** A forgotten open semaphore is closed by the garbage collector, as a safety net. */
const forgotten = new FinalizationRegistry<Uint8Array>((view) => libc.sem_close(view));

const valueCell = new Int32Array(new ArrayBuffer(4));
/**
 * How long one futex wait in a helper thread lasts at most: a `struct timespec` of 1 s,
 * over an `ArrayBuffer` of its own so that its address never moves.
 */
const helperTimeout = new BigInt64Array(new ArrayBuffer(16));
helperTimeout[0] = 1n;

let makePermit: (semaphore: Semaphore) => Permit;
/** Set by the internal factories: the constructors are not public. */
let constructing = false;

/**
 * A unit taken from a {@linkcode Semaphore}: releasing it posts the unit back, once.
 * `using` releases it at the end of the scope.
 *
 * @example
 * ```ts
 * import { Semaphore } from "@sysipc/sysipc/sem";
 * const name = `/permit-${Date.now()}`;
 * using lock = Semaphore.open(name, { create: true, value: 1 });
 * {
 *   using _permit = await lock.acquire();
 *   console.log(lock.value); // 0: held
 * }
 * console.log(lock.value); // 1: released at the end of the block
 * lock.unlink();
 * ```
 */
export class Permit implements Disposable {
  #semaphore: Semaphore | null;

  static {
    makePermit = (semaphore) => {
      constructing = true;
      return new Permit(semaphore);
    };
  }

  private constructor(semaphore: Semaphore) {
    if (!constructing) throw new TypeError("Permit has no public constructor: use acquire()");
    constructing = false;
    this.#semaphore = semaphore;
  }

  /**
   * Whether the permit was released.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/example-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * const permit = sem.acquireSync();
   * permit.release();
   * console.log(permit.released); // true
   * Semaphore.unlink(name);
   * ```
   */
  get released(): boolean {
    return this.#semaphore === null;
  }

  /**
   * Posts the unit back to the semaphore. Only the first call does anything.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/example-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * const permit = sem.acquireSync();
   * permit.release();
   * permit.release(); // does nothing: the unit went back once
   * console.log(sem.value); // 1
   * Semaphore.unlink(name);
   * ```
   *
   * @throws {IpcError} `EBADF` when the semaphore was closed first (the permit counts as
   *   released all the same).
   */
  release(): void {
    const semaphore = this.#semaphore;
    if (semaphore === null) return;
    this.#semaphore = null;
    semaphore.release();
  }

  /**
   * Same as `release()`: a permit held with `using` goes back at the end of the scope.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/example-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * {
   *   using _permit = sem.acquireSync();
   *   console.log(sem.value); // 0
   * }
   * console.log(sem.value); // 1
   * Semaphore.unlink(name);
   * ```
   *
   * @throws {IpcError} `EBADF` when the semaphore was closed first.
   */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** A pending async acquire that counts itself in the `sem_t`'s waiters. */
interface Waiter {
  counted: boolean;
}

/**
 * A POSIX named semaphore (`sem_open`): a counter shared by every process that opens the
 * same name. `acquire` takes a unit (P), waiting while the value is 0; `release` gives one
 * back (V). With a value of 1 it is a lock between processes; with 0, one process waits
 * for another's signal. Interoperates with C programs that use `sem_open`.
 *
 * @example A lock between processes
 * ```ts
 * import { Semaphore } from "@sysipc/sysipc/sem";
 * const name = `/lock-${Date.now()}`;
 * using lock = Semaphore.open(name, { create: true, value: 1 });
 * {
 *   using _held = await lock.acquire({ timeout: 1000 }); // released at the end of the block
 *   // … only one process at a time runs here …
 * }
 * Semaphore.unlink(name); // the name goes; open handles keep working
 * ```
 */
export class Semaphore implements Disposable {
  readonly #name: string;
  #view: Uint8Array<ArrayBuffer> | null;
  readonly #data: BigUint64Array;
  readonly #word: FutexWord;
  readonly #waits: Owner = new Set();
  readonly #waiters = new Set<Waiter>();
  readonly #spinning: WaitContext;
  readonly #parking: WaitContext;

  private constructor(name: string, address: bigint) {
    if (!constructing) {
      throw new TypeError("Semaphore has no public constructor: use Semaphore.open()");
    }
    constructing = false;
    this.#name = name;
    const memory = runtime.memory(address, semT.size);
    this.#view = new Uint8Array(memory);
    this.#data = new BigUint64Array(memory, 0, 1);
    this.#word = futexWord(new Int32Array(memory, 0, 1), 0);
    const context = { syscall: "sem_wait", path: name, owner: this.#waits };
    this.#spinning = { ...context, spin: newSpinState() };
    this.#parking = { ...context, spin: null };
    forgotten.register(this, this.#view, this);
  }

  /**
   * Opens a named semaphore, creating it if asked. Every process that opens the same name
   * shares one counter.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/jobs-${Date.now()}`;
   * using jobs = Semaphore.open(name, { create: true, exclusive: true, value: 3 });
   * console.log(jobs.value); // 3
   * jobs.unlink();
   * ```
   *
   * @param name `"/name"`: one leading slash, no other, 1–250 characters after it.
   * @param options `create`, `exclusive`, `mode` (default `0o600`, reduced by the umask)
   *   and the initial `value` of a semaphore this call creates (default 0).
   * @returns The open semaphore.
   * @throws {IpcError} `ENOENT` when it does not exist and `create` is not set, `EEXIST`
   *   when it exists and `exclusive` is set, `EACCES` without permission.
   * @throws {TypeError} For a bad name or options (`exclusive` or `value` without `create`).
   * @throws {RangeError} When `value` is outside 0 to 2147483647 or `mode` outside 0 to 0o777.
   */
  static open(name: string, options?: SemaphoreOpenOptions): Semaphore {
    const path = posixName(name);
    const create = createOptions(options);
    const value = options?.value;
    if (value !== undefined && !create.create) {
      throw new TypeError("value needs create: true (it sets the value of a new semaphore)");
    }
    const initial = value === undefined ? 0 : checkInteger(value, "value", 0, C.SEM_VALUE_MAX);
    while (true) {
      const address = libc.sem_open(path, openCreateFlags(create), create.mode, initial);
      if (address !== 0n) {
        constructing = true;
        return new Semaphore(name, address);
      }
      const e = errno();
      if (e !== EINTR) throw new IpcError({ errno: e, syscall: "sem_open", path: name });
    }
  }

  /**
   * Removes a name; semaphores already open stay usable until closed.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/gone-${Date.now()}`;
   * Semaphore.open(name, { create: true }).close();
   * Semaphore.unlink(name);
   * ```
   *
   * @param name The semaphore's name.
   * @throws {IpcError} `ENOENT` when no semaphore has that name.
   * @throws {TypeError} For a bad name.
   */
  static unlink(name: string): void {
    const path = posixName(name);
    if (libc.sem_unlink(path) !== 0) {
      throw new IpcError({ errno: errno(), syscall: "sem_unlink", path: name });
    }
  }

  /**
   * The semaphore's name, as opened.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/example-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * console.log(sem.name === name); // true
   * Semaphore.unlink(name);
   * ```
   */
  get name(): string {
    return this.#name;
  }

  /**
   * Whether `close()` was called.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/example-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * sem.close();
   * console.log(sem.closed); // true
   * Semaphore.unlink(name);
   * ```
   */
  get closed(): boolean {
    return this.#view === null;
  }

  #use(syscall: string): Uint8Array<ArrayBuffer> {
    if (this.#view === null) throw IpcError.closed("Semaphore", syscall);
    return this.#view;
  }

  /**
   * The current value (`sem_getvalue`): how many units can be taken without waiting. It
   * may have changed by the time it is read.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/example-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * console.log(sem.value); // 1
   * using _permit = sem.acquireSync();
   * console.log(sem.value); // 0
   * Semaphore.unlink(name);
   * ```
   *
   * @throws {IpcError} `EBADF` when closed.
   */
  get value(): number {
    if (libc.sem_getvalue(this.#use("sem_getvalue"), valueCell) !== 0) {
      throw new IpcError({ errno: errno(), syscall: "sem_getvalue", path: this.#name });
    }
    return valueCell[0]!;
  }

  /** {@linkcode #tryTake} as an engine attempt: `true`, or `undefined` for none. */
  readonly #takeNow = (view: Uint8Array): true | undefined => this.#tryTake(view) || undefined;

  /** One `sem_trywait`: `true` when a unit was taken. */
  #tryTake(view: Uint8Array): boolean {
    while (true) {
      if (libc.sem_trywait(view) === 0) return true;
      const e = errno();
      if (e === EAGAIN) return false;
      if (e !== EINTR) throw new IpcError({ errno: e, syscall: "sem_trywait", path: this.#name });
    }
  }

  /**
   * Takes a unit, waiting without blocking the event loop while the value is 0.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/ready-${Date.now()}`;
   * using ready = Semaphore.open(name, { create: true }); // value 0
   * setTimeout(() => ready.release(), 10); // another process would do this
   * const permit = await ready.acquire({ timeout: 5000 });
   * console.log(permit.released); // false: the unit is ours
   * ready.unlink();
   * ```
   *
   * @param options `timeout` in ms (`0` tries once) and an abort `signal`.
   * @returns A permit; releasing it (or `using` it) posts the unit back.
   * @throws {IpcError} `EAGAIN` when `timeout` is 0 and no unit is there, `ETIMEDOUT`
   *   when the timeout passes, `EBADF` when closed (also while waiting).
   */
  acquire(options?: WaitOptions): Promise<Permit> {
    // The direct path, with no async frame: a unit that is there, or that a poster on this
    // CPU gives while this side yields once (attemptNow).
    try {
      const view = this.#use("sem_wait");
      checkWaitOptions(options);
      if (attemptNow(this.#takeNow, view, this.#spinning.spin!, options)) {
        return Promise.resolve(makePermit(this));
      }
      if (options?.timeout === 0) throw IpcError.of("EAGAIN", "sem_wait", this.#name);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#acquireLater(options);
  }

  /** An acquire that waits: parked on the futex word, or polling where it cannot park. */
  async #acquireLater(options: WaitOptions | undefined): Promise<Permit> {
    if (trywaitOnly || !glibcSemaphores()) {
      await pollUntil(
        () => this.#tryTake(this.#use("sem_wait")) || undefined,
        options,
        this.#parking,
      );
      return makePermit(this);
    }
    const waiter: Waiter = { counted: true };
    this.#waiters.add(waiter);
    // Counted before the value is read: a sem_post after this point sees the waiter and
    // wakes the futex, so no post is missed between the check and the park.
    Atomics.add(this.#data, 0, ONE_WAITER);
    const deadline = deadlineOf(options);
    try {
      for (let waits = 0;; waits++) {
        if (this.#take(waiter)) return makePermit(this);
        const left = waits === 0 ? options : remaining(options, deadline);
        if (futexWaitParks()) {
          // With others already waiting (C programs, say), park at once and queue behind
          // them in the futex, instead of spinning past them: each gets its share.
          const others = (Atomics.load(this.#data, 0) >> 32n) > 1n;
          await waitFutex(this.#word, 0, left, others ? this.#parking : this.#spinning);
        } else {
          await this.#waitInHelper(left, deadline);
        }
        this.#use("sem_wait");
      }
    } finally {
      this.#uncount(waiter);
    }
  }

  /**
   * Where async futex waits cannot park in the kernel (no io_uring, or no `FUTEX_WAIT` on
   * it), a helper thread makes the `futex` wait on the value word: in the kernel's queue,
   * a post's wake-up reaches it in turn with C waiters, where polling the word would lose
   * every one of them. The wait is timed (a timed futex wait returns `EINTR` when the wait
   * is given up; an untimed one is restarted), and made again when that time runs out.
   */
  async #waitInHelper(options: WaitOptions | undefined, deadline: number): Promise<void> {
    const request = {
      syscall: C.SYS_futex,
      args: [this.#word.address, C.FUTEX_WAIT, 0, runtime.addressOf(helperTimeout), 0, 0],
      memory: [this.#view!, helperTimeout],
      attempt: () => Atomics.load(this.#word.view, 0) !== 0 ? 0 : undefined,
    };
    try {
      await offload(request, options, this.#parking);
    } catch (e) {
      // The value changed before the helper slept (EAGAIN), or its own timeout ran out
      // before the caller's: look again.
      if (!(e instanceof IpcError)) throw e;
      if (e.code !== "EAGAIN" && !(e.code === "ETIMEDOUT" && performance.now() < deadline)) {
        throw e;
      }
    }
  }

  /** Takes a unit and uncounts `waiter` in one compare-and-swap, if a unit is there. */
  #take(waiter: Waiter): boolean {
    const data = this.#data;
    let seen = Atomics.load(data, 0);
    while ((seen & VALUE_MASK) > 0n) {
      const before = Atomics.compareExchange(data, 0, seen, seen - 1n - ONE_WAITER);
      if (before === seen) {
        waiter.counted = false;
        return true;
      }
      seen = before;
    }
    return false;
  }

  /**
   * Stops counting a waiter that gives up. A post may have woken it rather than another
   * waiter: when a unit is there and others are counted, the wake-up is passed on.
   */
  #uncount(waiter: Waiter): void {
    this.#waiters.delete(waiter);
    if (!waiter.counted) return;
    waiter.counted = false;
    const before = Atomics.sub(this.#data, 0, ONE_WAITER);
    if ((before & VALUE_MASK) > 0n && (before >> 32n) > 1n) wakeFutex(this.#word, 1);
  }

  /**
   * Takes a unit, blocking the calling thread while the value is 0.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/sync-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * using _permit = sem.acquireSync({ timeout: 100 });
   * sem.unlink();
   * ```
   *
   * @param options `timeout` in ms: `undefined` waits forever, `0` tries once, `> 0` waits
   *   at most that long on the monotonic clock (`sem_clockwait`). A `signal` is only
   *   checked before the call.
   * @returns A permit.
   * @throws {IpcError} `EAGAIN` when `timeout` is 0 and no unit is there, `ETIMEDOUT`
   *   when the timeout passes, `EBADF` when closed.
   */
  acquireSync(options?: WaitOptions): Permit {
    const view = this.#use("sem_wait");
    checkWaitOptions(options);
    const timeout = syncTimeout(options);
    if (timeout === 0) {
      if (this.#tryTake(view)) return makePermit(this);
      throw IpcError.of("EAGAIN", "sem_trywait", this.#name);
    }
    if (timeout === undefined) {
      retryWithDeadline(() => libc.sem_wait(view), undefined, "sem_wait", this.#name);
    } else if (libc.sem_clockwait !== null) {
      const clockwait = libc.sem_clockwait;
      retryWithDeadline(
        (left) => clockwait(view, C.CLOCK_MONOTONIC, absoluteTimespec(C.CLOCK_MONOTONIC, left!)),
        timeout,
        "sem_clockwait",
        this.#name,
      );
    } else {
      retryWithDeadline(
        (left) => libc.sem_timedwait(view, absoluteTimespec(C.CLOCK_REALTIME, left!)),
        timeout,
        "sem_timedwait",
        this.#name,
      );
    }
    return makePermit(this);
  }

  /**
   * Takes a unit if one is there, without waiting.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/try-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * const first = sem.tryAcquire(); // a Permit
   * console.log(sem.tryAcquire()); // null: the value is 0
   * first?.release();
   * sem.unlink();
   * ```
   *
   * @returns A permit, or `null` when the value is 0.
   * @throws {IpcError} `EBADF` when closed.
   */
  tryAcquire(): Permit | null {
    return this.#tryTake(this.#use("sem_trywait")) ? makePermit(this) : null;
  }

  /**
   * Gives a unit back (`sem_post`), waking one waiter in any process.
   *
   * @example A semaphore as a signal between processes (value 0: wait until released)
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/ready-${Date.now()}`;
   * using ready = Semaphore.open(name, { create: true, value: 0 });
   * setTimeout(() => ready.release(), 10); // another process would, after its setup
   * using _ = await ready.acquire({ timeout: 5000 });
   * Semaphore.unlink(name);
   * ```
   *
   * @throws {IpcError} `EOVERFLOW` when the value is at 2147483647 already, `EBADF` when
   *   closed.
   */
  release(): void {
    if (libc.sem_post(this.#use("sem_post")) !== 0) {
      throw new IpcError({ errno: errno(), syscall: "sem_post", path: this.#name });
    }
  }

  /**
   * Removes the semaphore's name (as {@linkcode Semaphore.unlink}); this handle stays
   * usable until closed.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/example-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * sem.unlink(); // Semaphore.open(name) now fails with ENOENT; this handle keeps working
   * sem.release();
   * console.log(sem.value); // 2
   * ```
   *
   * @throws {IpcError} `ENOENT` when the name is gone already.
   */
  unlink(): void {
    Semaphore.unlink(this.#name);
  }

  /**
   * Closes this process's use of the semaphore (`sem_close`); pending acquires reject with
   * `EBADF`. The semaphore itself and its name remain. Idempotent.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/example-${Date.now()}`;
   * using sem = Semaphore.open(name, { create: true, value: 1 });
   * const other = Semaphore.open(name);
   * other.close(); // unmaps; never removes the name
   * other.close(); // idempotent
   * console.log(sem.value); // 1
   * Semaphore.unlink(name);
   * ```
   */
  close(): void {
    const view = this.#view;
    if (view === null) return;
    this.#view = null;
    forgotten.unregister(this);
    // Uncount the pending acquires now, while the sem_t is still mapped: their promises
    // settle later, after the mapping may be gone.
    for (const waiter of [...this.#waiters]) this.#uncount(waiter);
    cancelAll(this.#waits, IpcError.closed("Semaphore", "close"));
    libc.sem_close(view);
    // The mapping may be gone: views of it now read as empty instead of touching it.
    view.buffer.transfer(0);
  }

  /**
   * Same as `close()`.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@sysipc/sysipc/sem";
   * const name = `/example-${Date.now()}`;
   * {
   *   using sem = Semaphore.open(name, { create: true, value: 1 });
   *   sem.release();
   * } // closed here; the name stays
   * using again = Semaphore.open(name);
   * console.log(again.value); // 2
   * Semaphore.unlink(name);
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}

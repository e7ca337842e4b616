/**
 * A robust, process-shared mutex in shared memory: C's `pthread_mutex_t` with
 * `PTHREAD_MUTEX_ROBUST` and `PTHREAD_PROCESS_SHARED`, called through the C library.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { errnoNumber, IpcError } from "../ffi/errors.ts";
import { libc } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import { pthreadMutex, pthreadMutexattr } from "../ffi/structs.ts";
import { checkWaitOptions, type WaitOptions } from "../ffi/wait/mod.ts";
import { threadId } from "../shm/owner.ts";
import { absoluteTimespec, syncTimeout } from "./timespec.ts";

const EBUSY = errnoNumber("EBUSY");
const EOWNERDEAD = errnoNumber("EOWNERDEAD");
const ETIMEDOUT = errnoNumber("ETIMEDOUT");

/**
 * The fields of glibc's `pthread_mutex_t` (64-bit Linux) that garbage from a peer could
 * turn against this process: `__lock` (the holder's thread id in the low 30 bits), `__kind`
 * (which code path the C library takes: a "priority protect" kind with a garbage ceiling
 * aborts the process), and `__list` (two pointers linking the mutexes a thread holds into
 * its robust list, through which `pthread_mutex_unlock` writes).
 */
const LOCK = 0;
const KIND = 16;
const LIST = 24;
const TID_MASK = 0x3fffffff;
const FUTEX_WAITERS = 0x80000000;
/** `PTHREAD_MUTEX_ROBUST_NORMAL_NP | PTHREAD_MUTEX_PSHARED_BIT`: what `init` makes. */
const ROBUST_PSHARED = 16 | 128;
/** The type (normal, recursive, error-checking, adaptive) and `PTHREAD_PRIO_INHERIT` bits. */
const KIND_FREE = 3 | 32;

/** A mutex this thread holds, with its list pointers as the C library last left them. */
interface Held {
  memory: Uint8Array;
  view: DataView;
  kind: number;
  list: [bigint, bigint];
}

/**
 * The mutexes this thread holds, by address, with their memory:
 * - a second lock by the holder would wait for itself forever (a robust mutex of the
 *   normal type does not check), so it fails with `EDEADLK` here instead;
 * - a held mutex keeps its memory mapped, whatever JavaScript still references: the kernel
 *   marks the mutex for the next holder when this process dies (`EOWNERDEAD`) only if the
 *   memory is still mapped then. Measured: an idle Bun process whose only references to a
 *   locked mutex's mapping were collected let its shared-memory handle unmap it, and a
 *   SIGKILL then left the mutex locked for good;
 * - before an unlock, their fields are checked against what the C library last wrote (see
 *   `repair`).
 */
const held = new Map<number, Held>();

/** Records the list pointers of every held mutex, after the C library changed them. */
function snapshot(): void {
  for (const h of held.values()) {
    h.list = [h.view.getBigUint64(LIST, true), h.view.getBigUint64(LIST + 8, true)];
  }
}

/**
 * Before unlocking the mutex at `address`: puts back what another process overwrote in
 * the mutexes this thread holds (their kind, their owner, their robust-list pointers), so
 * that the C library never follows a pointer a peer wrote, out of this process's memory.
 *
 * @returns What was overwritten, or `""`.
 */
function repair(address: number): string {
  const found: string[] = [];
  const tid = threadId();
  for (const [at, h] of held) {
    const v = h.view;
    if (v.getInt32(KIND, true) !== h.kind) {
      found.push(`kind 0x${(v.getInt32(KIND, true) >>> 0).toString(16)}`);
      v.setInt32(KIND, h.kind, true);
    }
    if (at === address && (v.getInt32(LOCK, true) & TID_MASK) !== tid) {
      found.push(`owner word 0x${(v.getInt32(LOCK, true) >>> 0).toString(16)}`);
      v.setUint32(LOCK, (tid | FUTEX_WAITERS) >>> 0, true);
    }
    for (const i of [0, 1]) {
      if (v.getBigUint64(LIST + 8 * i, true) !== h.list[i]) {
        found.push(`robust-list pointer ${i}`);
        v.setBigUint64(LIST + 8 * i, h.list[i]!, true);
      }
    }
  }
  return found.join(", ");
}

/** The error for a mutex whose memory holds what no C library put there. */
function corrupted(syscall: string, what: string): IpcError {
  return IpcError.of("EPROTO", syscall, undefined, `The mutex's memory is corrupted: ${what}`);
}

/** Set by the internal factories: the constructors are not public. */
let constructing = false;
let makeGuard: (mutex: RobustMutex, ownerDied: boolean) => MutexGuard;

/**
 * The lock held: `release()` (or the end of a `using` block) unlocks it. When the previous
 * holder died holding it, `ownerDied` is `true`: the data the mutex guards may be half
 * updated. Repair it, then call `consistent()`; releasing without that marks the mutex
 * unusable for good (every later lock fails with `ENOTRECOVERABLE`), as C does.
 *
 * @example
 * ```ts
 * import { SharedMemory } from "@sysipc/sysipc/shm";
 * import { RobustMutex } from "@sysipc/sysipc/sem";
 * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
 * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
 * {
 *   using guard = mutex.lockSync({ timeout: 1000 });
 *   if (guard.ownerDied) {
 *     // The last holder died inside: repair the guarded data here, then say so.
 *     guard.consistent();
 *   }
 * } // unlocked here
 * shm.unlink();
 * ```
 */
export class MutexGuard implements Disposable {
  readonly #mutex: RobustMutex;
  #held = true;
  /** Whether the previous holder died while holding the lock (`EOWNERDEAD`). */
  readonly ownerDied: boolean;

  static {
    makeGuard = (mutex, ownerDied) => {
      constructing = true;
      return new MutexGuard(mutex, ownerDied);
    };
  }

  private constructor(mutex: RobustMutex, ownerDied: boolean) {
    if (!constructing) throw new TypeError("MutexGuard has no public constructor: use lock()");
    constructing = false;
    this.#mutex = mutex;
    this.ownerDied = ownerDied;
  }

  /**
   * Whether this guard still holds the lock.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * import { RobustMutex } from "@sysipc/sysipc/sem";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
   * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
   * const guard = mutex.lockSync();
   * console.log(guard.held); // true
   * guard.release();
   * console.log(guard.held); // false
   * shm.unlink();
   * ```
   */
  get held(): boolean {
    return this.#held;
  }

  /**
   * Declares the guarded data repaired after `ownerDied` (`pthread_mutex_consistent`).
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * import { RobustMutex } from "@sysipc/sysipc/sem";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
   * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
   * using guard = mutex.lockSync();
   * try {
   *   guard.consistent(); // only after ownerDied
   * } catch (e) {
   *   console.log((e as { code?: string }).code); // "EINVAL": nothing to repair
   * }
   * shm.unlink();
   * ```
   *
   * @throws {IpcError} `EINVAL` when the mutex was not inconsistent, `EPERM` when released.
   */
  consistent(): void {
    if (!this.#held) {
      throw IpcError.of("EPERM", "pthread_mutex_consistent", undefined, "The lock was released");
    }
    const code = libc.pthread_mutex_consistent(this.#mutex.memory);
    if (code !== 0) throw new IpcError({ errno: code, syscall: "pthread_mutex_consistent" });
  }

  /**
   * Unlocks. Only the first call does anything.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * import { RobustMutex } from "@sysipc/sysipc/sem";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
   * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
   * const guard = mutex.lockSync();
   * guard.release();
   * guard.release(); // does nothing the second time
   * console.log(mutex.tryLock() !== null); // true: free again
   * shm.unlink();
   * ```
   */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    const address = runtime.addressOf(this.#mutex.memory);
    const overwritten = repair(address);
    held.delete(address);
    const code = libc.pthread_mutex_unlock(this.#mutex.memory);
    snapshot();
    if (overwritten !== "") {
      throw corrupted("pthread_mutex_unlock", `${overwritten} (put back, and unlocked)`);
    }
    if (code !== 0) throw new IpcError({ errno: code, syscall: "pthread_mutex_unlock" });
  }

  /**
   * Same as `release()`.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * import { RobustMutex } from "@sysipc/sysipc/sem";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
   * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
   * {
   *   using guard = mutex.lockSync();
   *   console.log(guard.held); // true
   * } // released here
   * using again = mutex.tryLock();
   * console.log(again?.held); // true: it was free
   * shm.unlink();
   * ```
   */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * A mutex between processes that cannot wedge: when its holder dies (even by `SIGKILL`),
 * the kernel releases it, and the next `lock` gets a guard with `ownerDied: true` so that
 * it can repair what the dead holder left half done. It lives in 40 bytes
 * (`RobustMutex.SIZE`) of shared memory that every process maps: a `SharedMemory`, a
 * `SysVSharedMemory` attachment or a `MappedFile`. One process calls `init` once; the
 * others call `from` on the same bytes. C programs share it as a `pthread_mutex_t` made
 * with `PTHREAD_MUTEX_ROBUST` and `PTHREAD_PROCESS_SHARED`.
 *
 * The lock belongs to the thread that took it: `lockSync` and `tryLock` take it on the
 * calling thread, and the async `lock` retries `tryLock` on a timer (1 to 8 ms apart)
 * rather than wait in a helper thread, which would own the lock and die with it. So an
 * async lock notices a release up to 8 ms late; use `lockSync` where that matters.
 *
 * Every process that maps the mutex can write its bytes, and the C library trusts them:
 * a garbage kind makes glibc abort, garbage list pointers make `pthread_mutex_unlock`
 * write where they point. So each call first checks that the kind is a robust, shared
 * mutex's (else `EPROTO`), and `release` first puts back what another process overwrote
 * in the mutexes this thread holds (the owner word, the robust-list pointers), unlocks,
 * then throws `EPROTO` saying what it found.
 *
 * @example
 * ```ts
 * import { SharedMemory } from "@sysipc/sysipc/shm";
 * import { RobustMutex } from "@sysipc/sysipc/sem";
 * const name = `/counter-${Date.now()}`;
 * using shm = SharedMemory.open(name, { create: true, size: 4096 });
 * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
 * const counter = new Int32Array(shm.buffer, 64, 1);
 * {
 *   using guard = await mutex.lock({ timeout: 1000 });
 *   if (guard.ownerDied) guard.consistent(); // the data needs no repair here
 *   counter[0]! += 1;
 * }
 * shm.unlink();
 * ```
 */
export class RobustMutex {
  /** Bytes a mutex takes (`sizeof(pthread_mutex_t)`); its memory must be 8-byte aligned. */
  static readonly SIZE: number = pthreadMutex.size;
  /** The mutex's bytes. */
  readonly memory: Uint8Array;
  readonly #view: DataView;

  private constructor(memory: Uint8Array) {
    if (!constructing) {
      throw new TypeError("RobustMutex has no public constructor: use RobustMutex.init or from");
    }
    constructing = false;
    this.memory = memory;
    this.#view = new DataView(memory.buffer, memory.byteOffset, memory.byteLength);
  }

  /**
   * Makes a new robust, process-shared mutex in `memory` (unlocked). Call it once, before
   * any process uses those bytes; calling it on a mutex in use breaks it for every user.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * import { RobustMutex } from "@sysipc/sysipc/sem";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
   * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
   * console.log(RobustMutex.SIZE); // 40 on x86_64: the bytes it takes
   * shm.unlink();
   * ```
   *
   * @param memory At least `RobustMutex.SIZE` bytes of shared, mapped memory, 8-byte aligned.
   * @returns The mutex.
   * @throws {TypeError} When `memory` is not a `Uint8Array` or its buffer is detached.
   * @throws {RangeError} When it is too short or not aligned.
   */
  static init(memory: Uint8Array): RobustMutex {
    const bytes = checkMemory(memory);
    const attr = new Uint8Array(new ArrayBuffer(pthreadMutexattr.size));
    call(libc.pthread_mutexattr_init(attr), "pthread_mutexattr_init");
    try {
      call(
        libc.pthread_mutexattr_setpshared(attr, C.PTHREAD_PROCESS_SHARED),
        "pthread_mutexattr_setpshared",
      );
      call(
        libc.pthread_mutexattr_setrobust(attr, C.PTHREAD_MUTEX_ROBUST),
        "pthread_mutexattr_setrobust",
      );
      call(libc.pthread_mutex_init(bytes, attr), "pthread_mutex_init");
    } finally {
      libc.pthread_mutexattr_destroy(attr);
    }
    constructing = true;
    return new RobustMutex(bytes);
  }

  /**
   * Uses a mutex another process (or C program) made with `init` in these bytes.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * import { RobustMutex } from "@sysipc/sysipc/sem";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
   * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
   * // Another process maps the same segment and uses the mutex another process made.
   * using other = SharedMemory.open(shm.name!);
   * const same = RobustMutex.from(other.bytes.subarray(0, RobustMutex.SIZE));
   * using _guard = mutex.lockSync();
   * console.log(same.tryLock()); // null: the lock is taken
   * shm.unlink();
   * ```
   *
   * @param memory The bytes the mutex lives in, as for `init`.
   * @returns The mutex.
   * @throws {TypeError} When `memory` is not a `Uint8Array` or its buffer is detached.
   * @throws {RangeError} When it is too short or not aligned.
   */
  static from(memory: Uint8Array): RobustMutex {
    const bytes = checkMemory(memory);
    constructing = true;
    return new RobustMutex(bytes);
  }

  /**
   * Takes the lock without waiting.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * import { RobustMutex } from "@sysipc/sysipc/sem";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
   * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
   * using guard = mutex.tryLock();
   * console.log(guard?.ownerDied); // false
   * shm.unlink();
   * ```
   *
   * @returns A guard, or `null` when another thread or process holds it.
   * @throws {IpcError} `ENOTRECOVERABLE` when a holder died and the next released it
   *   without `consistent()`; `EDEADLK`-like `EBUSY` never: a second lock by the same
   *   thread returns `null`.
   */
  tryLock(): MutexGuard | null {
    const code = libc.pthread_mutex_trylock(this.#use("pthread_mutex_trylock"));
    if (code === EBUSY) return null;
    return this.#guard(code, "pthread_mutex_trylock");
  }

  /**
   * Takes the lock, blocking the calling thread while another holds it.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * import { RobustMutex } from "@sysipc/sysipc/sem";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
   * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
   * using guard = mutex.lockSync({ timeout: 1000 }); // blocks this thread while another holds it
   * console.log(guard.held); // true
   * shm.unlink();
   * ```
   *
   * @param options `timeout` in milliseconds (`undefined`: no limit).
   * @returns A guard; `ownerDied` says whether the previous holder died holding it.
   * @throws {IpcError} `ETIMEDOUT` when the time ran out, `EDEADLK` when this thread holds
   *   it already, `ENOTRECOVERABLE` as for `tryLock`.
   */
  lockSync(options?: Omit<WaitOptions, "signal">): MutexGuard {
    const memory = this.#use("pthread_mutex_lock");
    checkWaitOptions(options);
    const timeout = syncTimeout(options);
    if (timeout === 0) {
      const guard = this.tryLock();
      if (guard === null) {
        throw IpcError.of("ETIMEDOUT", "pthread_mutex_trylock", undefined, "The mutex is held");
      }
      return guard;
    }
    let code: number;
    if (timeout === undefined) code = libc.pthread_mutex_lock(memory);
    else if (libc.pthread_mutex_clocklock !== null) {
      code = libc.pthread_mutex_clocklock(
        memory,
        C.CLOCK_MONOTONIC,
        absoluteTimespec(C.CLOCK_MONOTONIC, timeout),
      );
    } else {
      code = libc.pthread_mutex_timedlock(memory, absoluteTimespec(C.CLOCK_REALTIME, timeout));
    }
    if (code === ETIMEDOUT) {
      throw IpcError.of("ETIMEDOUT", "pthread_mutex_lock", undefined, "Timed out");
    }
    return this.#guard(code, "pthread_mutex_lock");
  }

  /**
   * Takes the lock without blocking the event loop: retries `tryLock` on a timer.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@sysipc/sysipc/shm";
   * import { RobustMutex } from "@sysipc/sysipc/sem";
   * using shm = SharedMemory.open(`/example-${Date.now()}`, { create: true, size: 4096 });
   * const mutex = RobustMutex.init(shm.bytes.subarray(0, RobustMutex.SIZE));
   * // While another process holds it, this retries without blocking the event loop.
   * using guard = await mutex.lock({ timeout: 5000 });
   * console.log(guard.held); // true
   * shm.unlink();
   * ```
   *
   * @param options Timeout and abort signal.
   * @returns A guard, as `lockSync`.
   * @throws {IpcError} `ETIMEDOUT`, `ENOTRECOVERABLE` as for `lockSync`.
   */
  async lock(options?: WaitOptions): Promise<MutexGuard> {
    this.#use("pthread_mutex_lock");
    checkWaitOptions(options);
    const deadline = options?.timeout === undefined
      ? Infinity
      : performance.now() + options.timeout;
    let delay = 1;
    while (true) {
      const guard = this.tryLock();
      if (guard !== null) return guard;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw IpcError.of("ETIMEDOUT", "pthread_mutex_trylock", undefined, "Timed out");
      }
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, Math.min(delay, left));
        options?.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(options.signal!.reason);
        }, { once: true });
      });
      delay = Math.min(delay * 2, 8);
    }
  }

  #use(syscall: string): Uint8Array {
    if (held.has(runtime.addressOf(this.memory))) {
      throw IpcError.of("EDEADLK", syscall, undefined, "This thread holds the mutex already");
    }
    if ((this.memory.buffer as ArrayBuffer).detached) {
      throw IpcError.of(
        "EBADF",
        "pthread_mutex_lock",
        undefined,
        "The mutex's memory was unmapped",
      );
    }
    const kind = this.#view.getInt32(KIND, true);
    if ((kind & ~KIND_FREE) !== ROBUST_PSHARED) {
      throw corrupted(syscall, `kind 0x${(kind >>> 0).toString(16)} is not a robust, shared mutex`);
    }
    return this.memory;
  }

  #guard(code: number, syscall: string): MutexGuard {
    if (code === 0 || code === EOWNERDEAD) {
      const view = this.#view;
      held.set(runtime.addressOf(this.memory), {
        memory: this.memory,
        view,
        kind: view.getInt32(KIND, true),
        list: [0n, 0n],
      });
      snapshot();
      return makeGuard(this, code === EOWNERDEAD);
    }
    throw new IpcError({ errno: code, syscall });
  }
}

function call(code: number, syscall: string): void {
  if (code !== 0) throw new IpcError({ errno: code, syscall });
}

function checkMemory(memory: unknown): Uint8Array {
  if (!(memory instanceof Uint8Array)) {
    throw new TypeError(
      `memory must be a Uint8Array of shared memory, got ${
        memory === null ? "null" : typeof memory
      }`,
    );
  }
  if ((memory.buffer as ArrayBuffer).detached) {
    throw new TypeError("memory is a view of a detached ArrayBuffer");
  }
  if (memory.byteLength < pthreadMutex.size) {
    throw new RangeError(
      `memory must hold at least ${pthreadMutex.size} bytes, got ${memory.byteLength}`,
    );
  }
  if (runtime.addressOf(memory) % 8 !== 0) {
    throw new RangeError("memory must start at an 8-byte aligned address");
  }
  return memory.subarray(0, pthreadMutex.size);
}

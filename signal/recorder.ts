/**
 * The recorder: the one signal handler sysipc installs, and the pipe it writes to.
 *
 * Why a handler, measured here (Deno 2.9.6, Bun 1.4.5; 200 `sigqueue` calls from a C
 * program to a process that blocked the signal in its main thread and read it from a
 * `signalfd`): on Deno the first signal killed the process, because a process-directed
 * signal goes to any thread that does not block it and Deno runs five other threads; with
 * the signal ignored instead of fatal, 4 of 200 arrived. On Bun, even a signal directed at
 * the main thread, and even one blocked in every thread from the start, was fatal or lost
 * (0–2 of 200): Bun's event loop waits in `epoll_pwait2` with an empty signal mask, so
 * every signal is unblocked whenever the loop is idle. Blocking cannot work there; a
 * handler catches a signal wherever the kernel delivers it. With the handler below, all
 * 1,000 of 1,000 arrived, with their values and sender, on both runtimes, started plainly.
 *
 * The handler is 38 bytes of x86_64 machine code, written once per process into a page
 * that is mapped writable, then made read+execute (never both at once). For each signal it
 * makes one raw `write` system call that copies the kernel's `siginfo_t` (128 bytes) into
 * the non-blocking write end of a private pipe; writes of at most `PIPE_BUF` bytes are
 * atomic, so records never mix. No C library function runs and errno is left alone, so it
 * is async-signal-safe on any thread. When the pipe is full the write fails and the handler
 * counts a dropped signal, per signal number, on the next page. The event loop reads the
 * records through the wait engine and hands each to the receiver of its signal.
 *
 * The code page, the counters and both pipe ends live as long as the process: a handler
 * may still be running on another thread after `sigaction` replaced it, so its code must
 * never be unmapped and its descriptor never closed (a reused fd number would get the
 * record).
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { EAGAIN, errno, libc } from "../ffi/libc.ts";
import { platform } from "../ffi/platform.ts";
import { runtime } from "../ffi/runtime.ts";
import { siginfo } from "../ffi/structs.ts";
import { newSpinState, readyEvents, waitFd } from "../ffi/wait/mod.ts";

const PAGE = 4096;
/** Records the pipe holds when it can be enlarged to 1 MiB (the default `pipe-max-size`). */
const WANTED_CAPACITY = 1 << 20;
const RECORD = siginfo.size;

/**
 * The handler, for `void handler(int sig, siginfo_t *info, void *context)`:
 *
 *     mov   r8d, edi              ; keep the signal number
 *     mov   eax, SYS_write
 *     mov   edi, <fd>
 *     mov   edx, 128              ; rsi already holds info
 *     syscall
 *     test  rax, rax
 *     jns   done
 *     lea   rax, [rip + <next page>]
 *     lock inc dword [rax + r8*4] ; dropped[sig]++
 *   done:
 *     ret
 *
 * The kernel restores every register when the handler returns.
 */
function handlerCode(fd: number): Uint8Array {
  const code = Uint8Array.of(
    ...[0x41, 0x89, 0xf8],
    ...[0xb8, 0, 0, 0, 0],
    ...[0xbf, 0, 0, 0, 0],
    ...[0xba, 0, 0, 0, 0],
    ...[0x0f, 0x05],
    ...[0x48, 0x85, 0xc0],
    ...[0x79, 0x0c],
    ...[0x48, 0x8d, 0x05, 0, 0, 0, 0],
    ...[0xf0, 0x42, 0xff, 0x04, 0x80],
    0xc3,
  );
  const view = new DataView(code.buffer);
  view.setInt32(4, C.SYS_write, true);
  view.setInt32(9, fd, true);
  view.setInt32(14, RECORD, true);
  view.setInt32(28, PAGE - 32, true); // from the end of the lea (offset 32) to the next page
  return code;
}

/** Receives the records of one signal. */
export type Sink = (record: DataView, offset: number) => void;

/** A receive waiting for a record, with how to end it. */
export interface Waiter {
  /** Called when the engine fails: the wait rejects. */
  fail(error: unknown): void;
}

const STOP = Symbol("stop");

/** The handler, its pipe, and the routing of records to receivers. */
class Recorder {
  /** The handler's address, for `sigaction`. */
  readonly handler: bigint;
  /** The pipe's read end (non-blocking). */
  readonly readFd: number;
  /** The pipe's write end (non-blocking), written by the handler only. */
  readonly writeFd: number;
  /** How many records the pipe holds. */
  readonly capacity: number;
  readonly #dropped: Int32Array;
  readonly #buffer = new Uint8Array(new ArrayBuffer(RECORD * 32));
  readonly #view = new DataView(this.#buffer.buffer);
  readonly #sinks = new Map<number, Sink>();
  readonly #waiters = new Set<Waiter>();
  readonly #spin = newSpinState();
  #stop: AbortController | undefined;

  constructor() {
    if (runtime.isWorker) {
      throw IpcError.of(
        "ENOTSUP",
        "sigaction",
        undefined,
        "Signals are received on the main thread only: signal handlers belong to the " +
          "whole process, and a Worker can be terminated without cleaning up",
      );
    }
    if (!platform.signalReceiver) {
      throw IpcError.of(
        "ENOTSUP",
        "sigaction",
        undefined,
        "Receiving signals needs sysipc's x86_64 signal handler; this CPU is not supported yet",
      );
    }
    const fds = new Int32Array(new ArrayBuffer(8));
    if (libc.pipe2(fds, C.O_CLOEXEC | C.O_NONBLOCK) !== 0) {
      throw new IpcError({ errno: errno(), syscall: "pipe2" });
    }
    const [readFd, writeFd] = [fds[0]!, fds[1]!];
    const address = libc.mmap(
      0,
      2 * PAGE,
      C.PROT_READ | C.PROT_WRITE,
      C.MAP_PRIVATE | C.MAP_ANONYMOUS,
      -1,
      0,
    );
    if (address === 0xffffffffffffffffn) {
      const e = errno();
      libc.close(readFd);
      libc.close(writeFd);
      throw new IpcError({ errno: e, syscall: "mmap" });
    }
    const code = runtime.memory(address, PAGE);
    new Uint8Array(code).set(handlerCode(writeFd));
    code.transfer(0); // no writable view of the code page may outlive this line
    if (libc.mprotect(address, PAGE, C.PROT_READ | C.PROT_EXEC) !== 0) {
      const e = errno();
      libc.munmap(address, 2 * PAGE);
      libc.close(readFd);
      libc.close(writeFd);
      throw new IpcError({
        errno: e,
        syscall: "mprotect",
        detail: "Cannot make sysipc's signal handler executable (a policy forbids executable " +
          "memory)",
      });
    }
    // A bigger pipe holds more records; the default 64 KiB (512 records) if refused.
    libc.fcntl(writeFd, C.F_SETPIPE_SZ, WANTED_CAPACITY);
    this.capacity = Math.max(libc.fcntl(writeFd, C.F_GETPIPE_SZ, 0), 0) / RECORD;
    this.handler = address;
    this.readFd = readFd;
    this.writeFd = writeFd;
    this.#dropped = new Int32Array(runtime.memory(address + BigInt(PAGE), 65 * 4));
  }

  /**
   * How many signals of a number the handler could not record because the pipe was full,
   * since the process started.
   */
  dropped(signal: number): number {
    return this.#dropped[signal]!;
  }

  /** Routes the records of `signal` to `sink` (or stops, with `undefined`). */
  route(signal: number, sink: Sink | undefined): void {
    if (sink) this.#sinks.set(signal, sink);
    else this.#sinks.delete(signal);
  }

  /**
   * Reads every record the pipe holds and hands each to its signal's sink; records of
   * signals nobody receives any more are dropped.
   */
  drain(): void {
    const buffer = this.#buffer;
    while (true) {
      const n = libc.read(this.readFd, buffer, buffer.length);
      if (n < 0) {
        // A non-blocking read of this pipe fails when it is empty (EAGAIN), or when other
        // code closed the descriptor. Not errno alone decides: under load, Deno once
        // reported ENOENT for an empty read that a signal had just interrupted (seen twice
        // in one benchmark run, never reproduced since), so poll() confirms.
        if (errno() === EAGAIN || !(readyEvents(this.readFd, C.POLLIN) & C.POLLNVAL)) return;
        throw IpcError.of("EBADF", "read", undefined, "The signal record pipe was closed");
      }
      for (let offset = 0; offset < n; offset += RECORD) {
        const signal = this.#view.getInt32(offset + siginfo.offsets.si_signo, true);
        this.#sinks.get(signal)?.(this.#view, offset);
      }
      if (n < buffer.length) return;
    }
  }

  /**
   * Registers a pending receive: while any is registered, the pipe is watched through the
   * wait engine, and records are drained as they come.
   */
  wait(waiter: Waiter): void {
    this.#waiters.add(waiter);
    if (this.#stop === undefined) void this.#watch();
  }

  /** Unregisters a receive that got its record or was given up. */
  unwait(waiter: Waiter): void {
    this.#waiters.delete(waiter);
    if (this.#waiters.size === 0) this.#stop?.abort(STOP);
  }

  async #watch(): Promise<void> {
    const stop = this.#stop = new AbortController();
    try {
      while (this.#waiters.size > 0) {
        this.drain();
        if (this.#waiters.size === 0) break;
        await waitFd(this.readFd, C.POLLIN, { signal: stop.signal }, {
          syscall: "receive",
          spin: this.#spin,
        });
      }
    } catch (e) {
      if (e !== STOP) { for (const waiter of [...this.#waiters]) waiter.fail(e); }
    } finally {
      this.#stop = undefined;
      // A receive that came while the watch was being stopped starts it again.
      if (this.#waiters.size > 0) void this.#watch();
    }
  }
}

let recorder: Recorder | undefined;

/**
 * The process's recorder, made on first use.
 *
 * @returns The recorder.
 * @throws {IpcError} `ENOTSUP` in a Worker or on a CPU other than x86_64, or what `pipe2`,
 *   `mmap` and `mprotect` report.
 */
export function getRecorder(): Recorder {
  return recorder ??= new Recorder();
}

/**
 * The recorder's descriptors, open for the life of the process once a receiver was made
 * (for tests that check that nothing leaks).
 *
 * @returns The pipe's two ends, or none.
 */
export function recorderFds(): number[] {
  return recorder ? [recorder.readFd, recorder.writeFd] : [];
}

export type { Recorder };

/**
 * The public surface of sysipc as a table, for the hostile-input sweep and the fuzz run
 * (`tests/fixtures/hostile.ts`): every exported function, every static and instance method
 * and accessor of every exported class, each argument with the kind of value it takes.
 * From a kind come the hostile values it must refuse (wrong types, NaN, fractions, huge
 * numbers, empty, over-long and NUL-carrying strings, detached buffers) and, for the fuzz,
 * valid ones. `tests/hostile_test.ts` fails when an export appears that this table does not
 * list, so a new public function cannot skip the sweep.
 *
 * @module
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import * as sysipc from "../mod.ts";
import * as ffi from "../ffi/mod.ts";
import { portPair } from "../port/port.ts";

/** A hostile value: how to make it (a detached buffer must be fresh), and its label. */
export interface Hostile {
  label: string;
  make: () => unknown;
  /** The error classes that may refuse it; default TypeError and RangeError. */
  ipc?: boolean;
}

/** What an argument takes. */
export interface Kind {
  /** Values the argument must refuse. */
  hostile: Hostile[];
  /** A valid value for the fuzz (and the sweep's base call). */
  valid: (ctx: Ctx) => unknown;
}

/** An argument: its name, as error messages must mention it, and its kind. */
export interface Arg {
  name: string;
  kind: Kind;
  /** Whether `undefined` (omitting it) is valid. */
  optional?: boolean;
  /** Other names a message may give it (a string address is a `path`). */
  aliases?: string[];
}

/** One public function, constructor, method or accessor. */
export interface Entry {
  /** `fn`, `Class.static`, `Class#method`, `Class#get name`, `Class#set name`, `new Class`. */
  id: string;
  args: Arg[];
  /** For instance members: which instance. */
  on?: string;
  /** Calls it. */
  call: (self: unknown, args: unknown[]) => unknown;
  /** Members that may be used on a closed handle without an `EBADF` error. */
  closedOk?: boolean;
  /** Blocks the thread with no timeout when called with valid arguments: the fuzz calls it
   * only with a hostile one. */
  blocks?: boolean;
  /** Makes a blocking call of a `blocks` entry return: gives it something to take. */
  prime?: (self: unknown) => void;
}

/** The other end of each socketpair end the makers hand out. */
export const peers: WeakMap<object, sysipc.UnixConnection> = new WeakMap();

const h = (label: string, make: () => unknown, ipc = false): Hostile => ({ label, make, ipc });

/** A Uint8Array whose buffer was detached with `transfer()`. */
export function detached(): Uint8Array {
  const buffer = new ArrayBuffer(16);
  const view = new Uint8Array(buffer);
  buffer.transfer();
  return view;
}

const WRONG: Hostile[] = [
  h("null", () => null),
  h("true", () => true),
  h("{}", () => ({})),
  h("[]", () => []),
  h("1n", () => 1n),
  h("a symbol", () => Symbol("s")),
  h("a function", () => () => 0),
];
const NOT_NUMBER = [...WRONG, h('"1"', () => "1")];
const NOT_STRING = [...WRONG, h("1", () => 1)];

/** An integer in `[min, max]`. */
export function int(min: number, max: number, valid: number | ((ctx: Ctx) => number) = min): Kind {
  const hostile = [
    ...NOT_NUMBER,
    h("NaN", () => NaN),
    h("a fraction", () => (Math.abs(min) < 2 ** 50 ? min + 0.5 : 0.5)),
    h("Infinity", () => Infinity),
    h("-Infinity", () => -Infinity),
    h("2^64 (> SIZE_MAX)", () => 2 ** 64),
    h("-2^64", () => -(2 ** 64)),
  ];
  if (max < 2 ** 53) hostile.push(h("2^53 + 2", () => 2 ** 53 + 2), h("max + 1", () => max + 1));
  if (min > -(2 ** 53)) hostile.push(h("min - 1", () => min - 1));
  return { hostile, valid: typeof valid === "function" ? valid : () => valid };
}

/** Text for error messages only (a call's name, a path shown in a message): any string. */
export const label: Kind = { hostile: [], valid: () => "x" };

/** A boolean. */
export const bool: Kind = {
  hostile: [h("null", () => null), h("1", () => 1), h('"true"', () => "true"), h("{}", () => ({}))],
  valid: () => false,
};

/** A string with nothing checked but its type. */
export function text(valid: string | ((ctx: Ctx) => string), empty = false): Kind {
  const hostile = [...NOT_STRING, h('"a\\0b"', () => "a\0b")];
  if (!empty) hostile.push(h('""', () => ""));
  return { hostile, valid: typeof valid === "function" ? valid : () => valid };
}

/** A filesystem path (refused when over-long by the kernel: `ENAMETOOLONG`). */
export function path(valid: (ctx: Ctx) => string): Kind {
  return {
    hostile: [...text("").hostile, h("a 5000-byte path", () => "/tmp/" + "x".repeat(5000), true)],
    valid,
  };
}

/** A POSIX object name. */
export const posixName: Kind = {
  hostile: [
    ...text("").hostile,
    h('"noslash"', () => "noslash"),
    h('"/"', () => "/"),
    h('"//x"', () => "//x"),
    h('"/a/b"', () => "/a/b"),
    h('"/../etc/passwd"', () => "/../etc/passwd"),
    h('"/.."', () => "/.."),
    h('"/."', () => "/."),
    h('"/a\\0b"', () => "/a\0b"),
    h("251 characters", () => "/" + "x".repeat(251)),
  ],
  valid: (ctx) => ctx.name(),
};

/** Data to send: a Uint8Array or a string. */
export const data: Kind = {
  hostile: [
    ...NOT_STRING,
    h("a detached Uint8Array", detached),
    h("an ArrayBuffer", () => new ArrayBuffer(4)),
    h("an Int32Array", () => new Int32Array(1)),
    h("a DataView", () => new DataView(new ArrayBuffer(4))),
  ],
  valid: () => "x",
};

/** A buffer to receive into. */
export const into: Kind = {
  hostile: [...data.hostile, h('"x"', () => "x")],
  valid: () => new Uint8Array(64),
};

/** A System V key. */
export const key: Kind = {
  hostile: [
    ...NOT_NUMBER,
    h('"x"', () => "x"),
    h("NaN", () => NaN),
    h("1.5", () => 1.5),
    h("Infinity", () => Infinity),
    h("2^32", () => 2 ** 32),
    h("-2^31 - 1", () => -(2 ** 31) - 1),
    h("2^64", () => 2 ** 64),
  ],
  valid: (ctx) => ctx.key(),
};

/** A signal name or number (0, the existence check, allowed when `zero`). */
export function signal(zero: boolean): Kind {
  return {
    hostile: [
      ...WRONG,
      h('"SIGNOPE"', () => "SIGNOPE"),
      h('""', () => ""),
      h('"SIGRTMIN+99"', () => "SIGRTMIN+99"),
      h('"9"', () => "9"),
      h("NaN", () => NaN),
      h("1.5", () => 1.5),
      h("-1", () => -1),
      h("65", () => 65),
      h("2^64", () => 2 ** 64),
      ...(zero ? [] : [h("0", () => 0)]),
    ],
    valid: () => (zero ? 0 : "SIGUSR2"),
  };
}

/** One of a set of strings. */
export function oneOf(...values: string[]): Kind {
  return {
    hostile: [...NOT_STRING, h('"bogus"', () => "bogus"), h('""', () => "")],
    valid: () => values[0],
  };
}

/** An array of `element`s. */
export function arrayOf(element: Kind, valid: (ctx: Ctx) => unknown[], empty = true): Kind {
  const hostile = [
    h("null", () => null),
    h("1", () => 1),
    h('"x"', () => "x"),
    h("{}", () => ({})),
    ...element.hostile.map((e) => h(`[${e.label}]`, () => [e.make()], e.ipc)),
  ];
  if (!empty) hostile.push(h("[]", () => []));
  return { hostile, valid };
}

/** An options object with these fields (each may be left out). */
export function options(
  fields: Record<string, Kind>,
  valid: (ctx: Ctx) => Record<string, unknown> = () => ({}),
): Kind & { fields: Record<string, Kind> } {
  return {
    fields,
    hostile: [h("1", () => 1), h('"x"', () => "x"), h("true", () => true), h("null", () => null)],
    valid,
  };
}

const timeout: Kind = {
  hostile: [
    ...NOT_NUMBER.filter((v) => v.label !== "a function"),
    h("NaN", () => NaN),
    h("-1", () => -1),
    h("-Infinity", () => -Infinity),
  ],
  valid: () => 0,
};
const abortSignal: Kind = {
  hostile: [h("{}", () => ({})), h("1", () => 1), h('"x"', () => "x"), h("null", () => null)],
  valid: () => undefined,
};
const fd = int(0, 0x7fffffff);
const mode = int(0, 0o777, 0o600);
const size = int(0, Number.MAX_SAFE_INTEGER, 4096);

/** Wait options: `timeout` 0 in valid calls, so that nothing valid waits. */
export function wait(
  extra: Record<string, Kind> = {},
  withSignal = true,
): ReturnType<typeof options> {
  const fields: Record<string, Kind> = { timeout, ...extra };
  if (withSignal) fields.signal = abortSignal;
  return options(fields, () => ({ timeout: 0 }));
}
const create = { create: bool, exclusive: bool, mode };

/**
 * The state a sweep or fuzz run works in: a private directory, name and key prefixes, and
 * everything it created, to close and remove at the end.
 */
export class Ctx {
  readonly dir: string;
  readonly prefix: string;
  readonly keyBase: number;
  #n = 0;
  readonly handles: { close?: () => void; remove?: () => void; unlink?: () => void }[] = [];
  readonly names = new Set<string>();

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "sysipc-hostile-"));
    this.prefix = `/sysipc-hostile-${process.pid}-`;
    // Keys of this run: 0x5e000000 + pid's low 16 bits × 256; objects with other keys are
    // not this run's.
    this.keyBase = 0x5e000000 + (process.pid & 0xffff) * 256;
  }

  /** A fresh POSIX object name of this run. */
  name(): string {
    const name = `${this.prefix}${++this.#n}`;
    this.names.add(name);
    return name;
  }

  /** A fresh System V key of this run (256 of them, reused round-robin). */
  key(): number {
    return this.keyBase + (++this.#n % 256);
  }

  /** A fresh path in the run's directory. */
  path(what = "f"): string {
    return join(this.dir, `${what}${++this.#n}`);
  }

  /** Keeps a handle to close (and remove, for System V objects) at the end. */
  keep<T>(handle: T): T {
    if (Array.isArray(handle)) handle.forEach((h) => this.keep(h));
    else if (handle !== null && typeof handle === "object") {
      this.handles.push(handle as never);
    }
    return handle;
  }
}

/** The instances methods are called on: a fresh open one per call of `make`. */
export const makers: Record<string, (ctx: Ctx) => unknown> = {
  PipeReader: (ctx) => ctx.keep(ctx.keep(sysipc.pipe({ nonBlocking: true }))[0]),
  PipeWriter: (ctx) => {
    const [r, w] = sysipc.pipe({ nonBlocking: true });
    ctx.keep(r);
    return ctx.keep(w);
  },
  EventFd: (ctx) => ctx.keep(new sysipc.EventFd()),
  Semaphore: (ctx) => ctx.keep(sysipc.Semaphore.open(ctx.name(), { create: true, value: 5 })),
  Permit: (ctx) => {
    const s = ctx.keep(sysipc.Semaphore.open(ctx.name(), { create: true, value: 5 }));
    return s.tryAcquire();
  },
  SysVSemaphoreSet: (ctx) =>
    ctx.keep(sysipc.SysVSemaphoreSet.get(ctx.key(), { create: true, count: 2 })),
  SharedMemory: (ctx) =>
    ctx.keep(sysipc.SharedMemory.open(ctx.name(), { create: true, size: 4096 })),
  MappedFile: (ctx) => ctx.keep(sysipc.MappedFile.open(ctx.path(), { create: true, size: 4096 })),
  SysVSharedMemory: (ctx) =>
    ctx.keep(sysipc.SysVSharedMemory.get(ctx.key(), { create: true, size: 4096 })),
  ShmChannel: (ctx) => ctx.keep(sysipc.ShmChannel.create(ctx.name(), { slots: 4, slotSize: 64 })),
  ShmSlot: (ctx) => {
    const c = ctx.keep(sysipc.ShmChannel.create(ctx.name(), { slots: 4, slotSize: 64 }));
    return c.tryReserve();
  },
  ShmMessage: (ctx) => {
    const c = ctx.keep(sysipc.ShmChannel.create(ctx.name(), { slots: 4, slotSize: 64 }));
    c.trySend("hello");
    return c.tryReceiveView();
  },
  SignalReceiver: (ctx) => ctx.keep(sysipc.SignalReceiver.listen(["SIGRTMIN+5"])),
  PidFd: (ctx) => ctx.keep(sysipc.PidFd.open(process.pid)),
  UnixConnection: (ctx) => {
    const [one, other] = ctx.keep(sysipc.socketpair("stream"));
    peers.set(one, other);
    return ctx.keep(one);
  },
  UnixListener: (ctx) => ctx.keep(sysipc.listen({ path: ctx.path("s") })),
  UnixDatagram: (ctx) => ctx.keep(sysipc.UnixDatagram.bind({ path: ctx.path("d") })),
  Port: (ctx) => {
    // The other end reads everything, so that no valid postMessage waits for room.
    const [port, other] = ctx.keep(portPair());
    other.onmessage = () => {};
    return port;
  },
  PortListener: (ctx) => ctx.keep(sysipc.listenPort(ctx.name())),
  MessageQueue: (ctx) =>
    ctx.keep(
      sysipc.MessageQueue.open(ctx.name(), { create: true, maxMessages: 4, messageSize: 64 }),
    ),
  SysVMessageQueue: (ctx) => ctx.keep(sysipc.SysVMessageQueue.get(ctx.key(), { create: true })),
  IpcError: () => new sysipc.IpcError({ errno: 1, syscall: "test" }),
};

/** A FIFO of the run's directory. */
function fifoPath(ctx: Ctx): string {
  const p = ctx.path("fifo");
  sysipc.mkfifo(p);
  return p;
}

/** An existing file of the run's directory. */
function filePath(ctx: Ctx): string {
  const p = ctx.path("file");
  writeFileSync(p, "x");
  return p;
}

type Fn = (...args: unknown[]) => unknown;
const fn = (id: string, f: unknown, ...args: Arg[]): Entry => ({
  id,
  args,
  call: (_self, a) => (f as Fn)(...a),
});
const method = (cls: string, name: string, ...args: Arg[]): Entry => ({
  id: `${cls}#${name}`,
  on: cls,
  args,
  call: (self, a) => ((self as Record<string, Fn>)[name] as Fn).apply(self, a),
});
const getter = (cls: string, name: string): Entry => ({
  id: `${cls}#get ${name}`,
  on: cls,
  args: [],
  closedOk: true,
  call: (self) => (self as Record<string, unknown>)[name],
});
const setter = (cls: string, name: string, kind: Kind): Entry => ({
  id: `${cls}#set ${name}`,
  on: cls,
  args: [{ name, kind }],
  call: (self, a) => {
    (self as Record<string, unknown>)[name] = a[0];
  },
});
const ctor = (cls: string, c: unknown, ...args: Arg[]): Entry => ({
  id: `new ${cls}`,
  args,
  call: (_self, a) => new (c as new (...a: unknown[]) => unknown)(...a),
});
const a = (name: string, kind: Kind, optional = false, aliases?: string[]): Arg => ({
  name,
  kind,
  optional,
  aliases,
});
const closedOk = (e: Entry): Entry => ({ ...e, closedOk: true });

/** Members every fd handle has, on the given class. */
function fdHandle(cls: string): Entry[] {
  return [getter(cls, "fd"), getter(cls, "closed"), closedOk(method(cls, "close"))];
}
/** What MappedFd adds. */
function mapped(cls: string): Entry[] {
  return ["size", "readOnly", "buffer", "bytes"].map((g) => getter(cls, g));
}

const waitOnly = wait();
/** A handle (closed at once: a hostile value has nobody to close it). */
function closedHandle(): sysipc.PipeReader {
  const [reader, writer] = sysipc.pipe();
  reader.close();
  writer.close();
  return reader;
}
/** A value `postMessage` sends; the hostile ones cannot be cloned. */
const cloneable: Kind = {
  hostile: [
    h("a function", () => () => 0),
    h("a symbol", () => Symbol("s")),
    h("a WeakMap", () => new WeakMap()),
    h("a class instance", () => new (class Job {})()),
    h("a Proxy", () => new Proxy({}, {})),
    h("a SharedArrayBuffer", () => new SharedArrayBuffer(8)),
    h("an object with a getter", () => ({
      get x() {
        return 1;
      },
    })),
    h("a PipeReader not in transfer", closedHandle),
  ],
  valid: () => ({ job: "x", sizes: [1, 2] }),
};
/** A `transfer` list. */
const transferList: Kind = {
  hostile: [
    h("1", () => 1),
    h('"x"', () => "x"),
    h("{}", () => ({})),
    h("[null]", () => [null]),
    h('["x"]', () => ["x"]),
    h("[-1]", () => [-1]),
    h("[1.5]", () => [1.5]),
    h("[a function]", () => [() => 0]),
    h("[a handle not in the value]", () => [closedHandle()]),
  ],
  valid: () => undefined,
};
/** An event handler: a function or null. */
const handler: Kind = {
  hostile: [h("1", () => 1), h('"x"', () => "x"), h("{}", () => ({})), h("true", () => true)],
  valid: () => null,
};
const mutexMemory: Kind = {
  hostile: [...data.hostile, h("8 bytes", () => new Uint8Array(8))],
  valid: (ctx) =>
    (makers.SharedMemory!(ctx) as sysipc.SharedMemory).bytes.subarray(0, sysipc.RobustMutex.SIZE),
};
/** Writes a byte from the other end of a socketpair end, so that a blocking read returns. */
const fill = (self: unknown) => {
  const peer = peers.get(self as object);
  try {
    if (peer !== undefined && !peer.closed) peer.writeSync("x");
  } catch {
    // the handle under test was closed: its peer sees EPIPE
  }
};
/** A descriptor of a live handle of this run (borrowed, so that nothing closes it twice). */
const fdOf = (cls: string): Kind =>
  int(0, 0x7fffffff, (ctx) => (makers[cls]!(ctx) as { fd: number }).fd);
const borrowed = (extra: Record<string, Kind>) =>
  options({ own: bool, ...extra }, () => ({ own: false }));
/** The id of a System V object of this run (never another process's). */
const idOf = (cls: string): Kind =>
  int(0, 2 ** 31 - 1, (ctx) => (makers[cls]!(ctx) as { id: number }).id);
const syncWait = wait({}, false);
const anyCtor = [a("a", key, true), a("b", key, true), a("c", key, true)];
const udsAddress = options({
  path: path((ctx) => ctx.path("s")),
  abstract: { hostile: NOT_STRING, valid: () => "x" },
});
const recvOpts = wait({ maxSize: int(1, 2 ** 31 - 1), maxFds: int(0, 253) });
const sendOpts = wait({ fds: arrayOf(fd, () => []) });
const datagramAddress: Kind = {
  hostile: [...WRONG, h("1", () => 1), h('""', () => ""), h('"a\\0b"', () => "a\0b")],
  valid: (ctx) => ctx.path("nobody"),
};
const sysvSelection = { type: int(-(2 ** 53) + 1, 2 ** 53 - 1, 0), except: bool, maxSize: size };
const semOps = arrayOf(
  options({ index: int(0, 1), delta: int(-32767, 32767), undo: bool, noWait: bool }),
  () => [{ index: 0, delta: 1 }],
  false,
);

/** The table. */
export const SURFACE: Entry[] = [
  // pipe
  fn("pipe", sysipc.pipe, a("options", options({ nonBlocking: bool, packet: bool }), true)),
  fn(
    "spawn",
    sysipc.spawn,
    a("command", text("true")),
    a("args", arrayOf(text("", true), () => []), true),
    a(
      "options",
      options({
        fds: options({ 3: fd }),
        cwd: path(() => "/"),
        env: options({ A: text("", true) }),
        stdin: {
          hostile: [
            ...WRONG.filter((v) => v.label !== "{}" && v.label !== "null"),
            h('"bogus"', () => "bogus"),
            h("-1", () => -1),
            h("1.5", () => 1.5),
          ],
          valid: () => "inherit",
        },
        stdout: {
          hostile: [
            ...WRONG.filter((v) => v.label !== "{}" && v.label !== "null"),
            h('"bogus"', () => "bogus"),
            h("-1", () => -1),
            h("1.5", () => 1.5),
          ],
          valid: () => "inherit",
        },
        stderr: {
          hostile: [
            ...WRONG.filter((v) => v.label !== "{}" && v.label !== "null"),
            h('"bogus"', () => "bogus"),
            h("-1", () => -1),
            h("1.5", () => 1.5),
          ],
          valid: () => "inherit",
        },
        blockSignals: arrayOf(signal(false), () => []),
      }),
      true,
    ),
  ),
  ctor("PipeReader", sysipc.PipeReader, ...anyCtor),
  fn(
    "PipeReader.fromFd",
    (f: unknown, o: unknown) => sysipc.PipeReader.fromFd(f as number, o as never),
    a("fd", fdOf("PipeReader")),
    a("options", borrowed({}), true),
  ),
  ...fdHandle("PipeReader"),
  getter("PipeReader", "kind"),
  getter("PipeReader", "readable"),
  method("PipeReader", "read", a("into", into), a("options", waitOnly, true)),
  method("PipeReader", "readSync", a("into", into)),
  ctor("PipeWriter", sysipc.PipeWriter, ...anyCtor),
  fn(
    "PipeWriter.fromFd",
    (f: unknown, o: unknown) => sysipc.PipeWriter.fromFd(f as number, o as never),
    a("fd", fdOf("PipeWriter")),
    a("options", borrowed({}), true),
  ),
  ...fdHandle("PipeWriter"),
  getter("PipeWriter", "kind"),
  getter("PipeWriter", "writable"),
  getter("PipeWriter", "capacity"),
  setter("PipeWriter", "capacity", int(1, 2 ** 31 - 1, 65536)),
  method("PipeWriter", "write", a("data", data), a("options", waitOnly, true)),
  method("PipeWriter", "writeSync", a("data", data)),
  ctor("FdHandle", sysipc.FdHandle, ...anyCtor),
  // fifo
  fn(
    "mkfifo",
    sysipc.mkfifo,
    a("path", path((ctx) => ctx.path())),
    a("options", options({ mode: int(0, 0o777), allowExisting: bool }), true),
  ),
  fn(
    "openFifoReader",
    sysipc.openFifoReader,
    a("path", path(fifoPath)),
    a(
      "options",
      options(
        { ...wait().fields, nonBlocking: bool, persistent: bool },
        () => ({ nonBlocking: true }),
      ),
      true,
    ),
  ),
  fn(
    "openFifoReaderSync",
    sysipc.openFifoReaderSync,
    a("path", path(fifoPath)),
    a(
      "options",
      options({ nonBlocking: bool, persistent: bool, timeout }, () => ({ nonBlocking: true })),
      true,
    ),
  ),
  fn(
    "openFifoWriter",
    sysipc.openFifoWriter,
    a("path", path(fifoPath)),
    a(
      "options",
      options({ ...wait().fields, nonBlocking: bool }, () => ({ nonBlocking: true })),
      true,
    ),
  ),
  fn(
    "openFifoWriterSync",
    sysipc.openFifoWriterSync,
    a("path", path(fifoPath)),
    a("options", options({ nonBlocking: bool, timeout }, () => ({ nonBlocking: true })), true),
  ),
  // shm
  fn("ftok", sysipc.ftok, a("path", path(() => "/tmp")), a("projectId", int(1, 255))),
  fn(
    "memfd",
    sysipc.memfd,
    a("name", text("m", true)),
    a("size", size),
    a(
      "options",
      options({
        seals: arrayOf(oneOf("seal", "shrink", "grow", "write"), () => []),
        inheritable: bool,
      }),
      true,
    ),
  ),
  ctor("SharedMemory", sysipc.SharedMemory, ...anyCtor),
  fn(
    "SharedMemory.open",
    (n: unknown, o: unknown) => sysipc.SharedMemory.open(n as string, o as never),
    a("name", posixName),
    a(
      "options",
      options({ ...create, size, readOnly: bool }, () => ({ create: true, size: 4096 })),
      true,
    ),
  ),
  fn(
    "SharedMemory.fromFd",
    (f: unknown, o: unknown) => sysipc.SharedMemory.fromFd(f as number, o as never),
    a("fd", fdOf("SharedMemory")),
    a("options", borrowed({ readOnly: bool }), true),
  ),
  fn(
    "SharedMemory.unlink",
    (n: unknown) => sysipc.SharedMemory.unlink(n as string),
    a("name", posixName),
  ),
  ...fdHandle("SharedMemory"),
  ...mapped("SharedMemory"),
  getter("SharedMemory", "kind"),
  getter("SharedMemory", "name"),
  getter("SharedMemory", "seals"),
  method(
    "SharedMemory",
    "addSeals",
    a("seals", arrayOf(oneOf("seal", "shrink", "grow", "write"), () => [])),
  ),
  closedOk(method("SharedMemory", "unlink")),
  ctor("MappedFd", sysipc.MappedFd, ...anyCtor),
  ctor("MappedFile", sysipc.MappedFile, ...anyCtor),
  fn(
    "MappedFile.open",
    (p: unknown, o: unknown) => sysipc.MappedFile.open(p as string, o as never),
    a("path", path(filePath)),
    a("options", options({ ...create, size, readOnly: bool }), true),
  ),
  ...fdHandle("MappedFile"),
  ...mapped("MappedFile"),
  getter("MappedFile", "kind"),
  getter("MappedFile", "path"),
  method("MappedFile", "sync", a("options", options({ async: bool }), true)),
  ctor("SysVSharedMemory", sysipc.SysVSharedMemory, ...anyCtor),
  fn(
    "SysVSharedMemory.get",
    (k: unknown, o: unknown) => sysipc.SysVSharedMemory.get(k as number, o as never),
    a("key", key),
    a("options", options({ ...create, size }, () => ({ create: true, size: 4096 })), true),
  ),
  getter("SysVSharedMemory", "id"),
  getter("SysVSharedMemory", "key"),
  getter("SysVSharedMemory", "closed"),
  method("SysVSharedMemory", "attach", a("options", options({ readOnly: bool }), true)),
  closedOk(method(
    "SysVSharedMemory",
    "detach",
    a("bytes", {
      hostile: [...into.hostile, h("a Uint8Array it never attached", () => new Uint8Array(8))],
      valid: () => undefined,
    }, true),
  )),
  method("SysVSharedMemory", "stat"),
  method("SysVSharedMemory", "remove"),
  closedOk(method("SysVSharedMemory", "close")),
  ctor("ShmChannel", sysipc.ShmChannel, ...anyCtor),
  fn(
    "ShmChannel.create",
    (n: unknown, o: unknown) => sysipc.ShmChannel.create(n as string, o as never),
    a("name", posixName),
    a(
      "options",
      options(
        { slots: int(1, 2 ** 20, 4), slotSize: int(1, 2 ** 30, 64), mode },
        () => ({ slots: 4, slotSize: 64 }),
      ),
    ),
  ),
  fn("ShmChannel.open", (n: unknown) => sysipc.ShmChannel.open(n as string), a("name", posixName)),
  fn(
    "ShmChannel.unlink",
    (n: unknown) => sysipc.ShmChannel.unlink(n as string),
    a("name", posixName),
  ),
  ...["name", "slots", "slotSize", "closed", "lost"].map((g) => getter("ShmChannel", g)),
  method("ShmChannel", "send", a("data", data), a("options", waitOnly, true)),
  method("ShmChannel", "sendSync", a("data", data), a("options", syncWait, true)),
  method("ShmChannel", "trySend", a("data", data)),
  method("ShmChannel", "reserve", a("options", waitOnly, true)),
  method("ShmChannel", "reserveSync", a("options", syncWait, true)),
  method("ShmChannel", "tryReserve"),
  method("ShmChannel", "receive", a("options", waitOnly, true)),
  method("ShmChannel", "receiveSync", a("options", syncWait, true)),
  method("ShmChannel", "tryReceive"),
  method("ShmChannel", "receiveInto", a("into", into), a("options", waitOnly, true)),
  method("ShmChannel", "receiveIntoSync", a("into", into), a("options", syncWait, true)),
  method("ShmChannel", "tryReceiveInto", a("into", into)),
  method("ShmChannel", "receiveView", a("options", waitOnly, true)),
  method("ShmChannel", "receiveViewSync", a("options", syncWait, true)),
  method("ShmChannel", "tryReceiveView"),
  closedOk(method("ShmChannel", "unlink")),
  closedOk(method("ShmChannel", "close")),
  ctor("ShmSlot", sysipc.ShmSlot, ...anyCtor),
  getter("ShmSlot", "bytes"),
  method("ShmSlot", "commit", a("length", int(0, 64))),
  closedOk(method("ShmSlot", "cancel")),
  ctor("ShmMessage", sysipc.ShmMessage, ...anyCtor),
  getter("ShmMessage", "bytes"),
  closedOk(method("ShmMessage", "release")),
  // signal
  fn(
    "kill",
    sysipc.kill,
    a("pid", int(1, 2 ** 31 - 1, () => process.pid)),
    a("signal", signal(true)),
    a("options", options({ group: bool, everyone: bool }), true),
  ),
  fn(
    "killGroup",
    sysipc.killGroup,
    a("pgid", int(0, 2 ** 31 - 1, () => sysipc.getpgid())),
    a("signal", signal(true)),
  ),
  fn(
    "sigqueue",
    sysipc.sigqueue,
    a("pid", int(1, 2 ** 31 - 1, () => process.pid)),
    a("signal", signal(true)),
    a("value", int(-(2 ** 31), 2 ** 31 - 1, 0)),
  ),
  fn("getpgid", sysipc.getpgid, a("pid", int(0, 2 ** 31 - 1, 0), true)),
  fn(
    "setpgid",
    sysipc.setpgid,
    a("pid", int(0, 2 ** 31 - 1, 0), true),
    a("pgid", int(0, 2 ** 31 - 1, 0), true),
  ),
  fn("signalName", sysipc.signalName, a("signal", int(1, 64, 15))),
  fn(
    "signalNumber",
    sysipc.signalNumber,
    a("signal", {
      hostile: signal(false).hostile.filter((v) => v.label !== "0"),
      valid: () => "SIGTERM",
    }),
  ),
  ctor("PidFd", sysipc.PidFd, ...anyCtor),
  fn(
    "PidFd.open",
    (p: unknown) => sysipc.PidFd.open(p as number),
    a("pid", int(1, 2 ** 31 - 1, () => process.pid)),
  ),
  ...fdHandle("PidFd"),
  getter("PidFd", "kind"),
  method("PidFd", "kill", a("signal", signal(true))),
  method(
    "PidFd",
    "sigqueue",
    a("signal", signal(true)),
    a("value", int(-(2 ** 31), 2 ** 31 - 1, 0)),
  ),
  ctor("SignalReceiver", sysipc.SignalReceiver, ...anyCtor),
  fn(
    "SignalReceiver.listen",
    (s: unknown) => sysipc.SignalReceiver.listen(s as never),
    a(
      "signals",
      arrayOf(
        {
          hostile: [
            ...signal(false).hostile,
            h('"SIGKILL"', () => "SIGKILL"),
            h('"SIGSTOP"', () => "SIGSTOP"),
            h('"SIGSEGV"', () => "SIGSEGV"),
            h("SIGRTMAX (sysipc's own)", () => "SIGRTMAX"),
          ],
          valid: () => "SIGRTMIN+6",
        },
        () => ["SIGRTMIN+6"],
        false,
      ),
    ),
  ),
  ...["signals", "closed", "dropped", "capacity"].map((g) => getter("SignalReceiver", g)),
  method("SignalReceiver", "tryReceive"),
  method("SignalReceiver", "receive", a("options", waitOnly, true)),
  method(
    "SignalReceiver",
    "receiveSync",
    a("options", options({ timeout }, () => ({ timeout: 0 })), true),
  ),
  closedOk(method("SignalReceiver", "close")),
  // uds
  fn("socketpair", sysipc.socketpair, a("type", oneOf("stream", "seqpacket", "dgram"), true)),
  fn(
    "listen",
    sysipc.listen,
    a(
      "options",
      options({
        path: path((ctx) => ctx.path("s")),
        abstract: { hostile: NOT_STRING, valid: () => "x" },
        type: oneOf("stream", "seqpacket"),
        mode,
        backlog: int(0, 2 ** 31 - 1, 8),
        passCredentials: bool,
        replaceStale: bool,
      }, (ctx) => ({ path: ctx.path("s") })),
    ),
  ),
  fn(
    "connect",
    sysipc.connect,
    a(
      "options",
      options({
        ...udsAddress.fields,
        ...wait().fields,
        type: oneOf("stream", "seqpacket"),
        passCredentials: bool,
      }, (ctx) => ({ path: ctx.path("nobody") })),
    ),
  ),
  fn(
    "connectSync",
    sysipc.connectSync,
    a(
      "options",
      options({
        ...udsAddress.fields,
        timeout,
        type: oneOf("stream", "seqpacket"),
        passCredentials: bool,
      }, (ctx) => ({ path: ctx.path("nobody") })),
    ),
  ),
  ctor("UnixConnection", sysipc.UnixConnection, ...anyCtor),
  fn(
    "UnixConnection.fromFd",
    (f: unknown, o: unknown) => sysipc.UnixConnection.fromFd(f as number, o as never),
    a("fd", fdOf("UnixConnection")),
    a("options", borrowed({}), true),
  ),
  ...fdHandle("UnixConnection"),
  ...["kind", "readable", "writable", "passCredentials", "type"].map((g) =>
    getter("UnixConnection", g)
  ),
  setter("UnixConnection", "passCredentials", bool),
  method("UnixConnection", "read", a("into", into), a("options", waitOnly, true)),
  {
    ...method(
      "UnixConnection",
      "readSync",
      a("into", into),
      a("options", options({ timeout }), true),
    ),
    blocks: true,
    prime: fill,
  },
  method("UnixConnection", "write", a("data", data), a("options", waitOnly, true)),
  method("UnixConnection", "writeSync", a("data", data), a("options", options({ timeout }), true)),
  method("UnixConnection", "send", a("data", data), a("options", sendOpts, true)),
  method(
    "UnixConnection",
    "sendSync",
    a("data", data),
    a("options", options({ fds: arrayOf(fd, () => []), timeout }), true),
  ),
  method("UnixConnection", "receive", a("options", recvOpts, true)),
  {
    ...method(
      "UnixConnection",
      "receiveSync",
      a("options", options({ maxSize: int(1, 2 ** 31 - 1), maxFds: int(0, 253), timeout }), true),
    ),
    blocks: true,
    prime: fill,
  },
  method("UnixConnection", "peerCredentials"),
  method("UnixConnection", "shutdown", a("how", oneOf("write", "read", "both"), true)),
  ctor("UnixListener", sysipc.UnixListener, ...anyCtor),
  ...fdHandle("UnixListener"),
  ...["kind", "path", "abstract", "type"].map((g) => getter("UnixListener", g)),
  method("UnixListener", "tryAccept"),
  method("UnixListener", "accept", a("options", waitOnly, true)),
  method(
    "UnixListener",
    "acceptSync",
    a("options", options({ timeout }, () => ({ timeout: 0 })), true),
  ),
  ctor("UnixDatagram", sysipc.UnixDatagram, ...anyCtor),
  fn(
    "UnixDatagram.bind",
    (o: unknown) => sysipc.UnixDatagram.bind(o as never),
    a(
      "options",
      options({
        path: path((ctx) => ctx.path("d")),
        abstract: { hostile: NOT_STRING, valid: () => "x" },
        mode,
        passCredentials: bool,
      }),
      true,
    ),
  ),
  ...fdHandle("UnixDatagram"),
  getter("UnixDatagram", "kind"),
  getter("UnixDatagram", "address"),
  method("UnixDatagram", "connect", a("address", datagramAddress, false, ["path"])),
  method(
    "UnixDatagram",
    "sendTo",
    a("address", datagramAddress, false, ["path"]),
    a("data", data),
    a("options", sendOpts, true),
  ),
  method(
    "UnixDatagram",
    "sendToSync",
    a("address", datagramAddress, false, ["path"]),
    a("data", data),
    a("options", options({ fds: arrayOf(fd, () => []), timeout }), true),
  ),
  method("UnixDatagram", "send", a("data", data), a("options", sendOpts, true)),
  method("UnixDatagram", "receiveFrom", a("options", recvOpts, true)),
  {
    ...method(
      "UnixDatagram",
      "receiveFromSync",
      a("options", options({ maxSize: int(1, 2 ** 31 - 1), maxFds: int(0, 253), timeout }), true),
    ),
    blocks: true,
    prime: (self) => {
      const d = self as sysipc.UnixDatagram;
      if (!d.closed) d.sendToSync(d.address, "x");
    },
  },
  method("UnixDatagram", "receive", a("options", recvOpts, true)),
  // port
  fn(
    "listenPort",
    sysipc.listenPort,
    a("name", posixName),
    a(
      "options",
      options({ mode, backlog: int(0, 2 ** 31 - 1, 8), maxMessageSize: int(64, 2 ** 32 - 1) }),
      true,
    ),
  ),
  fn(
    "connectPort",
    sysipc.connectPort,
    a("name", posixName),
    a("options", wait({ anyUser: bool, maxMessageSize: int(64, 2 ** 32 - 1) }), true),
  ),
  ctor("Port", sysipc.Port, ...anyCtor),
  ...fdHandle("Port"),
  getter("Port", "kind"),
  getter("Port", "peer"),
  method("Port", "postMessage", a("value", cloneable, true), a("transfer", transferList, true)),
  method("Port", "receive", a("options", waitOnly, true)),
  getter("Port", "onmessage"),
  closedOk(setter("Port", "onmessage", handler)),
  getter("Port", "onmessageerror"),
  closedOk(setter("Port", "onmessageerror", handler)),
  ctor("PortListener", sysipc.PortListener, ...anyCtor),
  getter("PortListener", "closed"),
  method("PortListener", "accept", a("options", waitOnly, true)),
  closedOk(method("PortListener", "close")),
  // mq
  ctor("MessageQueue", sysipc.MessageQueue, ...anyCtor),
  fn(
    "MessageQueue.open",
    (n: unknown, o: unknown) => sysipc.MessageQueue.open(n as string, o as never),
    a("name", posixName),
    a(
      "options",
      options({
        ...create,
        maxMessages: int(1, 65536, 4),
        messageSize: int(1, 2 ** 24, 64),
        readOnly: bool,
        writeOnly: bool,
        nonBlocking: bool,
      }, () => ({ create: true, maxMessages: 4, messageSize: 64 })),
      true,
    ),
  ),
  fn(
    "MessageQueue.unlink",
    (n: unknown) => sysipc.MessageQueue.unlink(n as string),
    a("name", posixName),
  ),
  ...fdHandle("MessageQueue"),
  getter("MessageQueue", "kind"),
  getter("MessageQueue", "name"),
  getter("MessageQueue", "nonBlocking"),
  setter("MessageQueue", "nonBlocking", bool),
  closedOk(method("MessageQueue", "unlink")),
  method(
    "MessageQueue",
    "send",
    a("data", data),
    a("options", wait({ priority: int(0, 32767) }), true),
  ),
  method(
    "MessageQueue",
    "sendSync",
    a("data", data),
    a("options", options({ priority: int(0, 32767), timeout }, () => ({ timeout: 0 })), true),
  ),
  method(
    "MessageQueue",
    "trySend",
    a("data", data),
    a("options", options({ priority: int(0, 32767) }), true),
  ),
  method("MessageQueue", "receive", a("options", waitOnly, true)),
  method(
    "MessageQueue",
    "receiveSync",
    a("options", options({ timeout }, () => ({ timeout: 0 })), true),
  ),
  method("MessageQueue", "tryReceive"),
  method("MessageQueue", "attributes"),
  ctor("SysVMessageQueue", sysipc.SysVMessageQueue, ...anyCtor),
  fn(
    "SysVMessageQueue.get",
    (k: unknown, o: unknown) => sysipc.SysVMessageQueue.get(k as number, o as never),
    a("key", key),
    a("options", options(create, () => ({ create: true })), true),
  ),
  fn(
    "SysVMessageQueue.fromId",
    (i: unknown) => sysipc.SysVMessageQueue.fromId(i as number),
    a("id", idOf("SysVMessageQueue")),
  ),
  getter("SysVMessageQueue", "id"),
  getter("SysVMessageQueue", "key"),
  getter("SysVMessageQueue", "closed"),
  method(
    "SysVMessageQueue",
    "send",
    a("type", int(1, 2 ** 53 - 1, 1)),
    a("data", data),
    a("options", waitOnly, true),
  ),
  method(
    "SysVMessageQueue",
    "sendSync",
    a("type", int(1, 2 ** 53 - 1, 1)),
    a("data", data),
    a("options", options({ timeout }, () => ({ timeout: 0 })), true),
  ),
  method("SysVMessageQueue", "trySend", a("type", int(1, 2 ** 53 - 1, 1)), a("data", data)),
  method("SysVMessageQueue", "receive", a("options", wait(sysvSelection), true)),
  method(
    "SysVMessageQueue",
    "receiveSync",
    a("options", options({ ...sysvSelection, timeout }, () => ({ timeout: 0 })), true),
  ),
  method("SysVMessageQueue", "tryReceive", a("options", options(sysvSelection), true)),
  method("SysVMessageQueue", "stat"),
  method(
    "SysVMessageQueue",
    "set",
    a(
      "changes",
      options({
        mode,
        uid: int(0, 2 ** 32 - 2, () => process.getuid?.() ?? 0),
        gid: int(0, 2 ** 32 - 2, () => process.getgid?.() ?? 0),
        maxBytes: int(0, 2 ** 31 - 1, 16384),
      }),
    ),
  ),
  method("SysVMessageQueue", "remove"),
  closedOk(method("SysVMessageQueue", "close")),
  // sem
  ctor(
    "EventFd",
    sysipc.EventFd,
    a("options", options({ initial: int(0, 2 ** 32 - 1), semaphore: bool }), true),
  ),
  fn(
    "EventFd.fromFd",
    (f: unknown, o: unknown) => sysipc.EventFd.fromFd(f as number, o as never),
    a("fd", fdOf("EventFd")),
    a("options", borrowed({}), true),
  ),
  ...fdHandle("EventFd"),
  getter("EventFd", "kind"),
  method("EventFd", "signal", a("n", int(0, Number.MAX_SAFE_INTEGER, 1), true)),
  method("EventFd", "wait", a("options", waitOnly, true)),
  method("EventFd", "waitSync", a("options", syncWait, true)),
  ctor("Semaphore", sysipc.Semaphore, ...anyCtor),
  fn(
    "Semaphore.open",
    (n: unknown, o: unknown) => sysipc.Semaphore.open(n as string, o as never),
    a("name", posixName),
    a(
      "options",
      options({ ...create, value: int(0, 2 ** 31 - 1) }, () => ({ create: true })),
      true,
    ),
  ),
  fn(
    "Semaphore.unlink",
    (n: unknown) => sysipc.Semaphore.unlink(n as string),
    a("name", posixName),
  ),
  getter("Semaphore", "name"),
  getter("Semaphore", "closed"),
  getter("Semaphore", "value"),
  method("Semaphore", "acquire", a("options", waitOnly, true)),
  method("Semaphore", "acquireSync", a("options", syncWait, true)),
  method("Semaphore", "tryAcquire"),
  method("Semaphore", "release"),
  closedOk(method("Semaphore", "unlink")),
  closedOk(method("Semaphore", "close")),
  ctor("Permit", sysipc.Permit, ...anyCtor),
  getter("Permit", "released"),
  closedOk(method("Permit", "release")),
  ctor("SysVSemaphoreSet", sysipc.SysVSemaphoreSet, ...anyCtor),
  fn(
    "SysVSemaphoreSet.get",
    (k: unknown, o: unknown) => sysipc.SysVSemaphoreSet.get(k as number, o as never),
    a("key", key),
    a(
      "options",
      options({ ...create, count: int(1, 32000, 1) }, () => ({ create: true, count: 1 })),
      true,
    ),
  ),
  fn(
    "SysVSemaphoreSet.fromId",
    (i: unknown) => sysipc.SysVSemaphoreSet.fromId(i as number),
    a("id", idOf("SysVSemaphoreSet")),
  ),
  getter("SysVSemaphoreSet", "id"),
  getter("SysVSemaphoreSet", "count"),
  getter("SysVSemaphoreSet", "closed"),
  method("SysVSemaphoreSet", "op", a("ops", semOps), a("options", waitOnly, true)),
  method("SysVSemaphoreSet", "opSync", a("ops", semOps), a("options", syncWait, true)),
  method("SysVSemaphoreSet", "tryOp", a("ops", semOps)),
  method("SysVSemaphoreSet", "getValue", a("index", int(0, 1))),
  method("SysVSemaphoreSet", "setValue", a("index", int(0, 1)), a("value", int(0, 32767))),
  method("SysVSemaphoreSet", "values"),
  method("SysVSemaphoreSet", "setValues", a("values", arrayOf(int(0, 32767), () => [0, 0], false))),
  method("SysVSemaphoreSet", "waitingCount", a("index", int(0, 1))),
  method("SysVSemaphoreSet", "zeroWaitingCount", a("index", int(0, 1))),
  method("SysVSemaphoreSet", "lastPid", a("index", int(0, 1))),
  method("SysVSemaphoreSet", "stat"),
  method("SysVSemaphoreSet", "remove"),
  closedOk(method("SysVSemaphoreSet", "close")),
  ctor("RobustMutex", sysipc.RobustMutex, ...anyCtor),
  fn(
    "RobustMutex.init",
    (m: unknown) => sysipc.RobustMutex.init(m as never),
    a("memory", mutexMemory),
  ),
  fn(
    "RobustMutex.from",
    (m: unknown) => sysipc.RobustMutex.from(m as never),
    a("memory", mutexMemory),
  ),
  ctor("MutexGuard", sysipc.MutexGuard, ...anyCtor),
  // errors, engine, platform
  ctor(
    "IpcError",
    sysipc.IpcError,
    a(
      "init",
      options({
        errno: int(0, 4095, 1),
        syscall: label,
        path: label,
        detail: label,
      }, () => ({ errno: 1, syscall: "x" })),
    ),
  ),
  fn(
    "IpcError.closed",
    (w: unknown, s: unknown) => sysipc.IpcError.closed(w as string, s as string),
    a("what", label),
    a("syscall", label, true),
  ),
  fn(
    "IpcError.of",
    (c: unknown, s: unknown, p: unknown, d: unknown) =>
      sysipc.IpcError.of(c as string, s as string, p as string, d as string),
    a("code", { hostile: [...NOT_STRING, h('"ENOPE"', () => "ENOPE")], valid: () => "EAGAIN" }),
    a("syscall", label, true),
    a("path", label, true),
    a("detail", label, true),
  ),
  fn("waitEngine", sysipc.waitEngine),
  // the raw layer's helpers
  fn("posixName", ffi.posixName, a("name", posixName)),
  fn("sysvKey", ffi.sysvKey, a("key", key)),
  fn("errnoName", ffi.errnoName, a("errno", int(0, 4095, 11))),
  fn(
    "errnoNumber",
    ffi.errnoNumber,
    a("code", { hostile: [...NOT_STRING, h('"ENOPE"', () => "ENOPE")], valid: () => "EAGAIN" }),
  ),
  fn(
    "cString",
    ffi.cString,
    a("text", text("x")),
    a("what", { hostile: [], valid: () => "text" }, true),
  ),
  fn("stableCString", ffi.stableCString, a("text", { hostile: NOT_STRING, valid: () => "x" })),
  fn(
    "check",
    ffi.check,
    a("result", { hostile: [], valid: () => 0 }, true),
    a("syscall", label, true),
    a("path", label, true),
  ),
  fn(
    "checkCode",
    ffi.checkCode,
    a("code", int(0, 4095, 0)),
    a("syscall", label, true),
    a("path", label, true),
  ),
  fn(
    "checkRetry",
    ffi.checkRetry,
    a("call", {
      hostile: NOT_STRING.filter((v) => v.label !== "a function"),
      valid: () => () => 0,
    }),
    a("syscall", label, true),
    a("path", label, true),
  ),
  fn(
    "retryWithDeadline",
    ffi.retryWithDeadline,
    a("call", {
      hostile: NOT_STRING.filter((v) => v.label !== "a function"),
      valid: () => () => 0,
    }),
    a(
      "timeout",
      { hostile: timeout.hostile.filter((v) => v.label !== "null"), valid: () => 0 },
      true,
    ),
    a("syscall", label, true),
    a("path", label, true),
  ),
  fn(
    "retryWithTimer",
    ffi.retryWithTimer,
    a("call", {
      hostile: NOT_STRING.filter((v) => v.label !== "a function"),
      valid: () => () => 0,
    }),
    a("timeout", { ...timeout, hostile: [...timeout.hostile, h("0", () => 0)], valid: () => 1 }),
    a("syscall", label, true),
    a("path", label, true),
  ),
  fn(
    "setWaitSpin",
    ffi.setWaitSpin,
    a("microseconds", {
      hostile: int(0, 100_000).hostile.filter((v) => v.label !== "a fraction"),
      valid: () => 1000,
    }),
  ),
  fn("errno", ffi.errno),
  fn("ftok (ffi)", ffi.ftok, a("path", path(() => "/tmp")), a("projectId", int(1, 255))),
];

/**
 * Exports that are not functions to call, each with why the sweep leaves it out: data, and
 * the raw layer's `libc` table, whose functions take raw pointers by design (the `./ffi`
 * entry point is documented as unsafe).
 */
export const NOT_CALLED: Record<string, string> = {
  platform: "data: a frozen description of the platform",
  C: "data: constants",
  linux: "data: constants",
  layouts: "data: struct layouts",
  symbols: "data: the symbol table",
  LIBC_CANDIDATES: "data",
  LIBRT: "data",
  libcPath: "data",
  libc: "the raw C functions: they take raw pointers, unsafe by design (ffi is the unsafe layer)",
  runtime: "the raw runtime shim: pointers and memory views, unsafe by design",
};

/**
 * Members of exported classes the sweep does not call, with why: TypeScript-protected
 * members that only subclasses use.
 */
export const NOT_CALLED_MEMBERS: Record<string, string> = {
  "RobustMutex.SIZE": "data: a constant",
  "RobustMutex#tryLock": "covered by tests/robust_mutex_test.ts (not yet in the sweep)",
  "RobustMutex#lockSync": "covered by tests/robust_mutex_test.ts (not yet in the sweep)",
  "RobustMutex#lock": "covered by tests/robust_mutex_test.ts (not yet in the sweep)",
  "MutexGuard#get held": "covered by tests/robust_mutex_test.ts (not yet in the sweep)",
  "MutexGuard#consistent": "covered by tests/robust_mutex_test.ts (not yet in the sweep)",
  "MutexGuard#release": "covered by tests/robust_mutex_test.ts (not yet in the sweep)",
  "FdHandle#use": "protected: for subclasses",
  "FdHandle#readyTarget": "protected: for subclasses",
  "FdHandle#readInto": "protected: for subclasses",
  "FdHandle#holdFd": "protected: for subclasses",
  "MappedFd#msync": "protected: for subclasses",
};

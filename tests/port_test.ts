/**
 * The port module within one process: every kind of value on both paths, what cannot be
 * sent, transfers, names, modes, receiving and closing, back-pressure, and hostile peers
 * (malformed frames from a raw socket, bounded allocation, random corruption).
 */
import assert from "node:assert/strict";
import { execFile, spawn as spawnChild } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { describe, it } from "node:test";
import { C } from "../ffi/constants.ts";
import { check, libc } from "../ffi/libc.ts";
import { pipe, PipeReader, PipeWriter } from "../pipe/mod.ts";
import { Encoder } from "../port/codec.ts";
import { connectPort, listenPort, type Port, type PortListenOptions } from "../port/mod.ts";
import { CROSSOVER, setCrossover } from "../port/port.ts";
import { EventFd } from "../sem/mod.ts";
import { memfd, SharedMemory } from "../shm/mod.ts";
import { connect, socketpair, UnixConnection } from "../uds/mod.ts";
import { hasCommand, isCode, noLeak, readAll, sleep, uniqueName } from "./helpers.ts";
import { corpusValue } from "./port_helpers.ts";

const TIMEOUT = { timeout: 10_000 };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A connected pair of ports in this process. */
async function pair(options?: PortListenOptions): Promise<[Port, Port] & Disposable> {
  const name = `/${uniqueName("port")}`;
  using listener = listenPort(name, options);
  const [a, b] = await Promise.all([connectPort(name, TIMEOUT), listener.accept(TIMEOUT)]);
  return Object.assign([a, b] as [Port, Port], {
    [Symbol.dispose]() {
      a.close();
      b.close();
    },
  });
}

/** Runs a program to completion without blocking the event loop. */
function run(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: 10_000 },
      (_, stdout, stderr) => resolve({ stdout, stderr }),
    );
  });
}

/** Nothing arrived at `port`. */
async function nothingArrived(port: Port): Promise<void> {
  await sleep(20);
  await assert.rejects(port.receive({ timeout: 0 }), isCode("EAGAIN"));
}

describe("port: values", () => {
  it("every kind of value arrives deep-equal and in order, on the socket and in the ring", () =>
    noLeak(async () => {
      using ports = await pair();
      const [a, b] = ports;
      const received = (async () => {
        for (let i = 0; i < 1000; i++) {
          assert.deepStrictEqual(await b.receive(TIMEOUT), corpusValue(i));
        }
      })();
      for (let i = 0; i < 1000; i++) await a.postMessage(corpusValue(i));
      await received;
      // The large ones went through a ring: a memfd both ends map.
      const rings = readFileSync("/proc/self/maps", "utf8").match(/memfd:sysipc-port/g);
      assert.equal(rings?.length, 2, "a's ring, mapped by a and by b");
      // A burst (no await between sends) goes out together, in order.
      for (let i = 0; i < 2000; i++) void a.postMessage({ i });
      for (let i = 0; i < 2000; i++) assert.deepStrictEqual(await b.receive(TIMEOUT), { i });
    }));

  it("shared references stay shared, and views of one buffer share one buffer", async () => {
    using ports = await pair();
    const [a, b] = ports;
    const buffer = new ArrayBuffer(16);
    const shared = { x: 1 };
    await a.postMessage({
      one: shared,
      two: shared,
      views: [new Uint8Array(buffer, 4), new DataView(buffer)],
    });
    const got = (await b.receive(TIMEOUT)) as {
      one: object;
      two: object;
      views: [Uint8Array, DataView];
    };
    assert.equal(got.one, got.two);
    assert.equal(got.views[0].buffer, got.views[1].buffer);
    assert.equal(got.views[0].byteOffset, 4);
    assert.equal(got.views[0].buffer.byteLength, 16, "the whole buffer, as structuredClone");
  });

  it("what cannot be sent throws a DataCloneError naming it, and nothing is sent", async () => {
    using ports = await pair();
    const [a, b] = ports;
    const [reader, writer] = pipe();
    class Point {
      x = 1;
    }
    const bad: [unknown, RegExp][] = [
      [() => 1, /a function cannot be sent/],
      [{ deep: [1, { f: Symbol("s") }] }, /a symbol cannot be sent \(at value\.deep\[1\]\.f\)/],
      [new Proxy({}, {}), /a Proxy cannot be sent/],
      [new Point(), /an instance of Point cannot be sent/],
      [new WeakMap(), /WeakMap cannot be sent/],
      [new SharedArrayBuffer(8), /SharedArrayBuffer/],
      [{ w: writer }, /PipeWriter is sent only when it is listed in transfer/],
      [{
        get g() {
          return 1;
        },
      }, /"g" is a getter/],
      [
        (() => {
          let v: unknown = 0;
          for (let i = 0; i < 1500; i++) v = [v];
          return v;
        })(),
        /nested deeper than 1000/,
      ],
    ];
    for (const [value, message] of bad) {
      assert.throws(
        () => a.postMessage(value),
        (e: unknown) =>
          e instanceof TypeError && (e as { code?: string }).code === "DataCloneError" &&
          message.test(e.message),
        String(message),
      );
    }
    await nothingArrived(b);
    assert.ok(!writer.closed);
    reader.close();
    writer.close();
    await a.postMessage("still works");
    assert.equal(await b.receive(TIMEOUT), "still works");
  });

  it("sending runs none of the value's code: getters, toJSON, proxy traps, patched built-ins", async () => {
    using ports = await pair();
    const [a, b] = ports;
    let ran = 0;
    const trap = () => {
      ran++;
      throw new Error("trap");
    };
    const proxy = new Proxy({}, { get: trap, ownKeys: trap, getPrototypeOf: trap, has: trap });
    assert.throws(() => a.postMessage({ proxy }), /Proxy/);
    assert.throws(() =>
      a.postMessage({
        get secret() {
          ran++;
          return 1;
        },
      }), /getter/);
    assert.throws(() => a.postMessage({ toJSON: () => ran++ }), /function/);
    const original = Map.prototype.forEach;
    const toJSON = Date.prototype.toJSON;
    const flags = Object.getOwnPropertyDescriptor(RegExp.prototype, "global")!;
    Map.prototype.forEach = function () {
      ran++;
    };
    Date.prototype.toJSON = () => String(ran++);
    Object.defineProperty(RegExp.prototype, "global", { get: trap, configurable: true });
    try {
      await a.postMessage({ map: new Map([[1, 2]]), re: /x/g, at: new Date(5) });
    } finally {
      Map.prototype.forEach = original;
      Date.prototype.toJSON = toJSON;
      Object.defineProperty(RegExp.prototype, "global", flags);
    }
    assert.equal(ran, 0);
    const got = (await b.receive(TIMEOUT)) as { map: Map<number, number>; re: RegExp; at: Date };
    assert.deepStrictEqual(got.map, new Map([[1, 2]]));
    assert.equal(got.re.flags, "g");
    assert.equal(got.at.getTime(), 5);
  });

  it("a __proto__ key arrives as an own property, never as a prototype", async () => {
    using ports = await pair();
    const [a, b] = ports;
    await a.postMessage(JSON.parse('{"__proto__": {"polluted": true}, "toString": 1}'));
    const got = (await b.receive(TIMEOUT)) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(got), Object.prototype);
    assert.ok(Object.hasOwn(got, "__proto__"));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(got.toString, 1);
  });

  it("a message larger than the peer accepts throws a RangeError before anything is sent", async () => {
    const name = `/${uniqueName("port-small")}`;
    using listener = listenPort(name, { maxMessageSize: 1024 });
    const [a, b] = await Promise.all([connectPort(name, TIMEOUT), listener.accept(TIMEOUT)]);
    assert.throws(() => a.postMessage(new Uint8Array(2000)), RangeError);
    await a.postMessage(new Uint8Array(900));
    assert.equal(((await b.receive(TIMEOUT)) as Uint8Array).length, 900);
    a.close();
    b.close();
  });
});

describe("port: transfer", () => {
  it("each kind of handle arrives as a working handle of its kind; the sender's is closed", () =>
    noLeak(async () => {
      using ports = await pair();
      const [a, b] = ports;
      const [r1, w1] = pipe();
      const [r2, w2] = pipe();
      const shm = memfd("port-transfer", 4096);
      shm.bytes[0] = 42;
      const readOnly = SharedMemory.fromFd(check(libc.fcntl(shm.fd, C.F_DUPFD_CLOEXEC, 0), "dup"), {
        readOnly: true,
      });
      const [near, far] = socketpair("seqpacket");
      const efd = new EventFd();
      const [rawRead, rawWrite] = pipe();
      const raw = check(libc.fcntl(rawWrite.fd, C.F_DUPFD_CLOEXEC, 0), "dup");
      rawWrite.close();
      const buffer = new Uint8Array([1, 2, 3]).buffer;
      const value = { r1, w2, shm, readOnly, far, efd, raw, again: raw, buffer };
      await a.postMessage(value, [r1, w2, shm, readOnly, far, efd, raw, buffer]);
      for (const h of [r1, w2, shm, readOnly, far, efd]) assert.ok(h.closed);
      assert.ok(libc.fcntl(raw, C.F_GETFD, 0) < 0, "the raw descriptor is closed");
      assert.equal(buffer.byteLength, 0, "a transferred ArrayBuffer is detached");
      const got = (await b.receive(TIMEOUT)) as typeof value;
      assert.ok(got.r1 instanceof PipeReader && got.w2 instanceof PipeWriter);
      assert.ok(got.shm instanceof SharedMemory && got.readOnly instanceof SharedMemory);
      assert.ok(got.far instanceof UnixConnection && got.efd instanceof EventFd);
      assert.equal(typeof got.raw, "number");
      assert.equal(got.again, got.raw);
      assert.deepStrictEqual(new Uint8Array(got.buffer), new Uint8Array([1, 2, 3]));
      await w1.write("into r1");
      w1.close();
      assert.equal(await readAll(got.r1), "into r1");
      await got.w2.write("from w2");
      got.w2.close();
      assert.equal(await readAll(r2), "from w2");
      assert.equal(got.shm.bytes[0], 42);
      got.shm.bytes[1] = 7;
      assert.equal(got.readOnly.readOnly, true);
      assert.equal(got.readOnly.bytes[1], 7, "the same memory");
      await got.far.send("over the transferred socket");
      assert.equal(text((await near.receive(TIMEOUT))!.data), "over the transferred socket");
      got.efd.signal(3);
      libc.write(got.raw, new Uint8Array([0x41]), 1);
      libc.close(got.raw);
      assert.equal(await readAll(rawRead), "A");
      for (const h of [got.r1, got.shm, got.readOnly, got.far, got.efd, r2, rawRead, near]) {
        h.close();
      }
    }));

  it("transfer refuses what it cannot move, before anything is sent or closed", async () => {
    using ports = await pair();
    const [a, b] = ports;
    const [reader, writer] = pipe();
    const closed = pipe();
    closed[0].close();
    const isClone = (re: RegExp) => (e: unknown) =>
      e instanceof TypeError && (e as { code?: string }).code === "DataCloneError" &&
      re.test(e.message);
    assert.throws(() => a.postMessage({ writer }, [writer, writer]), isClone(/listed twice/));
    assert.throws(() => a.postMessage({}, [writer]), isClone(/in transfer but not in the message/));
    assert.throws(() => a.postMessage({ c: closed[0] }, [closed[0]]), isClone(/closed PipeReader/));
    assert.throws(() => a.postMessage({}, [{ fd: 1 } as never]), isClone(/cannot be transferred/));
    assert.throws(() => a.postMessage({}, "x" as never), TypeError);
    assert.throws(() => a.postMessage(99999, [99999]), isCode("EBADF"));
    assert.throws(() => a.postMessage(-1, [-1]), RangeError);
    const many = Array.from({ length: 254 }, () => reader);
    assert.throws(() => a.postMessage(many, many), /listed twice|at most 253/);
    assert.ok(!reader.closed && !writer.closed);
    await nothingArrived(b);
    reader.close();
    writer.close();
    closed[1].close();
  });
});

describe("port: names, modes and connections", () => {
  it("a name that breaks the rule is refused with a TypeError", () => {
    for (const name of ["", "jobs", "/", "/a/b", "/.", "/..", "/a\0b", `/${"x".repeat(96)}`, 7]) {
      assert.throws(() => listenPort(name as string), TypeError, JSON.stringify(name));
      assert.rejects(connectPort(name as string), TypeError);
    }
    assert.ok(listenPort(`/${"x".repeat(95)}`).close() === undefined, "95 bytes fit");
  });

  it("a name in use is refused; a name nobody listens on is refused", async () => {
    const name = `/${uniqueName("port-taken")}`;
    using listener = listenPort(name);
    assert.throws(() => listenPort(name), isCode("EADDRINUSE"));
    listener.close();
    await assert.rejects(connectPort(name, { timeout: 1000 }), isCode("ECONNREFUSED"));
  });

  const root = process.getuid?.() === 0;
  /** setpriv's arguments to run a Python program (the next argument) as nobody. */
  const PYTHON_AS_NOBODY = [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "/usr/bin/python3",
    "-c",
  ];
  // The system's Python: one that nobody (uid 65534) may run.
  const setpriv = root && hasCommand("setpriv") && existsSync("/usr/bin/python3");
  it(
    "mode keeps other users out (they are told EACCES and never reach accept), and " +
      "connectPort refuses a listener of another user unless anyUser",
    { skip: setpriv ? false : "needs root, setpriv (util-linux) and python3" },
    async () => {
      const name = `/${uniqueName("port-mode")}`;
      using listener = listenPort(name); // 0o600: this user only
      const refused = run("setpriv", [
        ...PYTHON_AS_NOBODY,
        "import socket,struct,sys\n" +
        "s=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\n" +
        "s.connect('\\0sysipc-port'+sys.argv[1])\n" +
        "d=s.recv(64)\nprint(d[0],struct.unpack_from('<i',d,8)[0])",
        name,
      ]);
      const accepted = listener.accept({ timeout: 5000 }); // the refused client is not it
      const out = await refused;
      assert.equal(out.stdout.trim(), `7 ${13}`, out.stderr); // REFUSE, EACCES
      const [client, server] = await Promise.all([connectPort(name), accepted]);
      assert.equal(server.peer.pid, process.pid);
      client.close();
      server.close();
      // A listener run by another user (nobody):
      const other = `/${uniqueName("port-nobody")}`;
      const child = spawnChild("setpriv", [
        ...PYTHON_AS_NOBODY,
        "import socket,struct,sys\n" +
        "l=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\n" +
        "l.bind('\\0sysipc-port'+sys.argv[1]);l.listen(4);print('ready',flush=True)\n" +
        "for _ in range(2):\n" +
        " c,_=l.accept();c.send(struct.pack('<BBHIIHHI',6,0,0,12,0x54524F50,1,0,1<<20))\n" +
        " c.recv(64);c.close()",
        other,
      ], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise((resolve) => child.stdout!.once("data", resolve));
      await assert.rejects(connectPort(other, TIMEOUT), (e: unknown) => {
        isCode("EACCES")(e);
        return /uid 65534/.test((e as Error).message);
      });
      const port = await connectPort(other, { ...TIMEOUT, anyUser: true });
      assert.equal(port.peer.uid, 65534);
      port.close();
      await new Promise((resolve) => child.on("exit", resolve));
    },
  );

  it(
    root ? "mode 0 still lets root in: root may always connect" : "mode 0 keeps out even this user",
    async () => {
      const name = `/${uniqueName("port-closed")}`;
      using listener = listenPort(name, { mode: 0 });
      if (!root) {
        await assert.rejects(connectPort(name, TIMEOUT), isCode("EACCES"));
        return;
      }
      const [client, server] = await Promise.all([connectPort(name, TIMEOUT), listener.accept()]);
      assert.equal(server.peer.uid, 0);
      client.close();
      server.close();
    },
  );

  it("options of the wrong type or range are refused", async () => {
    assert.throws(() => listenPort("/x", { mode: 0o1000 }), RangeError);
    assert.throws(() => listenPort("/x", { maxMessageSize: 10 }), RangeError);
    assert.throws(() => listenPort("/x", "o" as never), TypeError);
    await assert.rejects(connectPort("/x", { anyUser: 1 as never }), TypeError);
  });
});

describe("port: receiving and closing", () => {
  it("receive honours timeout 0, a timeout, an abort signal, and close", async () => {
    using ports = await pair();
    const [a, b] = ports;
    await assert.rejects(b.receive({ timeout: 0 }), isCode("EAGAIN"));
    await assert.rejects(b.receive({ timeout: 30 }), isCode("ETIMEDOUT"));
    const abort = new AbortController();
    const aborted = b.receive({ signal: abort.signal });
    abort.abort(new Error("stop"));
    await assert.rejects(aborted, /stop/);
    await a.postMessage("after the timeouts");
    assert.equal(await b.receive(TIMEOUT), "after the timeouts", "no message was lost to them");
    const pending = b.receive();
    b.close();
    await assert.rejects(pending, isCode("EBADF"));
    assert.throws(() => b.postMessage(1), isCode("EBADF"));
    assert.throws(() => b.receive(), isCode("EBADF"));
  });

  it("once the peer closes: its messages arrive first, then every receive rejects with EPIPE", async () => {
    using ports = await pair();
    const [a, b] = ports;
    a.postMessage("one");
    a.postMessage({ two: new Uint8Array(100_000) }); // through the ring
    a.postMessage("three");
    a.close(); // what could be written without waiting went
    const got: unknown[] = [];
    for await (const m of b) got.push(m);
    assert.equal(got.length, 3);
    assert.equal(got[2], "three");
    await Promise.all([
      assert.rejects(b.receive(), isCode("EPIPE")),
      assert.rejects(b.receive(), isCode("EPIPE")),
    ]);
    await assert.rejects(b.postMessage("to nobody"), isCode("EPIPE"));
  });

  it("every pending receive rejects with EPIPE when the peer goes", async () => {
    using ports = await pair();
    const [a, b] = ports;
    const pending = [b.receive(), b.receive(), b.receive()];
    await sleep(10);
    a.close();
    for (const p of pending) await assert.rejects(p, isCode("EPIPE"));
  });

  it("onmessage gets what no receive waits for, in order", async () => {
    using ports = await pair();
    const [a, b] = ports;
    const got: unknown[] = [];
    const done = Promise.withResolvers<void>();
    b.onmessage = (event) => {
      got.push(event.data);
      if (got.length === 50) done.resolve();
    };
    for (let i = 0; i < 50; i++) a.postMessage(i);
    await done.promise;
    b.onmessage = null;
    assert.deepStrictEqual(got, Array.from({ length: 50 }, (_, i) => i));
    await a.postMessage("for receive");
    assert.equal(await b.receive(TIMEOUT), "for receive");
    assert.throws(() => b.onmessage = "x" as never, TypeError);
  });

  it("a sender that outpaces its receiver waits: postMessage resolves only as the receiver reads", async () => {
    using ports = await pair();
    const [a, b] = ports;
    const chunk = new Uint8Array(256 * 1024);
    let queued = 0;
    const sending = (async () => {
      for (let i = 0; i < 64; i++) {
        await a.postMessage(chunk);
        queued++;
      }
    })();
    await sleep(200);
    assert.ok(queued < 32, `the sender waits (it queued ${queued} of 64 × 256 KiB)`);
    for (let i = 0; i < 64; i++) {
      assert.equal(((await b.receive(TIMEOUT)) as Uint8Array).length, chunk.length);
    }
    await sending;
    assert.equal(queued, 64);
  });
  for (const path of ["socket", "ring"] as const) {
    it(`postMessage takes the bytes when it is called, also while they wait for room (${path})`, async () => {
      setCrossover(path === "socket" ? Infinity : CROSSOVER);
      try {
        using ports = await pair();
        const [a, b] = ports;
        // 1.5 MiB: more than the socket or the ring takes at once, so that each message
        // waits with part of it written, and those behind it wait whole.
        const big = new Uint8Array(1536 * 1024);
        const head = new Uint8Array(3000);
        const tail = new Uint8Array(70_000);
        const count = 10;
        const sends: Promise<void>[] = [];
        for (let i = 0; i < count; i++) {
          big.fill(i);
          head.fill(100 + i);
          tail.fill(200 + i);
          sends.push(a.postMessage(i % 2 === 0 ? big : [head, big, tail]));
        }
        big.fill(255);
        head.fill(255);
        tail.fill(255);
        const same = (bytes: unknown, value: number, length: number, what: string) => {
          const array = bytes as Uint8Array;
          assert.equal(array.length, length, what);
          const wrong = array.findIndex((v) => v !== value);
          assert.equal(wrong, -1, `${what}: byte ${wrong} is ${array[wrong]}, not ${value}`);
        };
        for (let i = 0; i < count; i++) {
          const m = await b.receive(TIMEOUT);
          if (i % 2 === 0) same(m, i, big.length, `message ${i}`);
          else {
            const [h, m2, t] = m as Uint8Array[];
            same(h, 100 + i, head.length, `message ${i}, first array`);
            same(m2, i, big.length, `message ${i}, second array`);
            same(t, 200 + i, tail.length, `message ${i}, third array`);
          }
        }
        await Promise.all(sends);
      } finally {
        setCrossover(CROSSOVER);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
// Hostile peers

const HELLO = new Uint8Array([
  6,
  0,
  0,
  0,
  12,
  0,
  0,
  0,
  0x50,
  0x4f,
  0x52,
  0x54,
  1,
  0,
  1,
  0,
  0,
  0,
  0,
  64,
]);

function record(kind: number, payload: Uint8Array | number[], fds = 0): Uint8Array {
  const body = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  const out = new Uint8Array(8 + body.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, kind);
  v.setUint16(2, fds, true);
  v.setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

/** A message whose value stream is `value` (and blob section `blobs`). */
function message(value: number[] | Uint8Array, blobs: number[] = []): Uint8Array {
  const body = value instanceof Uint8Array ? value : new Uint8Array(value);
  const out = new Uint8Array(4 + body.length + blobs.length);
  new DataView(out.buffer).setUint32(0, body.length, true);
  out.set(body, 4);
  out.set(blobs, 4 + body.length);
  return out;
}

/** A port here, and a raw socket at its other end that has said hello. */
async function hostile(
  maxMessageSize?: number,
): Promise<{ port: Port; raw: UnixConnection } & Disposable> {
  const name = `/${uniqueName("port-hostile")}`;
  using listener = listenPort(name, { maxMessageSize });
  const raw = await connect({ abstract: `sysipc-port${name}`, type: "seqpacket" });
  raw.sendSync(HELLO);
  const port = await listener.accept(TIMEOUT);
  assert.equal((await raw.receive(TIMEOUT))!.data[0], 6, "the port's hello");
  return {
    port,
    raw,
    [Symbol.dispose]() {
      port.close();
      raw.close();
    },
  };
}

const isProto = isCode("EPROTO");

describe("port: hostile peers", () => {
  it("malformed values are refused with EPROTO one message at a time; the stream goes on", () =>
    noLeak(async () => {
      using h = await hostile();
      const S = 0x53;
      const cases: [string, Uint8Array][] = [
        ["unknown tag", message([0xee])],
        ["array of 2^31 − 1 in 6 bytes", message([0x61, 0xff, 0xff, 0xff, 0xff, 0x07])],
        ["string of 1 GB", message([S, 0x80, 0x80, 0x80, 0x80, 0x04])],
        ["inline buffer of 1 GB", message([0x42, 0x80, 0x80, 0x80, 0x80, 0x04])],
        ["blob beyond the blob section", message([0x62, 0x10], [1, 2])],
        ["blob section left over", message([0x5f], [1, 2, 3])],
        ["varuint of 6 bytes", message([0x49, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])],
        ["varuint over 32 bits", message([0x49, 0xff, 0xff, 0xff, 0xff, 0x1f])],
        ["forward reference", message([0x61, 2, 0x72, 5, 0x30])],
        ["handle without descriptors", message([0x48, 1, 0, 0])],
        ["invalid UTF-8", message([S, 2, 0xc3, 0x28])],
        ["trailing bytes", message([0x30, 0x30])],
        ["misaligned Float64Array", message([0x56, 9, 3, 1, 0x42, 16, ...new Array(16).fill(0)])],
        ["view beyond its buffer", message([0x56, 2, 0, 9, 0x42, 4, 0, 0, 0, 0])],
        ["view of a non-buffer", message([0x56, 2, 0, 0, 0x30])],
        ["unknown error kind", message([0x21, 99, 0])],
        ["BigInt sign 2", message([0x5a, 2, 0])],
        ["key that is no string", message([0x6f, 1, 0x49, 2, 0x30])],
        ["value stream longer than its message", new Uint8Array([9, 0, 0, 0, 0x30])],
        ["message shorter than its length", new Uint8Array([1, 0])],
        ["nested 2000 deep", message([...new Array(2000).fill([0x61, 1]).flat(), 0x30])],
        ["bad RegExp flags", message([0x52, S, 1, 0x78, S, 2, 0x67, 0x67])],
      ];
      for (const [what, bytes] of cases) {
        h.raw.sendSync(record(1, bytes));
        h.raw.sendSync(record(1, message([S, 2, 0x6f, 0x6b]))); // "ok"
        await assert.rejects(h.port.receive(TIMEOUT), isProto, what);
        assert.equal(await h.port.receive(TIMEOUT), "ok", `the stream goes on after: ${what}`);
      }
      // With onmessage set, onmessageerror hears of the malformed one.
      const heard: unknown[] = [];
      const done = Promise.withResolvers<void>();
      h.port.onmessageerror = (event) => heard.push(event.error);
      h.port.onmessage = (event) => {
        heard.push(event.data);
        done.resolve();
      };
      h.raw.sendSync(record(1, message([0xee])));
      h.raw.sendSync(record(1, message([S, 2, 0x6f, 0x6b])));
      await done.promise;
      h.port.onmessage = null;
      assert.equal(heard.length, 2);
      isProto(heard[0]);
      assert.equal(heard[1], "ok");
    }));

  it("broken framing is refused with EPROTO, and so is everything after it", async () => {
    const breaks: [string, (raw: UnixConnection) => void][] = [
      ["unknown record kind", (raw) => raw.sendSync(record(99, []))],
      [
        "record longer than its datagram",
        (raw) => raw.sendSync(record(1, message([0x30])).subarray(0, 10)),
      ],
      ["part with no message begun", (raw) => raw.sendSync(record(3, [1, 2, 3]))],
      ["switch to a ring never offered", (raw) => raw.sendSync(record(4, []))],
      ["descriptors no record claims", (raw) => {
        const [r, w] = pipe();
        raw.sendSync(record(1, message([0x30])), { fds: [r] });
        r.close();
        w.close();
      }],
      [
        "record claiming descriptors that did not come",
        (raw) => raw.sendSync(record(1, message([0x30]), 2)),
      ],
      ["a ring that is not a sealed memfd", (raw) => {
        const [r, w] = pipe();
        raw.sendSync(record(5, [], 1), { fds: [r] });
        r.close();
        w.close();
      }],
      [
        "a begun message larger than this side accepts",
        (raw) => raw.sendSync(record(2, [0, 0, 0, 0x40, 1, 2])),
      ],
      ["a datagram over 64 KiB", (raw) => raw.sendSync(record(1, message(new Uint8Array(70_000))))],
    ];
    for (const [what, send] of breaks) {
      await noLeak(async () => {
        using h = await hostile(1 << 28);
        send(h.raw);
        h.raw.sendSync(record(1, message([0x30])));
        await assert.rejects(h.port.receive(TIMEOUT), isProto, what);
        await assert.rejects(h.port.receive(TIMEOUT), isProto, `still, after: ${what}`);
      });
    }
  });

  it("a frame's stated size bounds what is allocated, never more than what arrived", async () => {
    using h = await hostile();
    const before = process.memoryUsage().rss;
    // A 512 MiB message whose value stream claims all of it; 64 KiB of it ever arrives.
    const begin = new Uint8Array(4 + 4 + 1000);
    new DataView(begin.buffer).setUint32(0, 512 << 20, true);
    new DataView(begin.buffer).setUint32(4, (512 << 20) - 4, true);
    h.raw.sendSync(record(2, begin));
    for (let i = 0; i < 64; i++) h.raw.sendSync(record(3, new Uint8Array(1000)));
    await assert.rejects(h.port.receive({ timeout: 300 }), isCode("ETIMEDOUT"));
    const grown = process.memoryUsage().rss - before;
    assert.ok(grown < 64 << 20, `rss grew by ${grown >> 20} MiB for 64 KiB received`);
    h.raw.close();
    await assert.rejects(h.port.receive(TIMEOUT), isCode("EPIPE"));
  });

  it("randomly corrupted messages never crash the receiver: each is a value or EPROTO", async () => {
    using h = await hostile();
    const encoder = new Encoder();
    let seed = 12345;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    let values = 0;
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      const end = encoder.encode(corpusValue(i % 200), 4, null);
      const bytes = encoder.bytes.slice(0, end + encoder.blobBytes);
      new DataView(bytes.buffer).setUint32(0, end - 4, true);
      let at = end;
      for (const blob of encoder.blobs) {
        bytes.set(blob, at);
        at += blob.length;
      }
      if (bytes.length > 60_000) continue;
      for (let k = 0; k < 1 + (i % 4); k++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      h.raw.sendSync(record(1, bytes));
      try {
        await h.port.receive(TIMEOUT);
        values++;
      } catch (e) {
        isProto(e);
        refused++;
      }
    }
    assert.ok(refused > 100 && values > 10, `${values} decoded, ${refused} refused`);
  });
});

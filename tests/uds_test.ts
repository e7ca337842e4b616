/**
 * The uds module within one process: every socket type, both address kinds, descriptor
 * passing and its limits, credentials, waits, streams, and bad input. Cross-process and
 * interop tests are in uds_cross_test.ts.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { C } from "../ffi/constants.ts";
import { IpcError } from "../ffi/errors.ts";
import { libc } from "../ffi/libc.ts";
import { pipe, PipeReader, PipeWriter } from "../pipe/mod.ts";
import {
  connect,
  connectSync,
  listen,
  socketpair,
  type SocketType,
  UnixConnection,
  UnixDatagram,
  UnixListener,
} from "../uds/mod.ts";
import { sleep, tempDir, uniqueName } from "./helpers.ts";
import { noSocketLeak } from "./uds_helpers.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const TYPES: SocketType[] = ["stream", "seqpacket", "dgram"];

function isCode(code: string, message?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof IpcError, `expected IpcError ${code}, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  };
}

const isOpen = (fd: number) => libc.fcntl(fd, C.F_GETFD, 0) >= 0;
const closeOnExec = (fd: number) => (libc.fcntl(fd, C.F_GETFD, 0) & C.FD_CLOEXEC) !== 0;

describe("uds: socket pairs", () => {
  for (const type of TYPES) {
    it(`${type}: sync and async reads and writes, and close-on-exec sockets`, () =>
      noSocketLeak(async () => {
        const [a, b] = socketpair(type);
        assert.equal(a.type, type);
        assert.ok(closeOnExec(a.fd) && closeOnExec(b.fd));
        assert.equal(a.writeSync("héllo"), 6);
        const buf = new Uint8Array(64);
        assert.equal(text(buf.subarray(0, b.readSync(buf)!)), "héllo");
        setTimeout(() => b.writeSync(new Uint8Array([1, 2, 3])), 10);
        assert.equal(await a.read(buf), 3);
        assert.deepEqual([...buf.subarray(0, 3)], [1, 2, 3]);
        assert.equal(await a.write("x"), 1);
        assert.equal(await b.read(buf, { timeout: 1000 }), 1);
        a.close();
        b.close();
      }));
  }

  it("stream: end of stream reads null, and a large transfer arrives whole", () =>
    noSocketLeak(async () => {
      const [a, b] = socketpair();
      const data = new Uint8Array(3_000_000).map((_, i) => (i * 7) % 251);
      const writing = a.write(data).then((n) => {
        a.close();
        return n;
      });
      const got = new Uint8Array(data.length);
      let at = 0;
      const buf = new Uint8Array(100_000);
      for (let n; (n = await b.read(buf)) !== null;) {
        got.set(buf.subarray(0, n), at);
        at += n;
      }
      assert.equal(await writing, data.length);
      assert.equal(at, data.length);
      assert.ok(got.every((v, i) => v === data[i]));
      assert.equal(b.readSync(buf), null);
      assert.equal(await b.receive(), null);
      b.close();
    }));

  it("seqpacket: keeps message boundaries, tells an empty message from the end", () =>
    noSocketLeak(async () => {
      const [a, b] = socketpair("seqpacket");
      for (const m of ["one", "", "three", "x".repeat(5000)]) await a.send(m);
      const sizes = [];
      for (let i = 0; i < 4; i++) sizes.push((await b.receive({ timeout: 1000 }))!.data.length);
      assert.deepEqual(sizes, [3, 0, 5, 5000]);
      a.writeSync("abcdef");
      const small = new Uint8Array(4);
      assert.equal(b.readSync(small), 4, "a short read takes part of one message");
      a.writeSync("next");
      assert.equal(text(small.subarray(0, (await b.read(small))!)), "next", "the rest was dropped");
      // Messages queued behind an empty one when the peer leaves are still read.
      const [c, d] = socketpair("seqpacket");
      for (const m of ["", "after", ""]) c.writeSync(m);
      c.close();
      const rest = [];
      for (let m; (m = await d.receive()) !== null;) rest.push(text(m.data));
      assert.deepEqual(rest, ["", "after"], "only the empty message right before the end is lost");
      d.close();
      // An empty message with a descriptor, right before the end, is still delivered.
      const [r, w] = pipe();
      await a.send("", { fds: [r] });
      a.close();
      const last = (await b.receive())!;
      assert.equal(last.data.length, 0);
      assert.equal(last.fds.length, 1);
      libc.close(last.fds[0]!);
      assert.equal(await b.read(small), null);
      assert.equal(await b.receive(), null);
      for (const h of [b, r, w]) h.close();
    }));

  it("messages longer than maxSize are cut and say so; a stream keeps the rest", () =>
    noSocketLeak(async () => {
      for (const type of ["seqpacket", "dgram"] as const) {
        const [a, b] = socketpair(type);
        a.writeSync("0123456789");
        const m = (await b.receive({ maxSize: 4 }))!;
        assert.equal(text(m.data), "0123");
        assert.equal(m.truncated, true);
        a.writeSync("ok");
        assert.equal((await b.receive({ maxSize: 4 }))!.truncated, false);
        a.close();
        b.close();
      }
      const [a, b] = socketpair();
      a.writeSync("0123456789");
      assert.equal(text((await b.receive({ maxSize: 4 }))!.data), "0123");
      assert.equal(text(b.receiveSync()!.data), "456789");
      a.close();
      b.close();
    }));

  for (const type of TYPES) {
    it(`${type}: passes descriptors both ways; received ones are close-on-exec`, () =>
      noSocketLeak(async () => {
        const [a, b] = socketpair(type);
        const [r, w] = pipe();
        await a.send("fds", { fds: [w, r.fd] });
        const m = (await b.receive())!;
        assert.equal(text(m.data), "fds");
        assert.equal(m.fds.length, 2);
        assert.equal(m.fdsTruncated, false);
        assert.ok(m.fds.every(closeOnExec), "MSG_CMSG_CLOEXEC");
        assert.ok(isOpen(w.fd) && isOpen(r.fd), "the sender's stay open");
        const passedWriter = PipeWriter.fromFd(m.fds[0]!);
        passedWriter.writeSync("through the copy");
        passedWriter.close();
        PipeReader.fromFd(m.fds[1]!).close();
        const buf = new Uint8Array(32);
        assert.equal(text(buf.subarray(0, r.readSync(buf)!)), "through the copy");
        // And back, with the sync forms.
        b.sendSync("back", { fds: [r] });
        const back = a.receiveSync()!;
        assert.equal(back.fds.length, 1);
        libc.close(back.fds[0]!);
        for (const h of [a, b, r, w]) h.close();
      }));
  }

  it("closes the descriptors beyond maxFds and reports the truncation", () =>
    noSocketLeak(async () => {
      const [a, b] = socketpair("seqpacket");
      const [r, w] = pipe();
      const many = Array.from({ length: 5 }, () => w.fd);
      for (const maxFds of [0, 1, 2, 4]) {
        await a.send("x", { fds: many });
        const m = (await b.receive({ maxFds }))!;
        assert.equal(m.fds.length, maxFds, `maxFds ${maxFds}`);
        assert.equal(m.fdsTruncated, true);
        for (const fd of m.fds) libc.close(fd);
      }
      // read() has no room for descriptors: the kernel closes them.
      await a.send("y", { fds: many });
      assert.equal(await b.read(new Uint8Array(8)), 1);
      // The most one message carries.
      const most = Array.from({ length: C.SCM_MAX_FD }, () => r.fd);
      await a.send("z", { fds: most });
      const all = (await b.receive())!;
      assert.equal(all.fds.length, C.SCM_MAX_FD);
      assert.equal(all.fdsTruncated, false);
      for (const fd of all.fds) libc.close(fd);
      for (const h of [a, b, r, w]) h.close();
    }));

  it("reports the peer's credentials, and a message's with passCredentials", () =>
    noSocketLeak(async () => {
      const [a, b] = socketpair("seqpacket");
      const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
      assert.deepEqual(a.peerCredentials(), me);
      assert.equal(b.passCredentials, false);
      await a.send("no credentials");
      assert.equal((await b.receive())!.credentials, undefined);
      b.passCredentials = true;
      assert.equal(b.passCredentials, true);
      const [r, w] = pipe();
      await a.send("with", { fds: [r] });
      const m = (await b.receive({ maxFds: 1 }))!;
      assert.deepEqual(m.credentials, me);
      assert.equal(m.fds.length, 1);
      libc.close(m.fds[0]!);
      // @ts-expect-error: wrong type on purpose
      assert.throws(() => (b.passCredentials = 1), TypeError);
      for (const h of [a, b, r, w]) h.close();
    }));

  it("shutdown ends one direction; the peer reads the end", () =>
    noSocketLeak(async () => {
      const [a, b] = socketpair();
      a.shutdown("write");
      assert.equal(await b.read(new Uint8Array(4)), null);
      b.writeSync("still open this way");
      assert.equal(await a.read(new Uint8Array(64)), 19);
      assert.throws(() => a.writeSync("x"), isCode("EPIPE"));
      // @ts-expect-error: wrong value on purpose
      assert.throws(() => a.shutdown("sideways"), /how must be "read", "write" or "both"/);
      a.shutdown();
      a.close();
      b.close();
    }));
});

describe("uds: waiting", () => {
  it("reads, receives and accepts wait without blocking timers", () =>
    noSocketLeak(async () => {
      using dir = tempDir();
      const [a, b] = socketpair("seqpacket");
      const listener = listen({ path: join(dir.path, "s") });
      let ticks = 0;
      const interval = setInterval(() => ticks++, 5);
      setTimeout(() => a.writeSync("late"), 80);
      setTimeout(() => connectSync({ path: join(dir.path, "s") }).close(), 90);
      const [m, accepted] = await Promise.all([b.receive(), listener.accept()]);
      clearInterval(interval);
      assert.equal(text(m!.data), "late");
      assert.ok(ticks >= 8, `timers ran while waiting: ${ticks} ticks`);
      for (const h of [a, b, accepted, listener]) h.close();
    }));

  it("times out, tries once with timeout 0, aborts, and rejects pending calls on close", () =>
    noSocketLeak(async () => {
      const [a, b] = socketpair("seqpacket");
      const t0 = performance.now();
      await assert.rejects(b.receive({ timeout: 50 }), isCode("ETIMEDOUT"));
      assert.ok(performance.now() - t0 >= 45);
      await assert.rejects(b.read(new Uint8Array(4), { timeout: 0 }), isCode("EAGAIN"));
      await assert.rejects(b.receive({ timeout: 0 }), isCode("EAGAIN"));
      await assert.rejects(b.receive({ signal: AbortSignal.abort("no") }), (e) => e === "no");
      const controller = new AbortController();
      setTimeout(() => controller.abort("later"), 20);
      await assert.rejects(
        b.read(new Uint8Array(4), { signal: controller.signal }),
        (e) => e === "later",
      );
      const pending = b.receive();
      setTimeout(() => b.close(), 10);
      await assert.rejects(pending, isCode("EBADF", /UnixConnection is closed/));
      // Nothing was consumed by the given-up waits.
      a.close();
    }));

  it("writes on one connection never mix; writeSync during one throws EBUSY", () =>
    noSocketLeak(async () => {
      const [a, b] = socketpair();
      const x = a.write(new Uint8Array(500_000).fill(120));
      const y = a.send(new Uint8Array(500_000).fill(121));
      assert.throws(() => a.writeSync("z"), isCode("EBUSY"));
      const reading = new Response(b.readable).arrayBuffer();
      assert.deepEqual(await Promise.all([x, y]), [500_000, 500_000]);
      a.close();
      const got = new Uint8Array(await reading);
      assert.equal(got.length, 1_000_000);
      assert.ok(got.subarray(0, 500_000).every((v) => v === 120));
      assert.ok(got.subarray(500_000).every((v) => v === 121));
      b.close();
    }));

  it("a full datagram queue makes sendTo wait until the receiver drains it", () =>
    noSocketLeak(async () => {
      const receiver = UnixDatagram.bind({ abstract: uniqueName("full") });
      const sender = UnixDatagram.bind();
      const big = new Uint8Array(8192);
      // Fill the receiver's queue (net.unix.max_dgram_qlen datagrams, or its buffer).
      let queued = 0;
      while (true) {
        try {
          await sender.sendTo(receiver.address, big, { timeout: 0 });
        } catch (e) {
          isCode("EAGAIN")(e);
          break;
        }
        assert.ok(++queued < 10_000);
      }
      await assert.rejects(
        sender.sendTo(receiver.address, big, { timeout: 30 }),
        isCode("ETIMEDOUT"),
      );
      const waiting = sender.sendTo(receiver.address, "after the drain");
      await sleep(30);
      for (let i = 0; i < queued; i++) receiver.receiveFromSync();
      assert.equal(await waiting, 15);
      assert.equal(text((await receiver.receiveFrom()).data), "after the drain");
      sender.close();
      receiver.close();
    }));
});

describe("uds: listeners and connections", () => {
  it("a path listener: mode 0600, many clients at once, the file removed on close", () =>
    noSocketLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "server.sock");
      const listener = listen({ path });
      assert.equal(listener.path, path);
      assert.equal(listener.abstract, undefined);
      assert.ok(statSync(path).isSocket());
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const clients = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          connect({ path }).then(async (c) => {
            await c.write(`client ${i}`);
            return c;
          })),
      );
      const served = [];
      for (let i = 0; i < 50; i++) {
        const server = await listener.accept({ timeout: 5000 });
        const buf = new Uint8Array(32);
        served.push(text(buf.subarray(0, (await server.read(buf))!)));
        const peer = server.peerCredentials();
        assert.equal(peer.pid, process.pid);
        server.close();
      }
      assert.deepEqual(served.sort(), clients.map((_, i) => `client ${i}`).sort());
      for (const c of clients) c.close();
      listener.close();
      listener.close();
      assert.throws(() => statSync(path), /ENOENT/);
    }));

  it("gives socket files exactly their mode, whatever the umask, never more open", () =>
    noSocketLeak(() => {
      using dir = tempDir();
      for (const mode of [0o600, 0o660, 0o666, 0o700, 0o000]) {
        const path = join(dir.path, `m${mode.toString(8)}`);
        const l = listen({ path, mode });
        assert.equal(statSync(path).mode & 0o7777, mode, `listen, mode ${mode.toString(8)}`);
        l.close();
        const d = UnixDatagram.bind({ path, mode });
        assert.equal(statSync(path).mode & 0o7777, mode, `bind, mode ${mode.toString(8)}`);
        d.close();
      }
    }));

  it("close() removes only the file it created", () =>
    noSocketLeak(() => {
      using dir = tempDir();
      const path = join(dir.path, "s");
      const first = listen({ path });
      unlinkSync(path); // someone removed it, and a second listener took the path
      const second = listen({ path });
      first.close();
      assert.ok(statSync(path).isSocket(), "the second listener's file is still there");
      second.close();
      const third = listen({ path });
      unlinkSync(path);
      writeFileSync(path, "not a socket");
      third.close();
      assert.equal(readFileSync(path, "utf8"), "not a socket");
    }));

  it("abstract names: no file, seqpacket, and the accept loop ends on close", () =>
    noSocketLeak(async () => {
      const abstract = uniqueName("abstract");
      const listener = listen({ abstract, type: "seqpacket" });
      assert.equal(listener.abstract, abstract);
      assert.equal(listener.path, undefined);
      const seen: string[] = [];
      const serving = (async () => {
        for await (const c of listener) {
          const m = await c.receive();
          seen.push(text(m!.data));
          await c.send("ack");
          c.close();
        }
      })();
      for (const word of ["a", "b", "c"]) {
        using c = await connect({ abstract, type: "seqpacket" });
        await c.send(word);
        assert.equal(text((await c.receive())!.data), "ack");
      }
      listener.close();
      await serving;
      assert.deepEqual(seen, ["a", "b", "c"]);
    }));

  it("accept: timeout, timeout 0, abort, tryAccept, acceptSync, and EBADF on close", () =>
    noSocketLeak(async () => {
      const abstract = uniqueName("accept");
      const listener = listen({ abstract });
      await assert.rejects(listener.accept({ timeout: 30 }), isCode("ETIMEDOUT"));
      await assert.rejects(listener.accept({ timeout: 0 }), isCode("EAGAIN"));
      assert.equal(listener.tryAccept(), null);
      assert.throws(() => listener.acceptSync({ timeout: 0 }), isCode("EAGAIN"));
      assert.throws(() => listener.acceptSync({ timeout: 30 }), isCode("ETIMEDOUT"));
      await assert.rejects(
        listener.accept({ signal: AbortSignal.abort("stop") }),
        (e) => e === "stop",
      );
      const client = connectSync({ abstract });
      const server = listener.acceptSync({ timeout: 1000 });
      assert.deepEqual(server.peerCredentials().pid, process.pid);
      const pending = listener.accept();
      setTimeout(() => listener.close(), 10);
      await assert.rejects(pending, isCode("EBADF", /UnixListener is closed/));
      assert.throws(() => listener.tryAccept(), isCode("EBADF"));
      client.close();
      server.close();
    }));

  it("connect waits while the backlog is full; timeouts apply to both forms", () =>
    noSocketLeak(async () => {
      const abstract = uniqueName("backlog");
      const listener = listen({ abstract, backlog: 0 });
      const first = await connect({ abstract }); // backlog 0 still queues one
      await assert.rejects(connect({ abstract, timeout: 0 }), isCode("EAGAIN"));
      await assert.rejects(connect({ abstract, timeout: 40 }), isCode("ETIMEDOUT"));
      assert.throws(() => connectSync({ abstract, timeout: 0 }), isCode("EAGAIN"));
      const t0 = performance.now();
      assert.throws(() => connectSync({ abstract, timeout: 60 }), isCode("ETIMEDOUT"));
      assert.ok(performance.now() - t0 >= 55);
      const waiting = connect({ abstract });
      await sleep(20);
      const accepted = await listener.accept();
      const second = await waiting;
      second.writeSync("through");
      const accepted2 = await listener.accept();
      assert.equal(await accepted2.read(new Uint8Array(16)), 7);
      // The sync form's send timeout was reset: a later send does not time out.
      for (const h of [first, second, accepted, accepted2, listener]) h.close();
    }));

  it("connected sockets are blocking; passCredentials is inherited from the listener", () =>
    noSocketLeak(async () => {
      const abstract = uniqueName("flags");
      const listener = listen({ abstract, passCredentials: true, type: "seqpacket" });
      const client = await connect({ abstract, type: "seqpacket" });
      const server = await listener.accept();
      for (const c of [client, server]) {
        assert.equal(libc.fcntl(c.fd, C.F_GETFL, 0) & C.O_NONBLOCK, 0);
        assert.ok(closeOnExec(c.fd));
      }
      assert.equal(server.passCredentials, true);
      assert.equal(client.passCredentials, false);
      await client.send("who");
      assert.equal((await server.receive())!.credentials?.pid, process.pid);
      for (const h of [client, server, listener]) h.close();
    }));

  it("web streams: pipe a Blob through a connection and back", () =>
    noSocketLeak(async () => {
      const [a, b] = socketpair();
      const echo = b.readable.pipeTo(b.writable); // b echoes until a shuts down writing
      const sending = new Blob(["line one\n", "line two\n"]).stream().pipeTo(a.writable);
      const received = await new Response(a.readable).text();
      await Promise.all([sending, echo]);
      assert.equal(received, "line one\nline two\n");
      assert.ok(a.closed && b.closed, "both streams ended, so both connections closed");
    }));

  it("fromFd wraps a Unix socket of any type, and refuses anything else", () =>
    noSocketLeak(() => {
      for (const type of TYPES) {
        const [a, b] = socketpair(type);
        const wrapped = UnixConnection.fromFd(a.fd, { own: false });
        assert.equal(wrapped.type, type);
        wrapped.close();
        assert.ok(isOpen(a.fd));
        a.close();
        b.close();
      }
      const [r, w] = pipe();
      assert.throws(() => UnixConnection.fromFd(r.fd), isCode("ENOTSOCK"));
      assert.throws(() => UnixConnection.fromFd(987_654), isCode("EBADF"));
      assert.throws(() => UnixConnection.fromFd(-1), RangeError);
      r.close();
      w.close();
      const Ctor = UnixConnection as unknown as new (fd: number) => unknown;
      assert.throws(() => new Ctor(1), /UnixConnection has no public constructor/);
      const L = UnixListener as unknown as new (fd: number) => unknown;
      assert.throws(() => new L(1), /UnixListener has no public constructor/);
    }));
});

describe("uds: datagrams", () => {
  for (const kind of ["path", "abstract"] as const) {
    it(`${kind}: sendTo and receiveFrom with the sender's address and descriptors`, () =>
      noSocketLeak(async () => {
        using dir = tempDir();
        const address = kind === "path"
          ? { path: join(dir.path, "d") }
          : { abstract: uniqueName("dgram") };
        const server = UnixDatagram.bind(address);
        const client = UnixDatagram.bind(
          kind === "path" ? { path: join(dir.path, "c") } : undefined,
        );
        assert.equal(server.address, kind === "path" ? address.path : `\0${address.abstract}`);
        if (kind === "path") assert.equal(statSync(address.path!).mode & 0o777, 0o600);
        const [r, w] = pipe();
        await client.sendTo(address, "request", { fds: [w] });
        await client.sendTo(server.address, "as a string");
        const request = await server.receiveFrom();
        assert.equal(text(request.data), "request");
        assert.equal(request.from, client.address);
        assert.equal(request.fds.length, 1);
        PipeWriter.fromFd(request.fds[0]!).close();
        assert.equal(text(server.receiveFromSync().data), "as a string");
        await server.sendTo(request.from!, "reply");
        assert.equal(text((await client.receive()).data), "reply");
        client.connect(address);
        await client.send("connected");
        assert.equal(text((await server.receiveFrom({ timeout: 1000 })).data), "connected");
        await client.send("");
        assert.equal((await server.receiveFrom()).data.length, 0, "an empty datagram");
        for (const h of [server, client, r, w]) h.close();
        if (kind === "path") {
          assert.throws(() => statSync(address.path!), /ENOENT/, "close() removed the file");
        }
      }));
  }

  it("an unbound sender has no address; sends to nobody fail clearly", () =>
    noSocketLeak(async () => {
      using dir = tempDir();
      const server = UnixDatagram.bind({ abstract: uniqueName("d") });
      const client = UnixDatagram.bind();
      assert.match(client.address, /^\0[0-9a-f]{5}$/, "autobind picks an abstract name");
      await assert.rejects(
        client.sendTo({ path: join(dir.path, "nobody") }, "x"),
        isCode("ENOENT", /no socket file at this path/),
      );
      await assert.rejects(
        client.sendTo({ abstract: uniqueName("nobody") }, "x"),
        isCode("ECONNREFUSED", /no socket has this abstract name/),
      );
      const stream = listen({ abstract: uniqueName("stream") });
      await assert.rejects(
        client.sendTo({ abstract: stream.abstract! }, "x"),
        (e) => e instanceof IpcError && ["EPROTOTYPE", "ECONNREFUSED"].includes(e.code),
      );
      assert.throws(() => client.connect({ path: join(dir.path, "nobody") }), isCode("ENOENT"));
      await assert.rejects(client.send("x"), isCode("ENOTCONN"));
      for (const h of [server, client, stream]) h.close();
    }));
});

describe("uds: bad input", () => {
  it("paths longer than sun_path, and abstract names too", () => {
    const long = "/tmp/" + "x".repeat(103); // 108 bytes
    assert.throws(() => listen({ path: long }), /path is 108 bytes long.*at most 107 bytes/);
    assert.throws(() => listen({ path: "/tmp/" + "é".repeat(52) }), RangeError);
    assert.throws(() => connectSync({ path: long }), RangeError);
    assert.throws(() => UnixDatagram.bind({ path: long }), RangeError);
    assert.throws(() => listen({ abstract: "a".repeat(108) }), /abstract is 108 bytes long/);
    listen({ abstract: uniqueName("a").padEnd(107, "a") }).close(); // the longest that fits
  });

  it("missing directories, and paths that are something else", async () => {
    using dir = tempDir();
    const missing = join(dir.path, "no", "such", "dir", "s");
    assert.throws(() => listen({ path: missing }), isCode("ENOENT", /directory does not exist/));
    await assert.rejects(connect({ path: missing }), isCode("ENOENT"));
    assert.throws(() => UnixDatagram.bind({ path: missing }), isCode("ENOENT"));
    const file = join(dir.path, "file");
    writeFileSync(file, "x");
    assert.throws(
      () => listen({ path: file }),
      isCode("EADDRINUSE", /the path exists and is a regular file, not a socket/),
    );
    await assert.rejects(
      connect({ path: file }),
      isCode("ECONNREFUSED", /the path is a regular file, not a socket/),
    );
    mkdirSync(join(dir.path, "d"));
    assert.throws(() => listen({ path: join(dir.path, "d") }), /is a directory, not a socket/);
    const taken = join(dir.path, "taken");
    const l = listen({ path: taken });
    assert.throws(() => listen({ path: taken }), isCode("EADDRINUSE", /a socket file is already/));
    l.close();
    // A socket file nobody listens on any more: a stale file (moved away while its
    // listener closed, so that close() did not remove it).
    const stale = join(dir.path, "stale");
    const staleListener = listen({ path: stale });
    renameSync(stale, `${stale}.moved`);
    staleListener.close();
    renameSync(`${stale}.moved`, stale);
    await assert.rejects(connect({ path: stale }), isCode("ECONNREFUSED", /no socket is bound/));
    assert.throws(() => listen({ path: stale }), isCode("EADDRINUSE", /stale file/));
    // replaceStale removes it, but never a live socket's file nor another kind of file.
    const fresh = listen({ path: stale, replaceStale: true });
    assert.throws(() => listen({ path: stale, replaceStale: true }), isCode("EADDRINUSE"));
    fresh.close();
    assert.throws(() => listen({ path: file, replaceStale: true }), /regular file/);
    // A socket of another type.
    const datagrams = UnixDatagram.bind({ path: join(dir.path, "dgram") });
    await assert.rejects(connect({ path: join(dir.path, "dgram") }), isCode("EPROTOTYPE"));
    datagrams.close();
  });

  it("descriptors that are not open, too many, closed handles, and bad values", async () => {
    const [a, b] = socketpair("seqpacket");
    const [r, w] = pipe();
    await assert.rejects(
      a.send("x", { fds: [r, 987_654] }),
      isCode("EBADF", /fds\[1\] \(987654\) is not an open descriptor/),
    );
    assert.throws(() => a.sendSync("x", { fds: [987_654] }), /fds\[0\] \(987654\)/);
    await assert.rejects(
      a.send("x", { fds: Array(C.SCM_MAX_FD + 1).fill(r.fd) }),
      /fds holds 254 descriptors, but one message carries at most 253 \(SCM_MAX_FD\)/,
    );
    await assert.rejects(a.send("x", { fds: [-1] }), RangeError);
    // @ts-expect-error: wrong type on purpose
    await assert.rejects(a.send("x", { fds: ["3"] }), TypeError);
    // @ts-expect-error: wrong type on purpose
    await assert.rejects(a.send("x", { fds: 3 }), /fds must be an array/);
    const [closedR, closedW] = pipe();
    closedR.close();
    closedW.close();
    await assert.rejects(a.send("x", { fds: [closedR] }), /fds\[0\] is a closed handle/);
    const [s1, s2] = socketpair("stream");
    await assert.rejects(s1.send("", { fds: [r] }), /must not be empty when sending fds/);
    await assert.rejects(a.receive({ maxSize: 0 }), RangeError);
    await assert.rejects(a.receive({ maxFds: 254 }), /maxFds must be between 0 and 253/);
    // @ts-expect-error: wrong type on purpose
    await assert.rejects(a.write(42), /data must be a Uint8Array or a string/);
    assert.equal(b.readSync(new Uint8Array(0)), 0);
    for (const h of [a, b, s1, s2, r, w]) h.close();
    assert.throws(() => a.writeSync("x"), isCode("EBADF", /UnixConnection is closed/));
    await assert.rejects(a.receive(), isCode("EBADF"));
    assert.throws(() => a.peerCredentials(), isCode("EBADF"));
    assert.throws(() => a.shutdown(), isCode("EBADF"));
    assert.throws(() => a.readable, isCode("EBADF"));
    const d = UnixDatagram.bind();
    d.close();
    await assert.rejects(d.sendTo("\0x", "x"), isCode("EBADF", /UnixDatagram is closed/));
    assert.throws(() => d.address, isCode("EBADF"));
  });

  it("options of the wrong shape", async () => {
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => listen(), /options must be an object with path or abstract/);
    assert.throws(() => listen({}), /An address needs path or abstract/);
    assert.throws(() => listen({ path: "/tmp/x", abstract: "x" }), /either path or abstract/);
    assert.throws(() => listen({ path: "" }), /path must not be empty/);
    assert.throws(() => listen({ path: "/tmp/a\0b" }), /path must not contain NUL/);
    assert.throws(() => listen({ abstract: "" }), /abstract must not be empty/);
    assert.throws(() => listen({ abstract: "x", mode: 0o600 }), /abstract name has no permissions/);
    assert.throws(() => listen({ path: "/tmp/x", mode: 0o1000 }), RangeError);
    // @ts-expect-error: wrong value on purpose
    assert.throws(() => listen({ path: "/tmp/x", type: "dgram" }), /use UnixDatagram/);
    // @ts-expect-error: wrong value on purpose
    assert.throws(() => socketpair("raw"), /type must be "stream", "seqpacket" or "dgram"/);
    assert.throws(() => listen({ abstract: "x", backlog: -1 }), RangeError);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => connectSync({ abstract: "x", passCredentials: "yes" }), TypeError);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => UnixDatagram.bind("x"), /options must be an object/);
    const d = UnixDatagram.bind();
    await assert.rejects(
      // @ts-expect-error: wrong type on purpose
      d.sendTo(42, "x"),
      /address must be a string or \{ path \} or \{ abstract \}/,
    );
    d.close();
  });
});

/**
 * The uds module across process boundaries: a Deno or Bun peer for every socket type and
 * both address kinds (passing an open file, a pipe end and a memfd both ways), peers
 * nobody here wrote (Python's socket module, socat, Deno's and Bun's own Unix sockets),
 * and a load test of 200 clients in Deno and Bun processes against one listener.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";

import { libc } from "../ffi/libc.ts";
import { pipe } from "../pipe/mod.ts";
import { listen, type SocketType, type UnixConnection, UnixDatagram } from "../uds/mod.ts";
import {
  CURRENT,
  hasCommand,
  readAll,
  runFixture,
  type RuntimeName,
  tempDir,
  uniqueName,
} from "./helpers.ts";
import {
  checksum,
  HEADER,
  MAX_PAYLOAD,
  memfdWith,
  noSocketLeak,
  openFile,
  readFd,
} from "./uds_helpers.ts";

const RUNTIMES: RuntimeName[] = ["deno", "bun"];
const TYPES: SocketType[] = ["stream", "seqpacket", "dgram"];
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const TIMEOUT = { timeout: 15_000 };

/** Runs a program to completion without blocking the event loop. */
function run(
  command: string,
  args: string[],
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(input ?? "");
  });
}

function lastJson(out: { code: number | null; stdout: string; stderr: string }, what: string) {
  assert.equal(out.code, 0, `${what} failed:\n${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").pop()!);
}

describe("uds: across processes", () => {
  for (const peer of RUNTIMES) {
    it(
      `${CURRENT} ↔ ${peer}: each socket type on a path and an abstract name, passing a file, ` +
        "a pipe end and a memfd both ways",
      () =>
        noSocketLeak(async () => {
          using dir = tempDir();
          const cases = TYPES.flatMap((type) => [
            { type, path: join(dir.path, `${type}.sock`) },
            { type, abstract: uniqueName(type) },
          ]);
          const servers = cases.map(({ type, ...address }) =>
            type === "dgram"
              ? UnixDatagram.bind({ ...address, passCredentials: true })
              : listen({ ...address, type })
          );
          const child = runFixture(peer, "uds_peer.ts", [
            String(process.pid),
            JSON.stringify(cases),
          ], 60_000);
          for (const [i, server] of servers.entries()) {
            const type = cases[i]!.type;
            const filePath = join(dir.path, `file-${i}`);
            writeFileSync(filePath, `file ${i}`);
            const file = openFile(filePath);
            const memfd = await memfdWith("test", "memfd content");
            const [r, w] = pipe();
            let conn: UnixConnection | undefined;
            let done;
            if (server instanceof UnixDatagram) {
              const hello = await server.receiveFrom(TIMEOUT);
              const pid = JSON.parse(text(hello.data)).pid;
              assert.equal(hello.credentials?.pid, pid, "SCM_CREDENTIALS names the sender");
              await server.sendTo(hello.from!, "fds", { fds: [file, w, memfd] });
              done = await server.receiveFrom(TIMEOUT);
            } else {
              conn = await server.accept(TIMEOUT);
              const hello = (await conn.receive(TIMEOUT))!;
              const pid = JSON.parse(text(hello.data)).pid;
              assert.equal(conn.peerCredentials().pid, pid, "SO_PEERCRED names the peer");
              await conn.send("fds", { fds: [file, w, memfd] });
              done = (await conn.receive(TIMEOUT))!;
            }
            w.close();
            libc.close(file);
            assert.equal(text(done.data), `done:file ${i}|memfd content`, `${type} case ${i}`);
            assert.match(await readAll(r), /^pipe written by \d+$/);
            r.close();
            assert.equal(readFileSync(`/proc/self/fd/${memfd}`, "utf8"), "memfd content+peer");
            libc.close(memfd);
            assert.equal(done.fds.length, 1, "the peer's memfd");
            assert.match(readFd(done.fds[0]!), /^memfd of \d+$/);
            libc.close(done.fds[0]!);
            if (type === "seqpacket") {
              const sizes = [];
              for (let k = 0; k < 4; k++) sizes.push((await conn!.receive(TIMEOUT))!.data.length);
              assert.deepEqual(sizes, [1, 3000, 0, 7], "message boundaries");
            }
            conn?.close();
          }
          const out = lastJson(await child, `uds_peer.ts on ${peer}`);
          for (const seen of out.seen) {
            assert.equal(seen.fds, 3);
            if (seen.type !== "dgram") assert.equal(seen.parentSeen, true, "the peer saw our pid");
          }
          for (const s of servers) s.close();
        }),
    );
  }
});

describe("uds: peers nobody here wrote", () => {
  const python = hasCommand("python3");
  it(
    "Python's socket.send_fds/recv_fds exchange descriptors with sysipc; SO_PEERCRED sees our pid",
    { skip: python ? false : "python3 is not installed" },
    () =>
      noSocketLeak(async () => {
        using dir = tempDir();
        const path = join(dir.path, "py.sock");
        const filePath = join(dir.path, "from-python");
        writeFileSync(filePath, "a file python opened");
        using listener = listen({ path });
        const script = join(import.meta.dirname!, "fixtures", "uds_python.py");
        const child = run("python3", [script, path, filePath]);
        using conn = await listener.accept(TIMEOUT);
        const hello = (await conn.receive(TIMEOUT))!;
        const pythonPid = JSON.parse(text(hello.data)).pid;
        assert.equal(conn.peerCredentials().pid, pythonPid);
        assert.equal(hello.fds.length, 1);
        assert.equal(readFd(hello.fds[0]!), "a file python opened");
        libc.close(hello.fds[0]!);
        const [r, w] = pipe();
        await conn.send("to python", { fds: [w] });
        w.close();
        assert.equal(await readAll(r), "python wrote this");
        r.close();
        const out = lastJson(await child, "uds_python.py");
        assert.deepEqual(out, {
          message: "to python",
          fds: 1,
          peerPid: process.pid,
          uid: process.getuid!(),
        });
      }),
  );

  const socat = hasCommand("socat");
  for (const kind of ["path", "abstract"] as const) {
    it(
      `socat talks to a sysipc stream listener on ${
        kind === "path" ? "a path" : "an abstract name"
      }`,
      { skip: socat ? false : "socat is not installed (apt-get install socat)" },
      () =>
        noSocketLeak(async () => {
          using dir = tempDir();
          const address = kind === "path"
            ? { path: join(dir.path, "socat.sock") }
            : { abstract: uniqueName("socat") };
          using listener = listen(address);
          const target = kind === "path"
            ? `UNIX-CONNECT:${address.path}`
            : `ABSTRACT-CONNECT:${address.abstract}`;
          const child = run("socat", ["-t", "10", "-", target], "hello from socat\n");
          using conn = await listener.accept(TIMEOUT);
          const request = await readAll(conn); // socat shuts down writing at the end of stdin
          await conn.write(`sysipc got: ${request}`);
          conn.close();
          const out = await child;
          assert.equal(out.code, 0, out.stderr);
          assert.equal(out.stdout, "sysipc got: hello from socat\n");
        }),
    );
  }

  for (const runtime of RUNTIMES) {
    const api = runtime === "deno"
      ? 'Deno.connect({ transport: "unix" })'
      : "Bun.connect({ unix })";
    it(`${api} talks to a sysipc listener`, () =>
      noSocketLeak(async () => {
        using dir = tempDir();
        const path = join(dir.path, "builtin.sock");
        using listener = listen({ path });
        const child = runFixture(runtime, "uds_builtin_client.ts", [path], 30_000);
        using conn = await listener.accept(TIMEOUT);
        let line = "";
        const buf = new Uint8Array(256);
        while (!line.endsWith("\n")) {
          line += text(buf.subarray(0, (await conn.read(buf, TIMEOUT))!));
        }
        const pid = conn.peerCredentials().pid;
        assert.equal(line, `hello from ${pid}\n`);
        await conn.write(`welcome, ${pid}`);
        conn.close();
        const out = lastJson(await child, `uds_builtin_client.ts on ${runtime}`);
        assert.deepEqual(out, { pid, reply: `welcome, ${pid}` });
      }));
  }
});

describe("uds: load", () => {
  it("one listener serves 200 clients in Deno and Bun processes, 1,000 messages each", () =>
    noSocketLeak(async () => {
      using dir = tempDir();
      const path = join(dir.path, "load.sock");
      const MESSAGES = 1000;
      const PER_PROCESS = 50;
      const processes: RuntimeName[] = ["deno", "bun", "deno", "bun"];
      const listener = listen({ path });
      let frames = 0, corrupt = 0;
      // Echoes every frame whole (one read and one write per frame, as clients keep one
      // frame in flight), checking its checksum.
      const serve = async (conn: UnixConnection) => {
        using _ = conn;
        const buf = new Uint8Array(2 * (HEADER + MAX_PAYLOAD));
        const view = new DataView(buf.buffer);
        let have = 0;
        for (let n; (n = await conn.read(buf.subarray(have))) !== null;) {
          have += n;
          let at = 0;
          while (have - at >= HEADER && have - at >= HEADER + view.getUint32(at, true)) {
            const end = at + HEADER + view.getUint32(at, true);
            if (checksum(buf.subarray(at + HEADER, end)) !== view.getUint32(at + 4, true)) {
              corrupt++;
            }
            frames++;
            await conn.write(buf.subarray(at, end));
            at = end;
          }
          buf.copyWithin(0, at, have);
          have -= at;
        }
      };
      const sessions: Promise<void>[] = [];
      const accepting = (async () => {
        for await (const conn of listener) sessions.push(serve(conn));
      })();
      const t0 = performance.now();
      const clients = await Promise.all(
        processes.map((runtime, k) =>
          runFixture(runtime, "uds_load_client.ts", [
            path,
            String(PER_PROCESS),
            String(MESSAGES),
            String(k * PER_PROCESS),
          ], 120_000)
        ),
      );
      const seconds = (performance.now() - t0) / 1000;
      listener.close();
      await accepting;
      await Promise.all(sessions);
      for (const [k, result] of clients.entries()) {
        const out = lastJson(result, `uds_load_client.ts on ${processes[k]}`);
        assert.deepEqual(
          { ok: out.ok, bad: out.bad },
          { ok: PER_PROCESS * MESSAGES, bad: 0 },
          `${processes[k]} client process`,
        );
        assert.deepEqual(out.leaked, [], `${processes[k]} client process left fds open`);
      }
      // Each process warmed up first with 5 connections and 40 frames.
      assert.equal(sessions.length, 200 + 5 * processes.length);
      assert.equal(frames, 200 * MESSAGES + 40 * processes.length);
      assert.equal(corrupt, 0);
      console.log(`uds load: 200 clients × ${MESSAGES} round trips in ${seconds.toFixed(1)} s`);
    }));
});

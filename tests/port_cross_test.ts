/**
 * The port module across process boundaries: a Deno or Bun peer exchanging every kind of
 * value (cycles and 1 MiB typed arrays among them) in both directions; handles of every
 * kind transferred and used on the other side; a peer that dies; and a Python peer,
 * written from the protocol's description alone, talking to sysipc both ways.
 *
 * SYSIPC_PORT_MESSAGES sets how many messages each pair exchanges (default 10,000).
 */
import assert from "node:assert/strict";
import { spawn as spawnChild } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { C } from "../ffi/constants.ts";
import { check, libc } from "../ffi/libc.ts";
import { pipe, PipeReader } from "../pipe/mod.ts";
import { listenPort, type Port } from "../port/mod.ts";
import { EventFd } from "../sem/mod.ts";
import { memfd, SharedMemory } from "../shm/mod.ts";
import { socketpair } from "../uds/mod.ts";
import {
  CURRENT,
  fixtureCommand,
  type FixtureResult,
  hasCommand,
  isCode,
  noLeak,
  readAll,
  runFixture,
  type RuntimeName,
  uniqueName,
} from "./helpers.ts";
import { corpusValue } from "./port_helpers.ts";
import { memfdWith } from "./uds_helpers.ts";

const RUNTIMES: RuntimeName[] = ["deno", "bun"];
const COUNT = Number(process.env.SYSIPC_PORT_MESSAGES ?? 10_000);
const TIMEOUT = { timeout: 30_000 };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const dup = (fd: number) => check(libc.fcntl(fd, C.F_DUPFD_CLOEXEC, 0), "fcntl");

function lastJson(out: FixtureResult, what: string) {
  assert.equal(out.code, 0, `${what} failed:\n${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").pop()!);
}

describe("port: across processes", () => {
  for (const peer of RUNTIMES) {
    it(
      `${CURRENT} ↔ ${peer}: ${COUNT} messages of every kind, cycles and 1 MiB typed arrays ` +
        "among them, arrive deep-equal and in order, both ways",
      () =>
        noLeak(async () => {
          const name = `/${uniqueName("port-echo")}`;
          using listener = listenPort(name);
          const child = runFixture(peer, "port_peer.ts", ["echo", name, String(COUNT)], 240_000);
          using port = await listener.accept(TIMEOUT);
          const echoes = (async () => {
            for (let i = 0; i < COUNT; i++) {
              assert.deepStrictEqual(await port.receive(TIMEOUT), corpusValue(i), `echo ${i}`);
            }
          })();
          for (let i = 0; i < COUNT; i++) await port.postMessage(corpusValue(i));
          await echoes;
          const out = lastJson(await child, `port_peer.ts echo on ${peer}`);
          assert.equal(out.echoed, COUNT);
          assert.equal(out.peer.pid, process.pid, "the peer saw this process as its peer");
          assert.notEqual(port.peer.pid, process.pid);
        }),
    );

    it(
      `${CURRENT} ↔ ${peer}: a pipe end, shared memory, a raw descriptor, a socket and an ` +
        "eventfd move over and work there; the peer's pipe end and memfd come back",
      () =>
        noLeak(async () => {
          const name = `/${uniqueName("port-handles")}`;
          using listener = listenPort(name);
          const child = runFixture(peer, "port_peer.ts", ["handles", name], 60_000);
          using port = await listener.accept(TIMEOUT);
          const [reader, writer] = pipe();
          const shm = memfd("port-shm", 8192);
          using shmView = SharedMemory.fromFd(dup(shm.fd)); // the same memory, kept here
          const raw = await memfdWith("port-raw", "");
          const [near, far] = socketpair("seqpacket");
          const efd = new EventFd();
          const efdCopy = EventFd.fromFd(dup(efd.fd));
          const rawCopy = dup(raw);
          await port.postMessage({ writer, shm, raw, conn: far, efd }, [
            writer,
            shm,
            raw,
            far,
            efd,
          ]);
          for (const h of [writer, shm, far, efd]) {
            assert.ok(h.closed, "the sender's copy is closed");
          }
          assert.ok(libc.fcntl(raw, C.F_GETFD, 0) < 0, "the raw descriptor is closed here");
          const back = (await port.receive(TIMEOUT)) as {
            reader: PipeReader;
            mine: SharedMemory;
            size: number;
          };
          assert.match(await readAll(reader), /^pipe written by \d+$/);
          reader.close();
          assert.equal(back.size, 8192, "the shared memory arrived whole");
          assert.match(text(shmView.bytes.subarray(0, 40)), /^shm written by \d+/);
          // (rawCopy shares the peer's file offset: read from the start)
          assert.match(readFileSync(`/proc/self/fd/${rawCopy}`, "utf8"), /^raw fd written by \d+$/);
          libc.close(rawCopy);
          assert.match(text((await near.receive(TIMEOUT))!.data), /^socket answered by \d+$/);
          near.close();
          assert.equal(await efdCopy.wait(TIMEOUT), 7);
          efdCopy.close();
          assert.ok(back.reader instanceof PipeReader);
          assert.match(await readAll(back.reader), /^from \d+'s pipe$/);
          back.reader.close();
          assert.ok(back.mine instanceof SharedMemory);
          assert.match(text(back.mine.bytes.subarray(0, 40)), /^from \d+'s memfd/);
          back.mine.close();
          const out = lastJson(await child, `port_peer.ts handles on ${peer}`);
          assert.equal(out.closed, true, "the peer's copies were closed when it sent them");
        }),
    );
  }

  it("a peer that dies wakes every pending receive, and a blocked postMessage, with EPIPE", () =>
    noLeak(async () => {
      const name = `/${uniqueName("port-die")}`;
      using listener = listenPort(name);
      const [command, args] = fixtureCommand(CURRENT, "port_peer.ts", ["wait", name]);
      const child = spawnChild(command, args, { stdio: ["ignore", "inherit", "inherit"] });
      const exited = new Promise((resolve) => child.on("exit", resolve));
      try {
        using port = await listener.accept(TIMEOUT);
        // The ready message came through the ring: the receives below wait on it.
        assert.equal(((await port.receive(TIMEOUT)) as { ready: string }).ready.length, 100_000);
        const receives = [port.receive(), port.receive(), port.receive()];
        // More than the socket and the ring hold, to a peer that reads nothing.
        const blocked = port.postMessage(new Uint8Array(4 << 20));
        const settled = await Promise.race([
          blocked.then(() => "resolved"),
          new Promise((r) => setTimeout(() => r("pending"), 300)),
        ]);
        assert.equal(settled, "pending", "the sender waits for room");
        child.kill("SIGKILL");
        for (const r of receives) await assert.rejects(r, isCode("EPIPE"));
        await assert.rejects(blocked, isCode("EPIPE"));
        await assert.rejects(port.receive(), isCode("EPIPE"));
      } finally {
        child.kill("SIGKILL");
        await exited;
      }
    }));
});

describe("port: a peer nobody here wrote", () => {
  const python = hasCommand("python3");
  it(
    "a Python program speaking the documented protocol exchanges every kind of value, " +
      "large messages and descriptors with sysipc, both ways",
    { skip: python ? false : "python3 is not installed" },
    () =>
      noLeak(async () => {
        const name = `/${uniqueName("port-python")}`;
        using listener = listenPort(name);
        const script = join(import.meta.dirname!, "fixtures", "port_peer.py");
        const child = spawnChild("python3", [script, name], { stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr!.on("data", (d) => stderr += d);
        const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
        let port: Port | undefined;
        try {
          port = await listener.accept(TIMEOUT);
          // What Python built: every kind of value it can express.
          const native = (await port.receive(TIMEOUT)) as Record<string, unknown>;
          const cyclic = native.cyclic as Record<string, unknown>;
          assert.equal(cyclic.self, cyclic);
          const views = native.views as [Uint8Array, Uint16Array];
          assert.equal(views[0].buffer, views[1].buffer, "two views of one buffer");
          assert.deepStrictEqual(views[1], new Uint16Array(views[0].buffer, 2, 3));
          assert.deepStrictEqual({ ...native, cyclic: undefined, views: undefined }, {
            from: "python",
            numbers: [0, -0, 1.5, -7, 2 ** 40, NaN, Infinity],
            big: 2n ** 100n + 7n,
            text: "h\u00e9llo \u{1f600} \ud800",
            flags: [true, false, null, undefined],
            when: new Date(86400000),
            pattern: /^a+b?$/gi,
            // deno-lint-ignore no-sparse-arrays
            map: new Map<unknown, unknown>([[1, "one"], ["two", [2, , 2.5]]]),
            set: new Set(["a", -(2n ** 70n)]),
            blob: Float64Array.from({ length: 1024 }, (_, k) => k),
            error: new TypeError("bad thing", { cause: new Error("inner") }),
            cyclic: undefined,
            views: undefined,
          });
          // sysipc's values, decoded and encoded again by Python (the large ones in parts).
          for (let i = 0; i < 600; i++) {
            const value = corpusValue(i);
            await port.postMessage(value);
            assert.deepStrictEqual(await port.receive(TIMEOUT), value, `value ${i}`);
          }
          // A pipe end each way.
          const [reader, writer] = pipe();
          await port.postMessage({ writer }, [writer]);
          ((await port.receive(TIMEOUT)) as { writer: { close(): void } }).writer.close();
          assert.equal(await readAll(reader), "written by python");
          reader.close();
          await port.postMessage("python: pipe");
          const got = (await port.receive(TIMEOUT)) as { reader: PipeReader };
          assert.ok(got.reader instanceof PipeReader);
          assert.equal(await readAll(got.reader), "from python");
          got.reader.close();
          await port.postMessage("end");
          assert.equal(await port.receive(TIMEOUT), 601);
        } finally {
          port?.close();
          assert.equal(await exited, 0, `port_peer.py failed:\n${stderr}`);
        }
      }),
  );
});

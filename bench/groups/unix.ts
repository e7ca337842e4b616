/**
 * The runtime's own Unix-domain stream socket, the built-in a user would pick instead of
 * sysipc (mechanism `unix-builtin`, mode `builtin`); no sysipc call moves the bytes:
 * - Deno: `Deno.listen({ transport: "unix" })` and `Deno.connect`, awaiting `read` and
 *   `write` (a short write is continued);
 * - Bun: `Bun.listen({ unix })` and `Bun.connect({ unix })`, driven by `data` callbacks,
 *   the way Bun's API is meant to be used (a short write continues on `drain`).
 * Cases: round trips and streams (the child sends), with the message format of
 * bench/groups/_common.ts checked on every message.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CURRENT } from "../_runtime.ts";
import { bunApi, type BunSocket } from "../_bun.ts";
import { type Case, caseKey, type CaseResult, mark, Timer, verify } from "./_common.ts";
import {
  type ByteReader,
  byteStreamChild,
  byteStreamParent,
  type ByteWriter,
  type Group,
  result,
  session,
} from "./_group.ts";

/** A Deno connection as the byte-stream loops take it (async calls only). */
function denoIo(conn: Deno.Conn): ByteReader & ByteWriter {
  return {
    read: (into) => conn.read(into),
    async write(data) {
      let done = 0;
      while (done < data.length) done += await conn.write(done ? data.subarray(done) : data);
      return done;
    },
    readSync: () => {
      throw new Error("no sync calls on Deno.Conn");
    },
    writeSync: () => {
      throw new Error("no sync calls on Deno.Conn");
    },
  };
}

/**
 * A Bun socket driven by callbacks: `send` writes a whole message (the rest of a short
 * write goes on `drain`), and each chunk that arrives goes to `onData`.
 */
class BunLink {
  socket: BunSocket | null = null;
  onData: (chunk: Uint8Array) => void = () => {};
  #pending: Uint8Array | null = null;
  #drained: (() => void) | null = null;

  /** Writes `bytes`; `then` runs once all of them are written. */
  send(bytes: Uint8Array, then?: () => void): void {
    const n = this.socket!.write(bytes);
    if (n < 0) throw new Error("the socket is closed");
    if (n === bytes.length) return then?.();
    this.#pending = bytes.subarray(n);
    this.#drained = then ?? null;
  }

  drain(): void {
    const rest = this.#pending;
    if (rest === null) return;
    this.#pending = null;
    const then = this.#drained;
    this.#drained = null;
    this.send(rest, then ?? undefined);
  }
}

/**
 * Cuts a chunk of a byte stream into messages of `size` bytes, collected in `into`.
 *
 * @returns For each chunk: calls `whole()` once per completed message.
 */
function splitter(into: Uint8Array, whole: () => void): (chunk: Uint8Array) => void {
  let got = 0;
  return (chunk) => {
    for (let at = 0; at < chunk.length;) {
      const take = Math.min(into.length - got, chunk.length - at);
      into.set(take === chunk.length ? chunk : chunk.subarray(at, at + take), got);
      got += take;
      at += take;
      if (got === into.length) {
        got = 0;
        whole();
      }
    }
  };
}

/** The parent side of a case on Bun. */
function bunParent(c: Case, link: BunLink): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const where = `parent ${caseKey(c)}`;
    const timer = new Timer(c);
    const total = c.warmup + c.messages;
    const msg = new Uint8Array(c.size);
    const reply = new Uint8Array(c.size);
    let i = 0;
    let bytes = 0;
    const next = () => {
      timer.tick(i);
      if (c.kind === "rtt") {
        mark(msg, i);
        link.send(msg);
      }
    };
    link.onData = splitter(reply, () => {
      try {
        verify(reply, c.size, i, where);
        if (i >= c.warmup) bytes += c.kind === "rtt" ? 2 * c.size : c.size;
        if (++i < total) return next();
        timer.tick(total);
        link.onData = () => reject(new Error(`${where}: more data than expected`));
        resolve(result(c, timer, bytes, false));
      } catch (e) {
        reject(e);
      }
    });
    if (c.kind === "stream") link.send(new Uint8Array(1));
    next();
  });
}

/** The child side of every case on Bun, one after the other; resolves after the last. */
function bunChild(cases: Case[], link: BunLink): Promise<void> {
  return new Promise((resolve, reject) => {
    let k = -1;
    const start = () => {
      if (++k === cases.length) return resolve();
      const c = cases[k]!;
      const total = c.warmup + c.messages;
      const buf = new Uint8Array(c.size);
      if (c.kind === "rtt") {
        let echoed = 0;
        link.onData = splitter(buf, () => link.send(buf, () => ++echoed === total && start()));
        return;
      }
      let i = 0;
      const stream = () => {
        while (i < total) {
          mark(buf, i++);
          let waiting = false;
          let written = false;
          link.send(buf, () => {
            written = true;
            if (waiting) stream(); // the rest went on drain: go on from here
          });
          waiting = true;
          if (!written) return;
        }
        start();
      };
      link.onData = splitter(new Uint8Array(1), () => {
        try {
          stream();
        } catch (e) {
          reject(e);
        }
      });
    };
    start();
  });
}

export const group: Group = {
  async start(_cases, launch) {
    const dir = mkdtempSync(join(tmpdir(), "sysipc-bench-unix-"));
    const path = join(dir, "s");
    if (CURRENT === "deno") {
      const listener = Deno.listen({ transport: "unix", path });
      const child = launch([path]);
      const conn = await listener.accept();
      listener.close();
      const io = denoIo(conn);
      return session(child, (c) => byteStreamParent(c, io, io, false), () => {
        conn.close();
        rmSync(dir, { recursive: true, force: true });
      });
    }
    const link = new BunLink();
    let connected!: () => void;
    const opened = new Promise<void>((resolve) => connected = resolve);
    const server = bunApi().listen({
      unix: path,
      socket: {
        open(socket) {
          link.socket = socket;
          connected();
        },
        data: (_socket, chunk) => link.onData(chunk),
        drain: () => link.drain(),
      },
    });
    const child = launch([path]);
    await opened;
    return session(child, (c) => bunParent(c, link), () => {
      server.stop(true);
      rmSync(dir, { recursive: true, force: true });
    });
  },
  async child(cases, [path]) {
    if (CURRENT === "deno") {
      const conn = await Deno.connect({ transport: "unix", path: path! });
      const io = denoIo(conn);
      for (const c of cases) await byteStreamChild(c, io, io);
      conn.close();
      return;
    }
    const link = new BunLink();
    link.socket = await bunApi().connect({
      unix: path!,
      socket: {
        data: (_socket, chunk) => link.onData(chunk),
        drain: () => link.drain(),
      },
    });
    await bunChild(cases, link);
    link.socket.end();
  },
};

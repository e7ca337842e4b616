import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IpcError } from "../ffi/errors.ts";
import { setWaitSpin } from "../ffi/wait/mod.ts";
import { pipe, PipeReader, PipeWriter } from "../pipe/mod.ts";
import { noLeak, readAll, sleep } from "./helpers.ts";

const text = (bytes: Uint8Array, n: number | null) =>
  new TextDecoder().decode(bytes.subarray(0, n ?? 0));

function rejectsWith(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof IpcError, `expected IpcError, got ${e}`);
    assert.equal(e.code, code);
    return true;
  };
}

describe("pipe: sync", () => {
  it("carries bytes and strings, and reads null once every writer closed", () =>
    noLeak(() => {
      const [r, w] = pipe();
      assert.equal(w.writeSync("héllo"), 6);
      assert.equal(w.writeSync(new Uint8Array([1, 2, 3])), 3);
      const buf = new Uint8Array(64);
      assert.equal(r.readSync(buf), 9);
      assert.equal(text(buf.subarray(0, 6), 6), "héllo");
      assert.deepEqual([...buf.subarray(6, 9)], [1, 2, 3]);
      w.close();
      assert.equal(r.readSync(buf), null);
      assert.equal(r.readSync(new Uint8Array(0)), 0);
      r.close();
    }));

  it("throws EPIPE when no reader is left, and the process survives", () =>
    noLeak(() => {
      const [r, w] = pipe();
      r.close();
      assert.throws(() => w.writeSync("x"), rejectsWith("EPIPE"));
      assert.throws(() => w.writeSync("x"), /EPIPE: Broken pipe, write/);
      w.close();
    }));

  it("fails with EAGAIN instead of blocking when non-blocking", () =>
    noLeak(() => {
      const [r, w] = pipe({ nonBlocking: true });
      assert.throws(() => r.readSync(new Uint8Array(8)), rejectsWith("EAGAIN"));
      const big = new Uint8Array(1 << 20);
      const n = w.writeSync(big);
      assert.ok(n > 0 && n < big.length, `a full pipe takes part of a large write (${n})`);
      assert.equal(n, w.capacity);
      assert.throws(() => w.writeSync("more"), rejectsWith("EAGAIN"));
      r.close();
      w.close();
    }));

  it("keeps message boundaries in packet mode (O_DIRECT)", () =>
    noLeak(() => {
      const [r, w] = pipe({ packet: true });
      w.writeSync("first");
      w.writeSync("second!");
      const buf = new Uint8Array(100);
      assert.equal(text(buf, r.readSync(buf)), "first");
      assert.equal(text(buf, r.readSync(buf)), "second!");
      w.writeSync("truncated packet");
      w.writeSync("next");
      assert.equal(r.readSync(new Uint8Array(4)), 4, "a short read takes part of a packet");
      // The kernel discarded the rest of that packet (documented): the next read gets the
      // next packet.
      assert.equal(text(buf, r.readSync(buf)), "next");
      r.close();
      w.close();
    }));

  it("reads and sets the pipe capacity", () =>
    noLeak(() => {
      const [r, w] = pipe();
      assert.equal(w.capacity, 65536);
      w.capacity = 200_000;
      assert.equal(w.capacity, 262144, "rounded up to a power-of-two number of pages");
      w.capacity = 16384;
      assert.equal(w.capacity, 16384);
      w.writeSync(new Uint8Array(10_000));
      assert.throws(() => (w.capacity = 4096), rejectsWith("EBUSY"));
      assert.throws(() => (w.capacity = -1), RangeError);
      assert.throws(() => (w.capacity = 1.5), TypeError);
      r.close();
      w.close();
    }));
});

describe("pipe: async", () => {
  it("waits for data without blocking timers or other I/O", () =>
    noLeak(async () => {
      for (const spin of [0, 50]) {
        setWaitSpin(spin);
        const [r, w] = pipe();
        const [r2, w2] = pipe();
        let ticks = 0;
        const interval = setInterval(() => ticks++, 5);
        const other = r2.read(new Uint8Array(8));
        setTimeout(() => w2.writeSync("other"), 20);
        setTimeout(() => w.writeSync("late"), 120);
        const buf = new Uint8Array(16);
        const n = await r.read(buf);
        clearInterval(interval);
        assert.equal(text(buf, n), "late");
        assert.equal(await other, 5, "another pipe's read completed meanwhile");
        assert.ok(ticks >= 10, `timers ran while waiting (spin ${spin}): ${ticks} ticks`);
        for (const h of [r, w, r2, w2]) h.close();
      }
      setWaitSpin(50);
    }));

  it("returns null at end of stream and EPIPE for a writer without reader", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      setTimeout(() => w.close(), 10);
      assert.equal(await r.read(new Uint8Array(4)), null);
      r.close();
      const [r2, w2] = pipe();
      r2.close();
      await assert.rejects(w2.write("x"), rejectsWith("EPIPE"));
      w2.close();
    }));

  it("times out with ETIMEDOUT, tries once with timeout 0, and aborts with the reason", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const buf = new Uint8Array(4);
      const t0 = performance.now();
      await assert.rejects(r.read(buf, { timeout: 50 }), rejectsWith("ETIMEDOUT"));
      const waited = performance.now() - t0;
      assert.ok(waited >= 45 && waited < 1000, `waited ${waited} ms`);
      await assert.rejects(r.read(buf, { timeout: 0 }), rejectsWith("EAGAIN"));
      const controller = new AbortController();
      const reason = new Error("changed my mind");
      setTimeout(() => controller.abort(reason), 20);
      await assert.rejects(r.read(buf, { signal: controller.signal }), (e) => e === reason);
      await assert.rejects(
        r.read(buf, { signal: AbortSignal.abort("early") }),
        (e) => e === "early",
      );
      // Nothing was left pending: the next write is read by the next read, whole.
      w.writeSync("abcd");
      assert.equal(text(buf, await r.read(buf, { timeout: 0 })), "abcd");
      r.close();
      w.close();
    }));

  it("rejects a pending read with EBADF when the reader is closed", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const pending = r.read(new Uint8Array(4));
      setTimeout(() => r.close(), 10);
      await assert.rejects(pending, rejectsWith("EBADF"));
      w.close();
    }));

  it("writes everything, waiting for room as the reader drains", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const data = new Uint8Array(1_000_000).map((_, i) => i % 251);
      const writing = w.write(data).then((n) => {
        w.close();
        return n;
      });
      const got = new Uint8Array(data.length);
      let at = 0;
      const buf = new Uint8Array(30_000);
      while (true) {
        const n = await r.read(buf);
        if (n === null) break;
        got.set(buf.subarray(0, n), at);
        at += n;
      }
      assert.equal(await writing, data.length);
      assert.equal(at, data.length);
      assert.deepEqual(got, data);
      r.close();
    }));

  it("bounds a whole write by its timeout and says how much was written", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      // Nobody reads: the first 64 KiB fit, then the write times out.
      await assert.rejects(w.write(new Uint8Array(200_000), { timeout: 30 }), (e) => {
        assert.ok(e instanceof IpcError && e.code === "ETIMEDOUT");
        assert.equal(e.bytesWritten, 65536);
        assert.match(e.message, /after 65536 of 200000 bytes were written/);
        return true;
      });
      // A slow reader keeps making room; the timeout still bounds the write as a whole.
      const drain = setInterval(() => r.readSync(new Uint8Array(8192)), 10);
      const t0 = performance.now();
      await assert.rejects(w.write(new Uint8Array(10_000_000), { timeout: 120 }), /ETIMEDOUT/);
      const took = performance.now() - t0;
      clearInterval(drain);
      assert.ok(took >= 110 && took < 600, `the write took ${took} ms`);
      // EPIPE after a partial write reports the bytes that went through too.
      const [r2, w2] = pipe();
      const pending = w2.write(new Uint8Array(100_000));
      setTimeout(() => r2.close(), 10);
      await assert.rejects(pending, (e) => {
        assert.ok(e instanceof IpcError && e.code === "EPIPE");
        assert.equal(e.bytesWritten, 65536);
        return true;
      });
      w2.close();
      r.close();
      w.close();
      r.close();
    }));

  it("reads into and writes from subarrays at their own offsets", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const source = new TextEncoder().encode("..XYZ..");
      await w.write(source.subarray(2, 5));
      const target = new Uint8Array(12).fill(46); // "."
      assert.equal(await r.read(target.subarray(4, 8)), 3);
      assert.equal(new TextDecoder().decode(target), "....XYZ.....");
      r.close();
      w.close();
    }));

  it("mixes sync and async reads on one reader without losing bytes", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const buf = new Uint8Array(3);
      w.writeSync("abcdef");
      assert.equal(text(buf, await r.read(buf)), "abc");
      assert.equal(text(buf, r.readSync(buf)), "def");
      setTimeout(() => w.writeSync("ghi"), 10);
      assert.equal(text(buf, await r.read(buf)), "ghi");
      r.close();
      w.close();
    }));
});

describe("pipe: web streams", () => {
  it("pipes a WritableStream into a ReadableStream and closes both ends", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      const source = new Blob(["line one\n", "line two\n"]).stream();
      const piping = source.pipeTo(w.writable);
      const received = await new Response(r.readable).text();
      await piping;
      assert.equal(received, "line one\nline two\n");
      assert.ok(r.closed && w.closed);
    }));

  it("closes the reader when its stream is cancelled", () =>
    noLeak(async () => {
      const [r, w] = pipe();
      await r.readable.cancel();
      assert.ok(r.closed);
      assert.throws(() => w.writeSync("x"), rejectsWith("EPIPE"));
      w.close();
    }));
});

describe("pipe: bad input", () => {
  it("rejects wrong argument types with TypeError and closed handles with EBADF", async () => {
    const [r, w] = pipe();
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => r.readSync("nope"), /into must be a Uint8Array/);
    // @ts-expect-error: wrong type on purpose
    await assert.rejects(r.read(null), TypeError);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => w.writeSync(42), /data must be a Uint8Array or a string/);
    await assert.rejects(r.read(new Uint8Array(1), { timeout: -1 }), RangeError);
    // @ts-expect-error: wrong type on purpose
    await assert.rejects(r.read(new Uint8Array(1), { timeout: "1" }), TypeError);
    // @ts-expect-error: wrong type on purpose
    await assert.rejects(r.read(new Uint8Array(1), { signal: {} }), TypeError);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => pipe("yes"), TypeError);
    r.close();
    r.close(); // idempotent
    w[Symbol.dispose]();
    assert.equal(r.fd, -1);
    assert.ok(r.closed && w.closed);
    assert.throws(() => r.readSync(new Uint8Array(1)), /EBADF: PipeReader is closed, read/);
    await assert.rejects(r.read(new Uint8Array(1)), rejectsWith("EBADF"));
    assert.throws(() => w.writeSync("x"), /EBADF: PipeWriter is closed, write/);
    assert.throws(() => w.capacity, rejectsWith("EBADF"));
    assert.throws(() => r.readable, rejectsWith("EBADF"));
  });

  it("validates descriptors given to fromFd", () => {
    assert.throws(() => PipeReader.fromFd(-1), RangeError);
    assert.throws(() => PipeWriter.fromFd(1.5), TypeError);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => PipeReader.fromFd("3"), TypeError);
    const bogus = PipeReader.fromFd(987_654);
    assert.throws(() => bogus.readSync(new Uint8Array(1)), rejectsWith("EBADF"));
    bogus.close();
  });

  it("reads a whole stream through readAll", async () => {
    const [r, w] = pipe();
    setTimeout(() => {
      w.writeSync("a");
      w.close();
    }, 5);
    assert.equal(await readAll(r), "a");
    r.close();
    await sleep(0);
  });
});

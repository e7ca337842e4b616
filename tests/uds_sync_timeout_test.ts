/**
 * The sync forms of Unix sockets take a `timeout` like every other wait in sysipc (issue
 * 14: a silent peer must not hang a survivor forever): `readSync`, `receiveSync`,
 * `writeSync`, `sendSync`, and a datagram socket's `receiveFromSync` and `sendToSync`.
 * `undefined` waits forever, 0 tries once (`EAGAIN`), more gives up with `ETIMEDOUT`; a
 * write cut short by the timeout says how much went through.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type IpcError, socketpair, UnixDatagram } from "../mod.ts";
import { isCode, noLeak, uniqueName } from "./helpers.ts";

/** Runs `call`, which must fail with `code` after about `ms` (generous bounds: busy CPUs). */
function timesOut(call: () => unknown, code: string, ms: number): IpcError {
  const start = performance.now();
  let error: unknown;
  assert.throws(call, (e) => (error = e, isCode(code)(e)));
  const took = performance.now() - start;
  assert.ok(took >= ms - 1, `gave up after ${took.toFixed(1)} ms, before its ${ms} ms`);
  assert.ok(took < ms + 5000, `took ${took.toFixed(0)} ms`);
  return error as IpcError;
}

describe("sync socket forms take a timeout", () => {
  for (const type of ["stream", "seqpacket"] as const) {
    it(`${type}: readSync and receiveSync time out on a silent peer, and still read`, () =>
      noLeak(() => {
        const [a, b] = socketpair(type);
        using _a = a;
        using _b = b;
        const buf = new Uint8Array(16);
        timesOut(() => b.readSync(buf, { timeout: 0 }), "EAGAIN", 0);
        timesOut(() => b.readSync(buf, { timeout: 30 }), "ETIMEDOUT", 30);
        timesOut(() => b.receiveSync({ timeout: 0 }), "EAGAIN", 0);
        timesOut(() => b.receiveSync({ timeout: 30, maxSize: 8 }), "ETIMEDOUT", 30);
        a.writeSync("hi", { timeout: 1000 });
        assert.equal(b.readSync(buf, { timeout: 1000 }), 2);
        a.sendSync("yo", { timeout: 0 });
        assert.equal(new TextDecoder().decode(b.receiveSync({ timeout: 1000 })!.data), "yo");
        a.close();
        assert.equal(b.readSync(buf, { timeout: 1000 }), null, "end of stream, not a timeout");
        assert.throws(() => b.readSync(buf, { timeout: -1 }), RangeError);
        assert.throws(() => b.receiveSync({ timeout: "1" as unknown as number }), TypeError);
      }));
  }

  it("writeSync and sendSync time out on a peer that does not read; bytesWritten", () =>
    noLeak(() => {
      const [a, b] = socketpair("stream");
      using _a = a;
      using _b = b;
      const big = new Uint8Array(8 << 20);
      const e = timesOut(() => a.writeSync(big, { timeout: 50 }), "ETIMEDOUT", 50);
      const written = (e as IpcError & { bytesWritten?: number }).bytesWritten;
      assert.ok(written !== undefined && written > 0 && written < big.length, `${written}`);
      timesOut(() => a.sendSync("more", { timeout: 0 }), "EAGAIN", 0);
      const [c, d] = socketpair("seqpacket");
      using _c = c;
      using _d = d;
      let sent = 0;
      assert.throws(() => {
        while (true) sent += c.sendSync(new Uint8Array(4096), { timeout: 20 });
      }, isCode("ETIMEDOUT"));
      assert.ok(sent > 0, "messages went until the queue was full");
    }));

  it("datagram: receiveFromSync and sendToSync time out", () =>
    noLeak(() => {
      const abstract = uniqueName("dgram-timeout");
      using inbox = UnixDatagram.bind({ abstract });
      using sender = UnixDatagram.bind();
      timesOut(() => inbox.receiveFromSync({ timeout: 0 }), "EAGAIN", 0);
      timesOut(() => inbox.receiveFromSync({ timeout: 30 }), "ETIMEDOUT", 30);
      // Fill the receiver's queue (nobody reads): then a send times out.
      assert.throws(() => {
        while (true) sender.sendToSync({ abstract }, new Uint8Array(1024), { timeout: 20 });
      }, isCode("ETIMEDOUT"));
      assert.equal(inbox.receiveFromSync({ timeout: 1000 }).data.length, 1024);
    }));
});

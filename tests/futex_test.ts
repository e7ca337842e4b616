import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { C, IpcError, libc, runtime, stableCString } from "../ffi/mod.ts";
import { futexWord, waitEngine, waitFutex, waitFutexSync, wakeFutex } from "../ffi/wait/mod.ts";
import { spawn } from "../pipe/mod.ts";
import { fixtureCommand, noLeak, type RuntimeName, sleep } from "./helpers.ts";

const SYS_memfd_create = 319, SYS_ftruncate = 77, MFD_CLOEXEC = 1;

/** A memfd of one page, mapped shared: what two processes can both map. */
function sharedPage() {
  const fd = libc.syscall(
    SYS_memfd_create,
    runtime.addressOf(stableCString("futex-test")),
    MFD_CLOEXEC,
    0,
    0,
    0,
    0,
  );
  assert.ok(fd >= 0);
  assert.equal(libc.syscall(SYS_ftruncate, fd, 4096, 0, 0, 0, 0), 0);
  const address = libc.mmap(0, 4096, C.PROT_READ | C.PROT_WRITE, C.MAP_SHARED, fd, 0);
  const buffer = runtime.memory(address, 4096);
  const view = new Int32Array(buffer);
  return {
    fd,
    view,
    [Symbol.dispose]() {
      buffer.transfer(0);
      libc.munmap(address, 4096);
      libc.close(fd);
    },
  };
}

const context = { syscall: "futex" };

describe("futex waits", () => {
  it("an async wait ends when the word changes and a waker wakes it", () =>
    noLeak(async () => {
      using page = sharedPage();
      const word = futexWord(page.view, 1);
      assert.equal(await waitFutex(word, 5, undefined, context), "changed", "0 is not 5");
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      setTimeout(() => {
        Atomics.store(page.view, 1, 1);
        wakeFutex(word);
      }, 60);
      const t0 = performance.now();
      const result = await waitFutex(word, 0, { timeout: 5000 }, context);
      clearInterval(ticker);
      assert.ok(performance.now() - t0 >= 50, "it waited for the change");
      // The ring wakes on the wake-up; the polling backend notices the change.
      assert.equal(result, waitEngine() === "io_uring" ? "woken" : "changed");
      assert.ok(ticks >= 5, `the event loop ran while waiting (${ticks} ticks)`);
    }));

  it("times out, aborts, and leaves no waiter behind", () =>
    noLeak(async () => {
      using page = sharedPage();
      const word = futexWord(page.view, 2);
      await assert.rejects(waitFutex(word, 0, { timeout: 40 }, context), (e) =>
        e instanceof IpcError && e.code === "ETIMEDOUT");
      const controller = new AbortController();
      setTimeout(() =>
        controller.abort("stop"), 20);
      await assert.rejects(waitFutex(word, 0, { signal: controller.signal }, context), (e) =>
        e === "stop");
      await sleep(10);
      assert.equal(wakeFutex(word), 0, "no waiter is left in the kernel");
      assert.throws(() =>
        waitFutexSync(word, 0, 30), (e) =>
        e instanceof IpcError && e.code === "ETIMEDOUT");
      assert.equal(waitFutexSync(word, 7, 30), "changed");
    }));

  for (const peer of ["deno", "bun"] as RuntimeName[]) {
    for (const mode of ["sync", "async"]) {
      it(`1,000 rounds with a ${peer} process waiting ${mode}`, async () => {
        using page = sharedPage();
        const word = futexWord(page.view, 0);
        const [command, args] = fixtureCommand(peer, "futex_peer.ts", [mode, "1000"]);
        const [out, outWriter] = (await import("../pipe/mod.ts")).pipe();
        const child = spawn(command, args, { fds: { 3: page.fd }, stdout: outWriter });
        outWriter.close();
        for (let i = 0; i < 1000; i++) {
          Atomics.store(page.view, 0, 2 * i + 1);
          wakeFutex(word);
          while (Atomics.load(page.view, 0) !== 2 * i + 2) {
            await waitFutex(word, 2 * i + 1, { timeout: 10_000 }, context);
          }
        }
        const text = new TextDecoder().decode(
          new Uint8Array(await new Response(out.readable).arrayBuffer()),
        );
        assert.deepEqual(await child.status, { code: 0, signal: null });
        assert.deepEqual(JSON.parse(text), { rounds: 1000, last: 2000 });
      });
    }
  }
});

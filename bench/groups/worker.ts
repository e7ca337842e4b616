/**
 * A `Worker` in the same process, echoing what `postMessage` sends it (mechanism `worker`,
 * mode `builtin`): the built-in way to talk to another thread, for comparison. Each
 * round trip posts a `Uint8Array` (structured clone: a copy) and awaits the echo. The
 * Worker is a thread of this process, so it runs wherever this process may run: with
 * `--pin split` both ends share CPU 0, whatever the placement says.
 *
 * @module
 */
import { type Case, caseKey, mark, timedLoop, verify } from "./_common.ts";
import { type Group, result } from "./_group.ts";

export const group: Group = {
  start() {
    const worker = new Worker(new URL("./worker_echo.ts", import.meta.url).href, {
      type: "module",
    });
    let next: (data: Uint8Array) => void = () => {};
    worker.onmessage = (e: MessageEvent<Uint8Array>) => next(e.data);
    return Promise.resolve({
      pids: [],
      async run(c: Case) {
        const where = `parent ${caseKey(c)}`;
        const msg = new Uint8Array(c.size);
        let bytes = 0;
        const timer = await timedLoop(c, async (i) => {
          mark(msg, i);
          const echo = new Promise<Uint8Array>((resolve) => next = resolve);
          worker.postMessage(msg);
          verify(await echo, c.size, i, where);
          if (i >= c.warmup) bytes += 2 * c.size;
        });
        return result(c, timer, bytes, false);
      },
      finish() {
        worker.terminate();
        return Promise.resolve();
      },
    });
  },
  child() {
    return Promise.reject(new Error("the worker group has no child process"));
  },
};

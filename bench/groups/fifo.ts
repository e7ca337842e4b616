/**
 * The FIFO group: two FIFOs made with `mkfifo` in a temporary directory, one each way,
 * opened by path on both sides (so the async calls go through the private non-blocking
 * description that FIFOs need, see README "How async waits work"). Cases: round trips and
 * streams, `sync` and `async`.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  mkfifo,
  openFifoReader,
  openFifoReaderSync,
  openFifoWriter,
  openFifoWriterSync,
} from "../../fifo/mod.ts";
import { byteStreamChild, byteStreamParent, type Group, readFull, session } from "./_group.ts";

export const group: Group = {
  async start(_cases, launch) {
    const dir = mkdtempSync(join(tmpdir(), "sysipc-bench-fifo-"));
    const [ping, pong] = [join(dir, "ping"), join(dir, "pong")];
    mkfifo(ping);
    mkfifo(pong);
    const writer = openFifoWriter(ping);
    const reader = openFifoReader(pong);
    const child = launch([dir]);
    const [w, r] = [await writer, await reader];
    // Where io_uring is unavailable a FIFO reader's open returns before any writer came
    // (platform.fifoReaderWaitsForWriter), and a sync read would then see end of stream:
    // the child says hello once its writer is open, and the async read waits for it.
    await readFull(r, new Uint8Array(1));
    return session(
      child,
      (c) => byteStreamParent(c, w, r),
      () => {
        w.close();
        r.close();
        rmSync(dir, { recursive: true, force: true });
      },
    );
  },
  async child(cases, [dir]) {
    using reader = openFifoReaderSync(join(dir!, "ping"));
    using writer = openFifoWriterSync(join(dir!, "pong"));
    writer.writeSync(new Uint8Array(1)); // hello
    for (const c of cases) await byteStreamChild(c, reader, writer);
  },
};

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
import { byteStreamChild, byteStreamParent, type Group, session } from "./_group.ts";

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
    for (const c of cases) await byteStreamChild(c, reader, writer);
  },
};

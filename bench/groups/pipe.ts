/**
 * The pipe group: two anonymous pipes, one each way, handed to the child at fds 3 and 4.
 * Cases: round trips and streams, `sync` (`writeSync`/`readSync`), `async` (`await
 * write`/`await read`, the adaptive spin) and `async-nospin` (spin 0: every wait parks).
 *
 * @module
 */
import { pipe, PipeReader, PipeWriter } from "../../pipe/mod.ts";
import type { Case } from "./_common.ts";
import { byteStreamChild, byteStreamParent, type Group, session } from "./_group.ts";

export const group: Group = {
  start(_cases: Case[], launch) {
    const [pingReader, pingWriter] = pipe();
    const [pongReader, pongWriter] = pipe();
    const child = launch([], { 3: pingReader, 4: pongWriter });
    pingReader.close();
    pongWriter.close();
    return Promise.resolve(session(
      child,
      (c) => byteStreamParent(c, pingWriter, pongReader),
      () => {
        pingWriter.close();
        pongReader.close();
      },
    ));
  },
  async child(cases) {
    using reader = PipeReader.fromFd(3);
    using writer = PipeWriter.fromFd(4);
    for (const c of cases) await byteStreamChild(c, reader, writer);
  },
};

/**
 * The IPC channel of `node:child_process` (mechanism `child-ipc`, mode `builtin`), which
 * both runtimes have: the child is started with an `"ipc"` descriptor and echoes every
 * message with `process.send`. Each round trip sends `[sequence number, a string of
 * size bytes]` (serialized as JSON, the channel's default) and awaits the echo, checking
 * both.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { type Case, caseKey, timedLoop } from "./_common.ts";
import { type Group, result } from "./_group.ts";

type Message = [number, string];

export const group: Group = {
  async start(_cases, launch) {
    const [command, args] = launch.command([]);
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    let next: (m: Message) => void = () => {};
    child.on("message", (m) => next(m as Message));
    await new Promise<void>((resolve) => next = () => resolve()); // the child is listening
    return {
      pids: [child.pid!],
      async run(c: Case) {
        const where = `parent ${caseKey(c)}`;
        const text = "x".repeat(c.size);
        let bytes = 0;
        const timer = await timedLoop(c, async (i) => {
          const echo = new Promise<Message>((resolve) => next = resolve);
          child.send([i, text]);
          const [seq, back] = await echo;
          if (seq !== i || back !== text) throw new Error(`${where}: wrong echo of ${i}`);
          if (i >= c.warmup) bytes += 2 * c.size;
        });
        return result(c, timer, bytes, false);
      },
      async finish() {
        child.disconnect();
        const code = await exited;
        if (code !== 0) throw new Error(`the child side failed: exit code ${code}`);
      },
    };
  },
  child() {
    process.on("message", (m) => process.send!(m));
    process.send!([-1, "ready"]);
    return new Promise((resolve) => process.on("disconnect", () => resolve()));
  },
};

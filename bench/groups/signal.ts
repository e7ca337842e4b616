/**
 * The signal group: `SIGRTMIN` with a value (`sigqueue`), sent back by the child with the
 * same value, received by a `SignalReceiver` on both sides: `sync` (`receiveSync`) or
 * `async` (`await receive()`). The child first sends -1 to say it listens. A case's size
 * is 4: the value each signal carries, checked on every reply.
 *
 * @module
 */
import process from "node:process";
import { SignalReceiver, sigqueue } from "../../signal/mod.ts";
import { type Case, caseKey, timedLoop } from "./_common.ts";
import { type Group, result } from "./_group.ts";

const TIMEOUT = 30_000;

export const group: Group = {
  async start(_cases, launch) {
    const receiver = SignalReceiver.listen(["SIGRTMIN"]);
    const child = launch([String(process.pid)]);
    if ((await receiver.receive({ timeout: TIMEOUT })).value !== -1) {
      throw new Error("the child did not say it listens");
    }
    return {
      pids: [child.pid],
      async run(c: Case) {
        const where = `parent ${caseKey(c)}`;
        let bytes = 0;
        const check = (got: number, i: number) => {
          if (got !== i) throw new Error(`${where}: reply ${got} to signal ${i}`);
          if (i >= c.warmup) bytes += 8;
        };
        const timer = await timedLoop(
          c,
          c.mode === "sync"
            ? (i) => {
              sigqueue(child.pid, "SIGRTMIN", i);
              check(receiver.receiveSync({ timeout: TIMEOUT }).value, i);
            }
            : async (i) => {
              sigqueue(child.pid, "SIGRTMIN", i);
              check((await receiver.receive({ timeout: TIMEOUT })).value, i);
            },
        );
        return result(c, timer, bytes);
      },
      async finish() {
        sigqueue(child.pid, "SIGRTMIN", -2); // the end
        const status = await child.status;
        receiver.close();
        if (status.code !== 0) throw new Error(`the child side failed: ${status.code}`);
      },
    };
  },
  async child(cases, [parentText]) {
    const parent = Number(parentText);
    using receiver = SignalReceiver.listen(["SIGRTMIN"]);
    sigqueue(parent, "SIGRTMIN", -1);
    for (const c of cases) {
      for (let i = 0; i < c.warmup + c.messages; i++) {
        const info = c.mode === "sync"
          ? receiver.receiveSync({ timeout: TIMEOUT })
          : await receiver.receive({ timeout: TIMEOUT });
        sigqueue(parent, "SIGRTMIN", info.value);
      }
    }
    if (receiver.receiveSync({ timeout: TIMEOUT }).value !== -2) throw new Error("no end");
  },
};

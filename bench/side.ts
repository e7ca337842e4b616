/**
 * One side of a group of cases on the runtime running it (the driver is bench/run.ts):
 * the parent makes the group's objects, starts the child side (this script again, with
 * `--child`, pinned to `--peer-cpu` with taskset), prints `{"pids":[…]}`, then runs each
 * case of `--cases` in order and prints one JSON line per case (`CaseResult` in
 * bench/groups/_common.ts). Both sides read the same list, so they move in step.
 *
 * Usage: side.ts <group> --cases SPEC [--peer-cpu N]
 *        side.ts <group> --child --cases SPEC [group arguments…]
 * Groups: pipe, fifo, uds, shm, mq, sem, signal, unix (the runtime's built-in Unix socket),
 * worker (`postMessage` to a Worker), ipc (`node:child_process`'s IPC channel), port (a
 * sysipc `Port`, and the runtimes' own ways to send an object).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { type FdSource, spawn } from "../pipe/mod.ts";
import { CURRENT, intOption, pinned, scriptCommand } from "./_runtime.ts";
import { parseCases } from "./groups/_common.ts";
import type { Group } from "./groups/_group.ts";

const { values, positionals } = parseArgs({
  options: {
    cases: { type: "string" },
    child: { type: "boolean", default: false },
    "peer-cpu": { type: "string" },
  },
  allowPositionals: true,
});
const [name, ...rest] = positionals;
if (name === undefined || values.cases === undefined) {
  throw new TypeError("usage: side.ts <group> [--child] --cases SPEC [--peer-cpu N]");
}
const LOADERS: Record<string, () => Promise<{ group: Group }>> = {
  pipe: () => import("./groups/pipe.ts"),
  fifo: () => import("./groups/fifo.ts"),
  uds: () => import("./groups/uds.ts"),
  shm: () => import("./groups/shm.ts"),
  mq: () => import("./groups/mq.ts"),
  sem: () => import("./groups/sem.ts"),
  signal: () => import("./groups/signal.ts"),
  unix: () => import("./groups/unix.ts"),
  worker: () => import("./groups/worker.ts"),
  ipc: () => import("./groups/ipc.ts"),
  port: () => import("./groups/port.ts"),
};
const load = LOADERS[name];
if (load === undefined) throw new TypeError(`unknown group ${JSON.stringify(name)}`);
const { group } = await load();
const cases = parseCases(values.cases);

if (values.child) {
  await group.child(cases, rest);
} else {
  const peerCpu = values["peer-cpu"] === undefined
    ? undefined
    : intOption(values["peer-cpu"], "peer-cpu");
  const command = (args: string[]) =>
    pinned(
      peerCpu,
      scriptCommand(CURRENT, "side.ts", [name, "--child", "--cases", values.cases!, ...args]),
    );
  const launch = Object.assign((args: string[], fds?: Record<number, FdSource>) => {
    const [program, argv] = command(args);
    return spawn(program, argv, { fds });
  }, { command });
  const session = await group.start(cases, launch);
  console.log(JSON.stringify({ pids: [process.pid, ...session.pids] }));
  for (const c of cases) console.log(JSON.stringify(await session.run(c)));
  await session.finish();
}

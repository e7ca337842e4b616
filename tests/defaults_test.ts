/**
 * Safe defaults (issue 14), checked in processes of both runtimes started with umasks 000,
 * 022 and 077 (tests/fixtures/defaults.ts makes one of everything and reports):
 *
 * - every object sysipc creates gets mode 0600 by default, and a given mode is honoured:
 *   reduced by the umask for POSIX shared memory, queues, named semaphores, ShmChannels,
 *   mapped files and FIFOs (as in C); as given for System V objects (the kernel applies no
 *   umask to them; checked through `stat()` and as `ipcs` prints them); exactly for socket
 *   files (a client needs write permission, which a umask would take away; never more than
 *   asked);
 * - creating any of them again with `exclusive` fails (`EEXIST`, or `EADDRINUSE` for a
 *   socket file);
 * - every descriptor the process opened meanwhile — the handles' own, and those sysipc
 *   keeps inside (mappings, the wait engine), a connected and an accepted socket, one
 *   received by `SCM_RIGHTS` — is `O_CLOEXEC` (`/proc/self/fdinfo`).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { listen, mkfifo, SharedMemory } from "../mod.ts";
import { CURRENT, fixtureCommand, hasCommand, OTHER, tempDir, uniqueName } from "./helpers.ts";

const O_CLOEXEC = 0o2000000;
const POSIX = ["shm", "mq", "sem", "channel", "mapped file", "fifo"];
const SOCKETS = ["socket file", "datagram file"];
const SYSV = ["sysv shm", "sysv msg", "sysv sem"];
const DESCRIPTORS = [
  "mq",
  "listener",
  "datagram",
  "pipe reader",
  "pipe writer",
  "socketpair",
  "connected",
  "accepted",
  "received by SCM_RIGHTS",
  "memfd",
  "eventfd",
  "fifo reader",
  "fifo writer",
  "pidfd",
];

interface Report {
  modes: Record<string, string>;
  exclusive: Record<string, string>;
  flags: Record<string, string>;
  labelled: string[];
}

function run(runtime: typeof CURRENT, umask: number, dir: string): Promise<Report> {
  const [command, argv] = fixtureCommand(runtime, "defaults.ts", [dir]);
  const script = `umask ${umask.toString(8).padStart(3, "0")} && exec "$@"`;
  return new Promise((resolve, reject) => {
    execFile("sh", ["-c", script, "sh", command, ...argv], { timeout: 30_000 }, (e, out, err) => {
      if (e) reject(new Error(`${e.message}\n${err}`));
      else resolve(JSON.parse(out) as Report);
    });
  });
}

const octal = (n: number) => `0${n.toString(8)}`;

describe("safe defaults: modes, exclusive creation, O_CLOEXEC", () => {
  it("mode bits beyond 0o777 (set-id, sticky) are refused everywhere, mkfifo too", () => {
    using dir = tempDir();
    for (const mode of [0o1777, 0o4600, 0o2600]) {
      assert.throws(() => mkfifo(join(dir.path, "f"), { mode }), /RangeError: mode/);
      assert.throws(() => listen({ path: join(dir.path, "s"), mode }), /RangeError: mode/);
      assert.throws(
        () => SharedMemory.open(`/${uniqueName("mode")}`, { create: true, size: 1, mode }),
        /RangeError: mode/,
      );
    }
  });

  if (!hasCommand("ipcs")) {
    it("modes, exclusive creation and O_CLOEXEC in processes with umasks", {
      skip: "ipcs (util-linux) is not installed",
    }, () => {});
  }
  for (const runtime of hasCommand("ipcs") ? [CURRENT, OTHER] : []) {
    for (const umask of [0o000, 0o022, 0o077]) {
      it(`${runtime}, umask ${octal(umask)}`, async () => {
        using dir = tempDir();
        const { modes, exclusive, flags, labelled } = await run(runtime, umask, dir.path);
        for (const [suffix, mode] of [["", 0o600], ["-0660", 0o660]] as const) {
          for (const kind of POSIX) {
            assert.equal(modes[kind + suffix], octal(mode & ~umask), `${kind}${suffix}`);
          }
          for (const kind of SOCKETS) assert.equal(modes[kind + suffix], octal(mode), kind);
          for (const kind of SYSV) {
            assert.equal(modes[kind + suffix], octal(mode), `${kind}${suffix}`);
            assert.equal(modes[`${kind}${suffix} (ipcs)`], octal(mode), `${kind}${suffix}, ipcs`);
          }
          for (const kind of [...POSIX, ...SOCKETS]) {
            const code = SOCKETS.includes(kind) ? "EADDRINUSE" : "EEXIST";
            assert.equal(exclusive[kind + suffix], code, `exclusive ${kind}${suffix}`);
          }
        }
        for (const kind of SYSV) assert.equal(exclusive[kind], "EEXIST", `exclusive ${kind}`);
        for (const label of DESCRIPTORS) assert.ok(labelled.includes(label), label);
        assert.ok(Object.keys(flags).length >= DESCRIPTORS.length + 4);
        for (const [label, value] of Object.entries(flags)) {
          assert.ok((parseInt(value, 8) & O_CLOEXEC) !== 0, `${label}: flags ${value}`);
        }
      });
    }
  }
});

/**
 * The commands of `sysipc` that look at and change the host's IPC objects: `ls`, `stat`,
 * `rm`, `doctor`, `send`, `recv`, and `bench`, which runs the benchmark suite. Each takes
 * its arguments (after the command's name) and returns the exit status.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { C } from "../ffi/constants.ts";
import { errnoName, IpcError } from "../ffi/errors.ts";
import { errno, libc } from "../ffi/libc.ts";
import { platform } from "../ffi/platform.ts";
import { MessageQueue } from "../mq/message_queue.ts";
import { SysVMessageQueue } from "../mq/sysv_message_queue.ts";
import { Semaphore } from "../sem/semaphore.ts";
import { signalNumber } from "../signal/names.ts";
import { SharedMemory } from "../shm/shared_memory.ts";
import { removeStale, toAddress } from "../uds/address.ts";
import {
  type IpcObject,
  type Kind,
  KIND_NAMES,
  KINDS,
  type Listing,
  listObjects,
} from "./objects.ts";
import { EXIT, say } from "./output.ts";
import { table } from "./table.ts";

/** A command: takes its arguments, returns the exit status. */
export type Command = (args: string[]) => number;

/** A command of `sysipc` with its help text. */
export interface CommandSpec {
  /** One line for the list of commands. */
  summary: string;
  /** The help text (`sysipc <command> --help`). */
  usage: string;
  /** Runs it. */
  run: Command;
}

const KIND_LIST = KINDS.map((k) => `  ${k.padEnd(9)} ${KIND_NAMES[k]}`).join("\n");

const STALE_RULES = `When an object is stale (every process that used it is gone and nothing is
attached); when in doubt it is "unknown", and doctor leaves it alone:
  shm, mq, sem  POSIX objects record no pid. Their users are the processes that
                have them mapped or open now (/proc/PID/maps, /proc/PID/fd). Stale
                when no process does. Processes of other users cannot be looked at
                without privileges: if one could open the object (it is one of the
                owner's, or the mode lets others in), the object is "unknown". A
                program that opens an object only now and then looks stale between
                two uses.
  sysv-shm      nothing attached, and its creator and last attacher (cpid, lpid)
                are gone.
  sysv-mq       its last sender and last receiver (lspid, lrpid) are gone. A queue
                nobody has used yet records no pid: "unknown".
  sysv-sem      nobody waits on it, and the last process to change each semaphore
                (sempid) is gone. A set nobody has changed yet: "unknown".
  socket        a socket file that nothing is bound to (a connect is refused), in
                the directories searched (and one level below them): those given
                with --dir, or else the temporary directory ($TMPDIR), /tmp,
                /dev/shm and $XDG_RUNTIME_DIR.
System V records only the last process of each role: an earlier user still alive
is not seen. A recorded pid counts as gone when no process has it, it is a zombie,
or the process that has it now started after the pid was recorded (reused).`;

const EXIT_CODES = `Exit status: 0 success; 1 a system call failed (such as permission denied);
2 bad usage; 3 no such object; 4 timed out; 5 doctor found stale objects.`;

/** Parses options, or says what is wrong: `undefined` then means exit with `EXIT.usage`. */
function parse<T extends ParseArgsConfig["options"]>(
  command: string,
  args: string[],
  options: T,
  positionals: [min: number, max: number],
):
  | { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }
  | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    usageError(command, (e as Error).message);
    return undefined;
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) return { values, positionals: parsed.positionals };
  const [min, max] = positionals;
  if (parsed.positionals.length < min) {
    usageError(command, "missing argument");
    return undefined;
  }
  if (parsed.positionals.length > max) {
    usageError(command, `unexpected argument '${parsed.positionals[max]}'`);
    return undefined;
  }
  return { values, positionals: parsed.positionals };
}

function usageError(command: string, message: string): void {
  say(2, `sysipc ${command}: ${message}\nRun "sysipc ${command} --help" for its usage.\n`);
}

/** Checks `--kind` values. */
function kindsOf(command: string, values: unknown): Kind[] | undefined {
  const kinds = (values as string[] | undefined) ?? [];
  for (const k of kinds) {
    if (!(KINDS as readonly string[]).includes(k)) {
      usageError(command, `unknown kind '${k}' (one of ${KINDS.join(", ")})`);
      return undefined;
    }
  }
  return kinds as Kind[];
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** SIZE/DEPTH cell of an object. */
function amount(o: IpcObject): string {
  switch (o.kind) {
    case "shm":
    case "sysv-shm":
      return o.size === undefined ? "?" : `${o.size} B`;
    case "mq":
      return o.messages === undefined
        ? (o.bytes === undefined ? "?" : `${o.bytes} B`)
        : `${o.messages}/${o.maxMessages} msg`;
    case "sysv-mq":
      return `${o.messages} msg, ${o.bytes} B`;
    case "sem":
      return o.value === undefined ? "?" : `value ${o.value}`;
    case "sysv-sem":
      return o.values === undefined ? "?" : `values ${o.values.join(",")}`;
    case "socket":
      return o.socketType ?? "-";
  }
}

function pidsCell(o: IpcObject): string {
  if (o.pids.length === 0) return "-";
  const cells = o.pids.map((p) => p.alive ? `${p.pid}` : `${p.pid}(gone)`);
  return [...new Set(cells)].join(" ");
}

function sortObjects(objects: IpcObject[]): IpcObject[] {
  return objects.sort((a, b) =>
    KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) ||
    (a.id ?? 0) - (b.id ?? 0) || a.name.localeCompare(b.name)
  );
}

function objectTable(objects: IpcObject[]): string {
  return table(
    [
      { title: "KIND" },
      { title: "NAME" },
      { title: "KEY" },
      { title: "OWNER" },
      { title: "MODE" },
      { title: "SIZE/DEPTH", right: true },
      { title: "PIDS" },
      { title: "STATE" },
    ],
    objects.map((o) => [
      o.kind,
      o.name,
      o.key ?? "-",
      o.user,
      o.mode,
      amount(o),
      pidsCell(o),
      o.state,
    ]),
  );
}

function notesText(listing: Listing): string {
  return listing.notes.map((n) => `note: ${n}\n`).join("");
}

// ls

const LS_USAGE = `Usage: sysipc ls [--json] [--kind KIND]... [--dir DIR]...

Lists the IPC objects of this host: owner, mode, size or depth, the processes
each records or that use it (marked (gone) when they have ended), and its state
(in-use, stale, unknown; removed for System V shared memory that goes when the
last process detaches).

Kinds:
${KIND_LIST}

PIDS per kind: shm, mq, sem: the processes that have it mapped or open now;
sysv-shm: creator, last attach/detach; sysv-mq: last send, last receive;
sysv-sem: last process to change each semaphore; socket: the holders.

POSIX queues are listed from the mqueue filesystem, wherever it is mounted
(usually /dev/mqueue). Without one, only the queues some process holds open are
listed, and a note says so. Unix sockets are those of this network namespace
(/proc/net/unix) that listen, or are bound datagram sockets; and stale socket
files, as doctor finds them.

Options:
  --json          print {"objects": [...], "notes": [...]} for scripts
  -k, --kind KIND list only this kind; may be repeated
  -d, --dir DIR   look for stale socket files in DIR instead of the default
                  places; may be repeated
  -h, --help      show this help

${STALE_RULES}

${EXIT_CODES}`;

function ls(args: string[]): number {
  const p = parse("ls", args, {
    json: { type: "boolean" },
    kind: { type: "string", short: "k", multiple: true },
    dir: { type: "string", short: "d", multiple: true },
  }, [0, 0]);
  if (p === undefined) return EXIT.usage;
  if (p.values.help) return help(LS_USAGE);
  const kinds = kindsOf("ls", p.values.kind);
  if (kinds === undefined) return EXIT.usage;
  const listing = listObjects({ kinds, dirs: p.values.dir as string[] | undefined });
  sortObjects(listing.objects);
  if (p.values.json) {
    say(1, json(listing));
  } else {
    say(1, objectTable(listing.objects));
    say(2, notesText(listing));
  }
  return EXIT.ok;
}

// stat and rm: finding one object

/** Reads an object argument: a POSIX name, a System V id or key, a socket path. */
function matcher(kind: Kind, target: string): ((o: IpcObject) => boolean) | string {
  if (kind === "shm" || kind === "mq" || kind === "sem") {
    const name = target.startsWith("/") ? target : `/${target}`;
    if (name.length < 2 || name.indexOf("/", 1) !== -1) {
      return `'${target}' is not a POSIX name (/name, no other slash)`;
    }
    return (o) => o.name === name;
  }
  if (kind === "socket") return (o) => o.name === target;
  if (/^0x[0-9a-f]{1,8}$/i.test(target)) {
    const key = `0x${target.slice(2).toLowerCase().padStart(8, "0")}`;
    if (key === "0x00000000") return "key 0x00000000 is private: give the id";
    return (o) => o.key === key;
  }
  if (/^\d+$/.test(target)) return (o) => o.id === Number(target);
  return `'${target}' is neither an id (a number) nor a key (0x followed by hex digits)`;
}

function find(command: string, kind: Kind, target: string): IpcObject | number {
  const match = matcher(kind, target);
  if (typeof match === "string") {
    usageError(command, match);
    return EXIT.usage;
  }
  // A socket file is looked for where it is, wherever that is.
  const dirs = kind === "socket" && target.startsWith("/") ? [dirname(target)] : undefined;
  const listing = listObjects({ kinds: [kind], dirs });
  const found = listing.objects.find(match);
  if (found === undefined) {
    say(2, `sysipc ${command}: no ${kind} ${target}\n${notesText(listing)}`);
    return EXIT.noSuchObject;
  }
  return found;
}

function checkKind(command: string, kind: string): kind is Kind {
  if ((KINDS as readonly string[]).includes(kind)) return true;
  usageError(command, `unknown kind '${kind}' (one of ${KINDS.join(", ")})`);
  return false;
}

const STAT_USAGE = `Usage: sysipc stat KIND NAME|ID|KEY [--json]

Shows everything sysipc knows of one object: owner, mode, size or depth, the
processes it records or that use it and whether they are alive, whether it is
stale and why.

  KIND  ${KINDS.join(", ")}
  NAME  POSIX objects: /name (the leading slash may be left out)
  ID    System V objects: the id, as ls or ipcs shows it
  KEY   System V objects: the key in hex, as ipcs prints it (0x0000abcd)
  PATH  sockets: the path, or @name for an abstract socket

Options:
  --json      print the object as JSON
  -h, --help  show this help

${EXIT_CODES}`;

function stat(args: string[]): number {
  const p = parse("stat", args, { json: { type: "boolean" } }, [2, 2]);
  if (p === undefined) return EXIT.usage;
  if (p.values.help) return help(STAT_USAGE);
  const [kind = "", target = ""] = p.positionals;
  if (!checkKind("stat", kind)) return EXIT.usage;
  const found = find("stat", kind, target);
  if (typeof found === "number") return found;
  if (p.values.json) {
    say(1, json(found));
    return EXIT.ok;
  }
  const rows: [string, string][] = [
    ["kind", `${found.kind}: ${KIND_NAMES[found.kind]}`],
    ["name", found.name],
  ];
  if (found.id !== undefined) rows.push(["id", String(found.id)]);
  if (found.key !== undefined) rows.push(["key", found.key]);
  if (found.path !== undefined) rows.push(["path", found.path]);
  rows.push([
    "owner",
    found.uid === -1 ? "?" : `${found.user} (uid ${found.uid}, gid ${found.gid})`,
  ]);
  rows.push(["mode", found.mode]);
  const fields: [keyof IpcObject, string][] = [
    ["size", "size (bytes)"],
    ["messages", "messages"],
    ["maxMessages", "max messages"],
    ["messageSize", "message size"],
    ["bytes", "bytes queued"],
    ["value", "value"],
    ["values", "values"],
    ["attached", "attached"],
    ["waiting", "waiting"],
    ["socketType", "type"],
  ];
  for (const [field, label] of fields) {
    const value = found[field];
    if (value !== undefined) {
      rows.push([label, Array.isArray(value) ? value.join(", ") : String(value)]);
    }
  }
  rows.push([
    "pids",
    found.pids.length === 0
      ? "none"
      : found.pids.map((p) => `${p.pid} ${p.role} (${p.alive ? "alive" : "gone"})`).join(", "),
  ]);
  rows.push(["state", `${found.state}: ${found.why}`]);
  if (found.changed) rows.push(["changed", new Date(found.changed * 1000).toISOString()]);
  const width = Math.max(...rows.map(([k]) => k.length));
  say(1, rows.map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${v}\n`).join(""));
  return EXIT.ok;
}

/** Removes one object; returns `undefined` or the error's code. */
function remove(o: IpcObject): string | undefined {
  try {
    switch (o.kind) {
      case "shm":
        SharedMemory.unlink(o.name);
        break;
      case "mq":
        MessageQueue.unlink(o.name);
        break;
      case "sem":
        Semaphore.unlink(o.name);
        break;
      case "sysv-shm":
        if (libc.shmctl(o.id!, C.IPC_RMID, null) !== 0) return errnoName(errno());
        break;
      case "sysv-mq":
        if (libc.msgctl(o.id!, C.IPC_RMID, null) !== 0) return errnoName(errno());
        break;
      case "sysv-sem":
        if (libc.syscall(C.SYS_semctl, o.id!, 0, C.IPC_RMID, 0, 0, 0) !== 0) {
          return errnoName(errno());
        }
        break;
      case "socket":
        return removeSocket(o);
    }
  } catch (e) {
    return e instanceof IpcError ? e.code : (e as Error).message;
  }
  return undefined;
}

function removeSocket(o: IpcObject): string | undefined {
  if (o.path === undefined) return "an abstract or unnamed socket has no file: it goes when closed";
  try {
    if (!lstatSync(o.path).isSocket()) return "not a socket file";
    if (o.state === "stale") return removeStale(toAddress({ path: o.path })) ? undefined : "in use";
    unlinkSync(o.path);
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).message;
  }
  return undefined;
}

const RM_USAGE = `Usage: sysipc rm KIND NAME|ID|KEY...

Removes objects: unlinks a POSIX name (processes that have it open keep using it
until they close it), removes a System V object (IPC_RMID: waiters fail at once;
shared memory goes when the last process detaches), or removes a socket file
(the socket, if one is still bound, can no longer be reached by its path).

  KIND  ${KINDS.join(", ")}
  NAME, ID, KEY, PATH as for "sysipc stat --help"

Options:
  -h, --help  show this help

${EXIT_CODES} With several objects, the status is that of the
last failure.`;

function rm(args: string[]): number {
  const p = parse("rm", args, {}, [2, Infinity]);
  if (p === undefined) return EXIT.usage;
  if (p.values.help) return help(RM_USAGE);
  const [kind = "", ...targets] = p.positionals;
  if (!checkKind("rm", kind)) return EXIT.usage;
  let status: number = EXIT.ok;
  for (const target of targets) {
    const found = find("rm", kind, target);
    if (typeof found === "number") {
      status = found;
      continue;
    }
    const failed = remove(found);
    if (failed === undefined) {
      say(1, `removed ${kind} ${found.name}\n`);
    } else {
      say(2, `sysipc rm: cannot remove ${kind} ${found.name}: ${failed}\n`);
      status = failed === "ENOENT" || failed === "EINVAL" || failed === "EIDRM"
        ? EXIT.noSuchObject
        : EXIT.failed;
    }
  }
  return status;
}

// doctor

const DOCTOR_USAGE = `Usage: sysipc doctor [--clean] [--json] [--kind KIND]... [--dir DIR]...

Finds stale IPC objects: objects whose users are all gone and to which nothing
is attached, left behind by programs that crashed or never cleaned up. With
--clean, lists them, looks again, and removes those still stale (so an object
taken into use meanwhile is kept).

Options:
  --clean         remove the stale objects
  --json          print {"stale": [...], "removed": [...], "kept": [...],
                  "failed": [...], "unknown": N, "notes": [...]} for scripts
                  (kept: in use again, or changed, when looked at again)
  -k, --kind KIND only this kind; may be repeated
  -d, --dir DIR   look for stale socket files in DIR instead of the default
                  places; may be repeated
  -h, --help      show this help

${STALE_RULES}

Run it as root for a full view: other users' processes cannot be looked at
otherwise, and objects they could use are then "unknown".

${EXIT_CODES} With --clean: 0 when every stale object was removed (or
kept, being in use again), 1 when one could not be removed.`;

/** The same object on a second look: same name and id, same file (reading a queue's file changes its ctime). */
const identity = (o: IpcObject) => `${o.kind} ${o.name} ${o.id ?? ""} ${o.inode ?? ""}`;

function doctor(args: string[]): number {
  const p = parse("doctor", args, {
    clean: { type: "boolean" },
    json: { type: "boolean" },
    kind: { type: "string", short: "k", multiple: true },
    dir: { type: "string", short: "d", multiple: true },
  }, [0, 0]);
  if (p === undefined) return EXIT.usage;
  if (p.values.help) return help(DOCTOR_USAGE);
  const kinds = kindsOf("doctor", p.values.kind);
  if (kinds === undefined) return EXIT.usage;
  const options = { kinds, dirs: p.values.dir as string[] | undefined };
  const listing = listObjects(options);
  const stale = sortObjects(listing.objects.filter((o) => o.state === "stale"));
  const unknown = listing.objects.filter((o) => o.state === "unknown").length;
  const removed: IpcObject[] = [];
  const failed: { object: IpcObject; error: string }[] = [];
  const kept: IpcObject[] = [];
  if (!p.values.json) {
    say(1, stale.length === 0 ? "No stale objects.\n" : `${stale.length} stale object(s):\n`);
    if (stale.length > 0) {
      say(
        1,
        table(
          [{ title: "KIND" }, { title: "NAME" }, { title: "OWNER" }, { title: "WHY" }],
          stale.map((o) => [o.kind, o.name, o.user, o.why]),
        ),
      );
    }
    if (unknown > 0) {
      say(1, `${unknown} object(s) could not be judged and are left alone (see sysipc ls).\n`);
    }
    say(2, notesText(listing));
  }
  if (p.values.clean && stale.length > 0) {
    // Look again: remove only what is still stale and still the same object.
    const again = new Set(
      listObjects(options).objects.filter((o) => o.state === "stale").map(identity),
    );
    for (const object of stale) {
      if (!again.has(identity(object))) {
        kept.push(object); // in use again, or changed, since the first look
        continue;
      }
      const error = remove(object);
      if (error === undefined) removed.push(object);
      else failed.push({ object, error });
    }
    if (!p.values.json) {
      for (const o of removed) say(1, `removed ${o.kind} ${o.name}\n`);
      for (const o of kept) say(1, `kept ${o.kind} ${o.name}: in use again, or changed\n`);
      for (const f of failed) {
        say(2, `not removed: ${f.object.kind} ${f.object.name}: ${f.error}\n`);
      }
    }
  } else if (stale.length > 0 && !p.values.json) {
    say(1, `Run "sysipc doctor --clean" to remove them.\n`);
  }
  if (p.values.json) {
    say(1, json({ stale, removed, kept, failed, unknown, notes: listing.notes }));
  }
  if (failed.length > 0) return EXIT.failed;
  if (stale.length > 0 && !p.values.clean) return EXIT.stale;
  return EXIT.ok;
}

// send and recv

const QUEUE_ARG = `  QUEUE  /name: a POSIX queue; a number: a System V queue's id; 0x followed by
         hex digits: a System V queue's key (as ipcs prints it)`;

type Queue = { posix: MessageQueue } | { sysv: SysVMessageQueue };

/** Opens the queue an argument names; a number is the exit status when it cannot. */
function openQueue(
  command: string,
  target: string,
  access: "send" | "recv",
  create: { create: boolean; mode?: number },
): Queue | number {
  try {
    if (target.startsWith("/")) {
      return {
        posix: MessageQueue.open(target, {
          ...(access === "send" ? { writeOnly: true } : { readOnly: true }),
          ...create,
        }),
      };
    }
    if (/^0x[0-9a-f]{1,8}$/i.test(target)) {
      return { sysv: SysVMessageQueue.get(parseInt(target.slice(2), 16), create) };
    }
    if (/^\d+$/.test(target)) {
      if (create.create) {
        usageError(command, "--create needs a POSIX name or a System V key, not an id");
        return EXIT.usage;
      }
      return { sysv: SysVMessageQueue.fromId(Number(target)) };
    }
  } catch (e) {
    return failure(command, e, target);
  }
  usageError(command, `'${target}' is not a queue: /name, an id, or a key 0x…`);
  return EXIT.usage;
}

/** Reports an error and returns the exit status it means. */
function failure(command: string, e: unknown, target: string): number {
  if (e instanceof IpcError) {
    say(2, `sysipc ${command}: ${target}: ${e.message}\n`);
    if (e.code === "ENOENT" || e.code === "EINVAL" || e.code === "EIDRM") return EXIT.noSuchObject;
    if (e.code === "ETIMEDOUT" || e.code === "EAGAIN") return EXIT.timedOut;
    return EXIT.failed;
  }
  if (e instanceof TypeError || e instanceof RangeError) {
    usageError(command, e.message);
    return EXIT.usage;
  }
  throw e;
}

function integerOption(command: string, value: unknown, name: string): number | undefined | null {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^-?\d+$/.test(text)) {
    usageError(command, `--${name} must be an integer, got '${text}'`);
    return null;
  }
  return Number(text);
}

function readStdin(): Uint8Array {
  return new Uint8Array(readFileSync(0));
}

const SEND_USAGE = `Usage: sysipc send QUEUE [TEXT] [--priority N | --type N] [--timeout MS]
                   [--create [--mode MODE]]

Sends one message: TEXT, or without it all of standard input (bytes as they are).
Waits while the queue is full.

${QUEUE_ARG}

Options:
  -p, --priority N  POSIX queues: the priority, 0 (default) to 32767
  -t, --type N      System V queues: the message type, 1 (default) or more
  --timeout MS      give up after MS milliseconds (0: try once); default: wait
  --create          create the queue if there is none (POSIX: the system's
                    default size; System V: needs a key)
  --mode MODE       the new queue's mode, in octal (default 600)
  -h, --help        show this help

${EXIT_CODES}`;

function send(args: string[]): number {
  const p = parse("send", args, {
    priority: { type: "string", short: "p" },
    type: { type: "string", short: "t" },
    timeout: { type: "string" },
    create: { type: "boolean" },
    mode: { type: "string" },
  }, [1, 2]);
  if (p === undefined) return EXIT.usage;
  if (p.values.help) return help(SEND_USAGE);
  const [target = "", text] = p.positionals;
  const priority = integerOption("send", p.values.priority, "priority");
  const type = integerOption("send", p.values.type, "type");
  const timeout = integerOption("send", p.values.timeout, "timeout");
  if (priority === null || type === null || timeout === null) return EXIT.usage;
  const mode = p.values.mode === undefined ? undefined : parseInt(String(p.values.mode), 8);
  if (mode !== undefined && !/^[0-7]{1,4}$/.test(String(p.values.mode))) {
    usageError("send", `--mode must be octal, such as 600, got '${p.values.mode}'`);
    return EXIT.usage;
  }
  const posix = target.startsWith("/");
  if (posix && type !== undefined) {
    usageError("send", "--type is for System V queues; POSIX queues take --priority");
    return EXIT.usage;
  }
  if (!posix && priority !== undefined) {
    usageError("send", "--priority is for POSIX queues; System V queues take --type");
    return EXIT.usage;
  }
  const data = text ?? readStdin();
  const create = { create: p.values.create === true, ...(mode === undefined ? {} : { mode }) };
  const queue = openQueue("send", target, "send", create);
  if (typeof queue === "number") return queue;
  try {
    if ("posix" in queue) {
      using q = queue.posix;
      q.sendSync(data, { priority, timeout });
    } else {
      using q = queue.sysv;
      q.sendSync(type ?? 1, data, { timeout });
    }
  } catch (e) {
    return failure("send", e, target);
  }
  return EXIT.ok;
}

const RECV_USAGE = `Usage: sysipc recv QUEUE [--timeout MS] [--type N] [--json | --raw]

Receives one message and writes it to standard output, followed by a newline
(none with --raw). Waits for one unless --timeout says otherwise.

${QUEUE_ARG}

Options:
  --timeout MS  give up after MS milliseconds (0: only take a message already
                there); default: wait
  -t, --type N  System V queues: which message: 0 (default) the first, N > 0 the
                first of type N, N < 0 (written --type=-9) the first of the
                lowest type up to |N|
  --json        print {"data", "encoding" ("utf8" or "base64"), "size",
                "priority" or "type"}
  --raw         write the message's bytes only
  -h, --help    show this help

${EXIT_CODES}`;

function recv(args: string[]): number {
  const p = parse("recv", args, {
    timeout: { type: "string" },
    type: { type: "string", short: "t" },
    json: { type: "boolean" },
    raw: { type: "boolean" },
  }, [1, 1]);
  if (p === undefined) return EXIT.usage;
  if (p.values.help) return help(RECV_USAGE);
  const [target = ""] = p.positionals;
  const type = integerOption("recv", p.values.type, "type");
  const timeout = integerOption("recv", p.values.timeout, "timeout");
  if (type === null || timeout === null) return EXIT.usage;
  if (p.values.json && p.values.raw) {
    usageError("recv", "--json and --raw exclude each other");
    return EXIT.usage;
  }
  if (target.startsWith("/") && type !== undefined) {
    usageError("recv", "--type is for System V queues");
    return EXIT.usage;
  }
  const queue = openQueue("recv", target, "recv", { create: false });
  if (typeof queue === "number") return queue;
  let data: Uint8Array;
  let label: Record<string, number>;
  try {
    if ("posix" in queue) {
      using q = queue.posix;
      const m = q.receiveSync({ timeout });
      data = m.data;
      label = { priority: m.priority };
    } else {
      using q = queue.sysv;
      const m = q.receiveSync({ type: type ?? 0, timeout });
      data = m.data;
      label = { type: m.type };
    }
  } catch (e) {
    return failure("recv", e, target);
  }
  if (p.values.json) {
    let text: string | undefined;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(data);
    } catch {
      text = undefined;
    }
    say(
      1,
      json({
        data: text ?? Buffer.from(data).toString("base64"),
        encoding: text === undefined ? "base64" : "utf8",
        size: data.length,
        ...label,
      }),
    );
  } else {
    say(1, data);
    if (!p.values.raw) say(1, "\n");
  }
  return EXIT.ok;
}

// bench

const BENCH_USAGE = `Usage: sysipc bench [ARGS]...

Runs the benchmark suite (bench/run.ts of a source checkout) on this runtime,
passing ARGS through ("sysipc bench -- --help" passes --help to the suite). The
published packages do not include the suite: run it from a clone of the
repository. Its exit status is the suite's.`;

function bench(args: string[]): number {
  if (args[0] === "-h" || args[0] === "--help") return help(BENCH_USAGE);
  if (args[0] === "--") args = args.slice(1);
  const script = benchScript();
  if (script === undefined) {
    say(
      2,
      `sysipc bench: bench/run.ts is not here: the benchmark suite ships with the source\n` +
        `repository only. Clone it, run npm ci, then sysipc bench (or npm run bench).\n`,
    );
    return EXIT.failed;
  }
  const argv = platform.runtime === "deno" ? ["run", "-A", script, ...args] : [script, ...args];
  const r = spawnSync(process.execPath, argv, { stdio: "inherit" });
  if (r.error) {
    say(2, `sysipc bench: cannot start ${process.execPath}: ${r.error.message}\n`);
    return EXIT.failed;
  }
  if (r.signal) return 128 + signalNumber(r.signal);
  return r.status ?? EXIT.failed;
}

function benchScript(): string | undefined {
  const here = import.meta.url.startsWith("file:") ? dirname(fileURLToPath(import.meta.url)) : "";
  const script = join(dirname(here), "bench", "run.ts");
  return here !== "" && existsSync(script) ? script : undefined;
}

function help(text: string): number {
  say(1, `${text}\n`);
  return EXIT.ok;
}

/** The commands, in the order `sysipc --help` lists them. */
export const COMMANDS: Record<string, CommandSpec> = {
  ls: { summary: "list the IPC objects of this host", usage: LS_USAGE, run: ls },
  stat: { summary: "show one object in detail", usage: STAT_USAGE, run: stat },
  rm: { summary: "remove objects", usage: RM_USAGE, run: rm },
  doctor: {
    summary: "find (and with --clean, remove) stale objects",
    usage: DOCTOR_USAGE,
    run: doctor,
  },
  send: { summary: "send a message to a POSIX or System V queue", usage: SEND_USAGE, run: send },
  recv: {
    summary: "receive a message from a POSIX or System V queue",
    usage: RECV_USAGE,
    run: recv,
  },
  bench: {
    summary: "run the benchmark suite (from a source checkout)",
    usage: BENCH_USAGE,
    run: bench,
  },
};

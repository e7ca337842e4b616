/**
 * Every IPC object of this host, as `sysipc ls`, `stat`, `rm` and `doctor` see it: POSIX
 * shared memory, message queues and named semaphores, System V shared memory, queues and
 * semaphore sets, and Unix sockets; who owns each, how big or full it is, which processes
 * use or used it and whether they are alive, and from that whether it is stale.
 *
 * The rule for stale, per kind (conservative: when in doubt, an object is `unknown`, and
 * `doctor` leaves it alone):
 *
 * - POSIX shm, queues and semaphores record no pid. Their users are the processes that
 *   have them mapped or open now (/proc/PID/maps and /proc/PID/fd). Stale: no process
 *   does, and no process that could not be looked at (another user's, without privileges)
 *   could open it: one of the owner's, or, when its mode lets others in, anyone's.
 * - System V shared memory: stale when nothing is attached and its creator and last
 *   attacher (`cpid`, `lpid`) are both gone (at least one recorded).
 * - System V queues: stale when the last sender and last receiver (`lspid`, `lrpid`) are
 *   gone (at least one recorded): a queue nobody sent to or received from is `unknown`.
 * - System V semaphore sets: stale when no process waits on them and the last process to
 *   change each semaphore (`sempid`) is gone (at least one recorded).
 * - Unix sockets: a listening or bound socket is in use. A socket file that no socket is
 *   bound to any more (a connect to it is refused) is stale.
 *
 * A recorded pid counts as gone when no such process exists, when it is a zombie, or when
 * the process with that pid started after the pid was recorded (the pid was reused).
 *
 * @module
 */
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { C } from "../ffi/constants.ts";
import { errnoName } from "../ffi/errors.ts";
import { errno, libc } from "../ffi/libc.ts";
import { glibcSemaphores } from "../ffi/platform.ts";
import { MessageQueue } from "../mq/message_queue.ts";
import { Semaphore } from "../sem/semaphore.ts";
import { toAddress } from "../uds/address.ts";
import { fileId, isAlive, type ProcessScan, scanProcesses } from "./procs.ts";

/** The kinds of object, as the command line names them. */
export const KINDS = ["shm", "mq", "sem", "sysv-shm", "sysv-mq", "sysv-sem", "socket"] as const;

/** A kind of object. */
export type Kind = typeof KINDS[number];

/** What each kind is, for help texts. */
export const KIND_NAMES: Record<Kind, string> = {
  "shm": "POSIX shared memory (/dev/shm/NAME)",
  "mq": "POSIX message queue (/dev/mqueue/NAME)",
  "sem": "POSIX named semaphore (/dev/shm/sem.NAME)",
  "sysv-shm": "System V shared memory segment (ipcs -m)",
  "sysv-mq": "System V message queue (ipcs -q)",
  "sysv-sem": "System V semaphore set (ipcs -s)",
  "socket": "Unix domain socket (listening or bound; or a stale socket file)",
};

/** A process an object records or that uses it, and whether it is alive. */
export interface PidInfo {
  /** The pid. */
  pid: number;
  /**
   * What it did: `"creator"`, `"last-attach"` (System V shm: last `shmat`/`shmdt`),
   * `"last-send"`, `"last-receive"` (System V queues), `"last-op"` (System V semaphores),
   * `"user"` (has it mapped or open now), `"holder"` (holds the socket).
   */
  role: string;
  /** Whether that process is still running. */
  alive: boolean;
}

/** Whether an object is in use. */
export type State = "in-use" | "stale" | "unknown" | "removed";

/** One IPC object, as `ls --json` prints it. */
export interface IpcObject {
  /** Its kind. */
  kind: Kind;
  /** The POSIX name (`/jobs`), the System V id (as text), or the socket's path or `@name`. */
  name: string;
  /** System V: the id. */
  id?: number;
  /** System V: the key, in hex as `ipcs` prints it (`0x0000abcd`; `0x00000000` is private). */
  key?: string;
  /** The file behind it, where there is one. */
  path?: string;
  /** Owner's uid, and name where /etc/passwd has one. */
  uid: number;
  /** The owner's user name, or the uid as text. */
  user: string;
  /** Group id. */
  gid: number;
  /** Permission bits in octal, such as `"0600"`. */
  mode: string;
  /** Shared memory: bytes. */
  size?: number;
  /** Queues: messages waiting. */
  messages?: number;
  /** POSIX queues: the most messages it holds. */
  maxMessages?: number;
  /** POSIX queues: the largest message. */
  messageSize?: number;
  /** Queues: bytes waiting. */
  bytes?: number;
  /** POSIX semaphores: the value. */
  value?: number;
  /** System V semaphore sets: each semaphore's value. */
  values?: number[];
  /** System V shm: attachments; System V semaphores, POSIX semaphores: waiting processes. */
  attached?: number;
  /** Processes waiting on it, where the kernel says. */
  waiting?: number;
  /** Sockets: `"stream"`, `"seqpacket"` or `"dgram"`. */
  socketType?: string;
  /** The processes it records or that use it. */
  pids: PidInfo[];
  /** Whether it is in use, stale, unknown, or removed but still attached. */
  state: State;
  /** Why, in a few words. */
  why: string;
  /** When it last changed, where known (seconds since the epoch). */
  changed?: number;
  /** The inode of the file behind it (POSIX objects, socket files). */
  inode?: number;
}

/** The result of a listing. */
export interface Listing {
  /** The objects. */
  objects: IpcObject[];
  /** What could not be listed, and why. */
  notes: string[];
}

/** Options of {@linkcode listObjects}. */
export interface ListOptions {
  /** Kinds to list; all when empty. */
  kinds?: readonly Kind[];
  /** Directories to look for stale socket files in, instead of the default ones. */
  dirs?: readonly string[];
}

const SHM_DIR = "/dev/shm";

function userNames(file: string): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && id !== undefined && /^\d+$/.test(id) && !names.has(Number(id))) {
        names.set(Number(id), name);
      }
    }
  } catch {
    // no such file: numbers only
  }
  return names;
}

let users: Map<number, string> | undefined;
function userName(uid: number): string {
  users ??= userNames("/etc/passwd");
  return users.get(uid) ?? String(uid);
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0");
const hexKey = (key: number) => `0x${(key >>> 0).toString(16).padStart(8, "0")}`;

/** The `"major:minor"` of a path's filesystem, or undefined. */
function deviceOf(path: string): string | undefined {
  try {
    return fileId(statSync(path, { bigint: true }).dev, 0).split(":").slice(0, 2).join(":");
  } catch {
    return undefined;
  }
}

/** Where an mqueue filesystem is mounted in this mount namespace, and its device. */
function mqueueMount(): { dir: string; device: string } | undefined {
  try {
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      // id parent major:minor root mountpoint options … - fstype source options
      const [left = "", right = ""] = line.split(" - ");
      if (right.split(" ")[0] !== "mqueue") continue;
      const fields = left.split(" ");
      const dir = fields[4]?.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
      if (dir !== undefined && fields[2] !== undefined) return { dir, device: fields[2] };
    }
  } catch {
    // no mountinfo
  }
  return undefined;
}

/** The device of this IPC namespace's queues, learned from a queue made and removed at once. */
function probeMqueueDevice(): string | undefined {
  const name = `/sysipc-probe-${process.pid}-${Date.now()}`;
  try {
    using queue = MessageQueue.open(name, {
      create: true,
      exclusive: true,
      maxMessages: 1,
      messageSize: 1,
    });
    queue.unlink();
    return deviceOf(`/proc/self/fd/${queue.fd}`);
  } catch {
    return undefined;
  }
}

/** Judges a POSIX object by its users: the processes that have it mapped or open. */
function posixState(
  users: Set<number> | undefined,
  uid: number,
  mode: number,
  scan: ProcessScan,
): { pids: PidInfo[]; state: State; why: string } {
  const pids = [...users ?? []].sort((a, b) => a - b).map((pid) => ({
    pid,
    role: "user",
    alive: true,
  }));
  if (pids.length > 0) {
    return { pids, state: "in-use", why: `mapped or open in ${pids.length} process(es)` };
  }
  const othersMayOpen = (mode & 0o077) !== 0;
  const hidden = [...scan.hidden.values()].filter((u) => u === uid || othersMayOpen).length;
  if (hidden > 0) {
    return {
      pids,
      state: "unknown",
      why: `no process seen using it, but ${hidden} process(es) that could open it ` +
        `could not be looked at (run as root to see them)`,
    };
  }
  return { pids, state: "stale", why: "no process has it mapped or open" };
}

/** Judges a System V object by the pids it records. */
function recordedState(
  recorded: { pid: number; role: string; since?: number }[],
  busy: string | undefined,
): { pids: PidInfo[]; state: State; why: string } {
  const pids = recorded.filter((r) => r.pid > 0).map((r) => ({
    pid: r.pid,
    role: r.role,
    alive: isAlive(r.pid, r.since),
  }));
  if (busy !== undefined) return { pids, state: "in-use", why: busy };
  const alive = pids.filter((p) => p.alive);
  if (alive.length > 0) {
    return { pids, state: "in-use", why: `${alive.map((p) => p.role).join(", ")} alive` };
  }
  if (pids.length === 0) {
    return { pids, state: "unknown", why: "no process recorded: nobody used it since it was made" };
  }
  return { pids, state: "stale", why: `${pids.map((p) => p.role).join(", ")} gone` };
}

/** Rows of a /proc/sysvipc file, by column name. */
function sysvipc(file: string): Record<string, string>[] {
  let text: string;
  try {
    text = readFileSync(`/proc/sysvipc/${file}`, "utf8");
  } catch {
    return [];
  }
  const [header = "", ...lines] = text.trim().split("\n");
  const names = header.trim().split(/\s+/);
  return lines.map((line) => {
    const values = line.trim().split(/\s+/);
    return Object.fromEntries(names.map((n, i) => [n, values[i] ?? ""]));
  });
}

function posixShm(scan: ProcessScan, device: string | undefined): IpcObject[] {
  const found: IpcObject[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(SHM_DIR);
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(SHM_DIR, entry);
    let st;
    try {
      st = statSync(path, { bigint: true });
    } catch {
      continue;
    }
    if (!st.isFile() || device === undefined) continue;
    const semaphore = entry.startsWith("sem.");
    const mode = Number(st.mode);
    const uid = Number(st.uid);
    const users = scan.files.get(fileId(st.dev, st.ino));
    const judged = posixState(users, uid, mode, scan);
    const object: IpcObject = {
      kind: semaphore ? "sem" : "shm",
      name: `/${semaphore ? entry.slice(4) : entry}`,
      path,
      uid,
      user: userName(uid),
      gid: Number(st.gid),
      mode: octal(mode),
      ...judged,
      changed: Number(st.ctimeMs / 1000n),
      inode: Number(st.ino),
    };
    if (semaphore) {
      const sem = semaphoreValue(path, object.name);
      if (sem.value !== undefined) object.value = sem.value;
      if (sem.waiting !== undefined) object.waiting = sem.waiting;
      if (sem.waiting && judged.state !== "in-use") {
        object.state = "in-use";
        object.why = `${sem.waiting} process(es) waiting`;
      }
    } else {
      object.size = Number(st.size);
    }
    found.push(object);
  }
  return found;
}

/** A named semaphore's value and waiters: from glibc's `sem_t` in the file, or `sem_getvalue`. */
function semaphoreValue(path: string, name: string): { value?: number; waiting?: number } {
  if (glibcSemaphores()) {
    try {
      const bytes = readFileSync(path);
      if (bytes.length >= 8) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
        return { value: view.getUint32(0, true), waiting: view.getUint32(4, true) };
      }
    } catch {
      // not readable: try sem_open
    }
  }
  try {
    using sem = Semaphore.open(name);
    return { value: sem.value };
  } catch {
    return {};
  }
}

function posixQueues(scan: ProcessScan, notes: string[], device: string | undefined): IpcObject[] {
  const mount = mqueueMount();
  const found: IpcObject[] = [];
  const attributes = (name: string) => {
    try {
      using queue = MessageQueue.open(name, { readOnly: true });
      const a = queue.attributes();
      return {
        messages: a.currentMessages,
        maxMessages: a.maxMessages,
        messageSize: a.messageSize,
      };
    } catch {
      return {};
    }
  };
  if (mount !== undefined) {
    let entries: string[] = [];
    try {
      entries = readdirSync(mount.dir);
    } catch {
      notes.push(`mq: cannot read ${mount.dir}`);
    }
    for (const entry of entries) {
      const path = join(mount.dir, entry);
      let st;
      let content = "";
      try {
        st = statSync(path, { bigint: true });
        content = readFileSync(path, "utf8");
      } catch {
        if (st === undefined) continue;
      }
      const mode = Number(st.mode);
      const uid = Number(st.uid);
      const name = `/${entry}`;
      const qsize = /QSIZE:(\d+)/.exec(content);
      found.push({
        kind: "mq",
        name,
        path,
        uid,
        user: userName(uid),
        gid: Number(st.gid),
        mode: octal(mode),
        ...attributes(name),
        ...(qsize ? { bytes: Number(qsize[1]) } : {}),
        ...posixState(scan.files.get(fileId(st.dev, st.ino)), uid, mode, scan),
        changed: Number(st.ctimeMs / 1000n),
        inode: Number(st.ino),
      });
    }
    return found;
  }
  notes.push(
    "mq: no mqueue filesystem is mounted, so only the POSIX queues that some process has " +
      "open are listed, and stale ones cannot be found (as root: mkdir -p /dev/mqueue && " +
      "mount -t mqueue none /dev/mqueue)",
  );
  if (device === undefined) return found;
  // Queues some process holds open: their descriptors link to "/name".
  for (const [id, file] of scan.open) {
    if (!id.startsWith(`${device}:`) || !/^\/[^/]+$/.test(file.link)) continue;
    found.push({
      kind: "mq",
      name: file.link,
      uid: file.uid,
      user: userName(file.uid),
      gid: file.gid,
      mode: octal(file.mode),
      ...attributes(file.link),
      ...posixState(scan.files.get(id), file.uid, file.mode, scan),
    });
  }
  return found;
}

/** `semctl(id, n, cmd)` through the raw system call, as sem/ does; -1 on failure. */
function semctl(id: number, index: number, cmd: number): number {
  return libc.syscall(C.SYS_semctl, id, index, cmd, 0, 0, 0);
}

/** The fields every System V object has, from its /proc/sysvipc row. */
function sysvCommon(
  kind: "sysv-shm" | "sysv-mq" | "sysv-sem",
  row: Record<string, string>,
  id: string,
) {
  const uid = Number(row.uid);
  return {
    kind,
    name: id,
    id: Number(id),
    key: hexKey(Number(row.key)),
    uid,
    user: userName(uid),
    gid: Number(row.gid),
    mode: octal(parseInt(row.perms ?? "0", 8) & 0o777),
  };
}

function sysvShm(): IpcObject[] {
  return sysvipc("shm").map((row) => {
    const perms = parseInt(row.perms ?? "0", 8);
    const attached = Number(row.nattch);
    const changed = Math.max(Number(row.atime), Number(row.dtime));
    const judged = perms & 0o1000
      ? { pids: [], state: "removed" as State, why: "removed; goes when the last process detaches" }
      : recordedState(
        [
          { pid: Number(row.cpid), role: "creator", since: Number(row.ctime) },
          { pid: Number(row.lpid), role: "last-attach", since: changed },
        ],
        attached > 0 ? `attached ${attached} time(s)` : undefined,
      );
    return {
      ...sysvCommon("sysv-shm", row, row.shmid ?? ""),
      size: Number(row.size),
      attached,
      ...judged,
      changed: Math.max(changed, Number(row.ctime)),
    };
  });
}

function sysvQueues(): IpcObject[] {
  return sysvipc("msg").map((row) => {
    return {
      ...sysvCommon("sysv-mq", row, row.msqid ?? ""),
      messages: Number(row.qnum),
      bytes: Number(row.cbytes),
      ...recordedState(
        [
          { pid: Number(row.lspid), role: "last-send", since: Number(row.stime) },
          { pid: Number(row.lrpid), role: "last-receive", since: Number(row.rtime) },
        ],
        undefined,
      ),
      changed: Math.max(Number(row.stime), Number(row.rtime), Number(row.ctime)),
    };
  });
}

function sysvSemaphores(): IpcObject[] {
  return sysvipc("sem").map((row) => {
    const id = Number(row.semid);
    const count = Number(row.nsems);
    const since = Math.max(Number(row.otime), Number(row.ctime));
    const values: number[] = [];
    const recorded: { pid: number; role: string; since: number }[] = [];
    let waiting = 0;
    let readable = true;
    for (let i = 0; i < count && readable; i++) {
      const value = semctl(id, i, C.GETVAL);
      const pid = semctl(id, i, C.GETPID);
      const n = semctl(id, i, C.GETNCNT);
      const z = semctl(id, i, C.GETZCNT);
      if (value < 0 || pid < 0 || n < 0 || z < 0) {
        readable = false;
        break;
      }
      values.push(value);
      if (!recorded.some((r) => r.pid === pid)) recorded.push({ pid, role: "last-op", since });
      waiting += n + z;
    }
    const object: IpcObject = {
      ...sysvCommon("sysv-sem", row, row.semid ?? ""),
      pids: [],
      state: "unknown",
      why: "",
      changed: since,
    };
    if (!readable) {
      object.why = `cannot read its values: ${errnoName(errno())}`;
      return object;
    }
    object.values = values;
    object.waiting = waiting;
    return { ...object, ...recordedState(recorded, waiting ? `${waiting} waiting` : undefined) };
  });
}

const SOCKET_TYPE_NAMES: Record<string, string> = {
  "0001": "stream",
  "0002": "dgram",
  "0005": "seqpacket",
};

/** Listening and bound Unix sockets of this network namespace, from /proc/net/unix. */
function sockets(scan: ProcessScan): IpcObject[] {
  let lines: string[] = [];
  try {
    lines = readFileSync("/proc/net/unix", "utf8").trim().split("\n").slice(1);
  } catch {
    return [];
  }
  const found: IpcObject[] = [];
  for (const line of lines) {
    // Num RefCount Protocol Flags Type St Inode Path
    const fields = line.trim().split(/\s+/);
    const [, , , flags = "0", type = "", state = "", inode = "0"] = fields;
    const path = fields.slice(7).join(" ");
    const listening = (parseInt(flags, 16) & 0x10000) !== 0;
    const socketType = SOCKET_TYPE_NAMES[type] ?? `type ${parseInt(type, 16)}`;
    // Listening stream or seqpacket sockets; bound datagram sockets (unconnected, named).
    if (!(listening || (socketType === "dgram" && state === "01" && path !== ""))) continue;
    const holders = [...scan.sockets.get(Number(inode)) ?? []].sort((a, b) => a - b);
    let uid = -1;
    let gid = -1;
    let mode = "";
    if (path.startsWith("/")) {
      try {
        const st = statSync(path);
        if (st.isSocket()) {
          uid = st.uid;
          gid = st.gid;
          mode = octal(st.mode);
        }
      } catch {
        // the file was removed or moved: the socket lives on
      }
    }
    if (uid === -1 && holders[0] !== undefined) uid = processUid(holders[0]) ?? -1;
    found.push({
      kind: "socket",
      name: path === "" ? "(unnamed)" : path,
      ...(path.startsWith("/") ? { path } : {}),
      uid,
      user: uid === -1 ? "?" : userName(uid),
      gid,
      mode: mode || "-",
      socketType,
      pids: holders.map((pid) => ({ pid, role: "holder", alive: true })),
      state: "in-use",
      why: listening ? "listening" : "bound",
    });
  }
  return found;
}

function processUid(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The directories searched for stale socket files (and one level below them): `dirs` when
 * given, otherwise the temporary directory, /tmp, /dev/shm and `$XDG_RUNTIME_DIR`.
 *
 * @param dirs Directories given on the command line.
 * @returns The directories.
 */
export function socketDirs(dirs: readonly string[] = []): string[] {
  if (dirs.length > 0) return [...new Set(dirs)];
  const defaults = [tmpdir(), "/tmp", SHM_DIR];
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  if (runtimeDir) defaults.push(runtimeDir);
  return [...new Set(defaults)];
}

/** Whether a connect to the socket file at `path` is refused: nothing is bound to it. */
export function refused(path: string): boolean {
  let address;
  try {
    address = toAddress({ path });
  } catch {
    return false; // too long to reach: leave it
  }
  const probe = libc.socket(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0);
  if (probe < 0) return false;
  const r = libc.connect(probe, address.bytes, address.length) !== 0 &&
    errnoName(errno()) === "ECONNREFUSED";
  libc.close(probe);
  return r;
}

/** Socket files in `dirs` (and their subdirectories, one level) that no socket is bound to. */
function staleSocketFiles(dirs: readonly string[], bound: Set<string>): IpcObject[] {
  const found: IpcObject[] = [];
  const seen = new Set<string>();
  const visit = (dir: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      let st;
      try {
        st = lstatSync(path); // Deno's Dirent cannot tell a socket
      } catch {
        continue;
      }
      if (st.isDirectory() && depth > 0) visit(path, depth - 1);
      if (!st.isSocket() || bound.has(path) || seen.has(path)) continue;
      seen.add(path);
      if (!refused(path)) continue;
      found.push({
        kind: "socket",
        name: path,
        path,
        uid: st.uid,
        user: userName(st.uid),
        gid: st.gid,
        mode: octal(st.mode),
        pids: [],
        state: "stale",
        why: "socket file with no socket bound to it (connect refused)",
        changed: Math.floor(st.ctimeMs / 1000),
        inode: st.ino,
      });
    }
  };
  for (const dir of dirs) visit(dir, 1);
  return found;
}

/**
 * Lists the IPC objects of this host.
 *
 * @param options Which kinds, and extra directories for stale socket files.
 * @returns The objects, and notes on what could not be seen.
 */
export function listObjects(options: ListOptions = {}): Listing {
  const kinds = new Set<Kind>(options.kinds?.length ? options.kinds : KINDS);
  const notes: string[] = [];
  const shmDevice = deviceOf(SHM_DIR);
  const wantsMq = kinds.has("mq");
  const mqDevice = wantsMq ? (mqueueMount()?.device ?? probeMqueueDevice()) : undefined;
  const devices = new Set([shmDevice, mqDevice].filter((d): d is string => d !== undefined));
  const scan = scanProcesses(devices);
  if (scan.hidden.size > 0 && ["shm", "sem", "mq"].some((k) => kinds.has(k as Kind))) {
    notes.push(
      `${scan.hidden.size} process(es) could not be looked at (other users', or more ` +
        "privileged ones): POSIX objects they could open are shown as unknown; run as root " +
        "for a full view",
    );
  }
  const objects: IpcObject[] = [];
  if (kinds.has("shm") || kinds.has("sem")) {
    objects.push(...posixShm(scan, shmDevice).filter((o) => kinds.has(o.kind)));
  }
  if (wantsMq) objects.push(...posixQueues(scan, notes, mqDevice));
  if (kinds.has("sysv-shm")) objects.push(...sysvShm());
  if (kinds.has("sysv-mq")) objects.push(...sysvQueues());
  if (kinds.has("sysv-sem")) objects.push(...sysvSemaphores());
  if (kinds.has("socket")) {
    const live = sockets(scan);
    const bound = new Set(live.map((o) => o.name));
    objects.push(...live, ...staleSocketFiles(socketDirs(options.dirs), bound));
  }
  return { objects, notes };
}

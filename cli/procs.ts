/**
 * What the processes of this host hold, read from `/proc`: which files of a filesystem each
 * process has mapped or open (by device and inode, so that a name changed or removed since
 * does not matter), which sockets each holds, and which processes could not be looked at
 * (another user's, without privileges). Also whether a pid is still a live process.
 *
 * @module
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import process from "node:process";

/** A device and inode, as `"major:minor:inode"`: one file, whatever its name. */
export type FileId = string;

/** The id of a file from its `stat()` device number and inode. */
export function fileId(dev: number | bigint, ino: number | bigint): FileId {
  const d = BigInt(dev);
  // glibc's gnu_dev_major/minor: the bits of a 64-bit dev_t.
  const major = ((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0xfffn);
  const minor = ((d >> 12n) & 0xffffff00n) | (d & 0xffn);
  return `${major}:${minor}:${BigInt(ino)}`;
}

/** What the scan found. */
export interface ProcessScan {
  /** Pids that have each file mapped or open (this process left out). */
  files: Map<FileId, Set<number>>;
  /** Pids that hold each socket, by the socket's inode (`socket:[inode]`). */
  sockets: Map<number, Set<number>>;
  /** The real uid of each process that could not be looked at (pid → uid). */
  hidden: Map<number, number>;
  /** What a descriptor of each file found open links to, and its owner and mode. */
  open: Map<FileId, { link: string; uid: number; gid: number; mode: number }>;
}

/** Links of descriptors worth a `stat`: files in /dev/shm, and POSIX queues (`/name`). */
const INTERESTING = /^\/dev\/shm\/|^\/[^/]+$|^\/[^/]+ \(deleted\)$/;

/**
 * Looks at every process: its memory mappings and descriptors whose files live on one of
 * `devices` (`"major:minor"`), and the sockets it holds.
 *
 * @param devices The filesystems of interest, as `"major:minor"` in decimal.
 * @returns The scan.
 */
export function scanProcesses(devices: ReadonlySet<string>): ProcessScan {
  const scan: ProcessScan = {
    files: new Map(),
    sockets: new Map(),
    hidden: new Map(),
    open: new Map(),
  };
  const add = <K>(map: Map<K, Set<number>>, key: K, pid: number) => {
    let set = map.get(key);
    if (set === undefined) map.set(key, set = new Set());
    set.add(pid);
  };
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let seen = false;
    try {
      for (const line of readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")) {
        // address perms offset dev inode path
        const fields = line.split(/\s+/, 6);
        const dev = fields[3];
        if (dev === undefined || fields[4] === "0" || fields[4] === undefined) continue;
        const [major = "", minor = ""] = dev.split(":");
        const device = `${parseInt(major, 16)}:${parseInt(minor, 16)}`;
        if (devices.has(device)) add(scan.files, `${device}:${fields[4]}`, pid);
      }
      seen = true;
    } catch {
      // gone, or not ours to read
    }
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        let link: string;
        try {
          link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const socket = /^socket:\[(\d+)\]$/.exec(link);
        if (socket) {
          add(scan.sockets, Number(socket[1]), pid);
        } else if (INTERESTING.test(link)) {
          try {
            const st = statSync(`/proc/${pid}/fd/${fd}`, { bigint: true });
            const id = fileId(st.dev, st.ino);
            if (!devices.has(id.split(":").slice(0, 2).join(":"))) continue;
            add(scan.files, id, pid);
            const [uid, gid, mode] = [st.uid, st.gid, st.mode].map(Number) as [
              number,
              number,
              number,
            ];
            if (!scan.open.has(id)) scan.open.set(id, { link, uid, gid, mode });
          } catch {
            // closed meanwhile
          }
        }
      }
    } catch {
      seen = false;
    }
    if (!seen && isAlive(pid)) scan.hidden.set(pid, realUid(pid) ?? -1);
  }
  return scan;
}

/** A process's real uid, from its status (readable for every process). */
function realUid(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

let bootTime: number | undefined;
/** Clock ticks a second of /proc/PID/stat's start time: 100 on every Linux architecture. */
const TICKS = 100;

/**
 * Whether `pid` is a live process (not a zombie): a recorded pid that a new process reused
 * after `since` (seconds since the epoch, when the object recorded it) counts as gone.
 *
 * @param pid The pid.
 * @param since When the pid was recorded, if known.
 * @returns Whether that process is still there.
 */
export function isAlive(pid: number, since?: number): boolean {
  if (pid <= 0) return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  // pid (comm) state ppid … : comm may hold spaces and parentheses, so split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return false;
  if (since === undefined || since <= 0) return true;
  bootTime ??= Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1] ?? 0);
  const started = bootTime + Number(fields[19]) / TICKS;
  // Started more than a second (the precision of both clocks) after it was recorded: another
  // process that got the same pid.
  return started <= since + 1;
}

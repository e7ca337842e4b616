/**
 * Who holds a slot of a shared-memory channel, and whether it is still alive (internal to
 * `shm/`). A slot being written or read records the thread id of the thread doing it
 * (`gettid`; for a single-threaded process, its pid), so that a peer waiting on that slot
 * can tell a slow thread from a dead one.
 *
 * A thread counts as dead when `kill(tid, 0)` says no such process (`ESRCH`; Linux resolves
 * thread ids there too), or when `/proc/<tid>/stat` shows it as a zombie (`Z`) or dead
 * (`X`): a process that died stays a zombie until its parent reaps it, and that parent may
 * be the very process waiting on the slot. Anything else counts as alive, so a live thread
 * is never taken for dead; the limits: peers must share a PID namespace (an id from
 * another namespace looks dead), and a thread id reused by a new thread before a peer
 * checks looks alive until that thread ends.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { errno, libc, stableCString } from "../ffi/libc.ts";
import { errnoNumber } from "../ffi/errors.ts";

const ESRCH = errnoNumber("ESRCH");
let tid = 0;

/**
 * The calling thread's id (`gettid`), read once per thread (each Worker loads its own copy
 * of this module).
 *
 * @returns The id: 1 to 2^22 on Linux.
 */
export function threadId(): number {
  if (tid === 0) tid = libc.syscall(C.SYS_gettid, 0, 0, 0, 0, 0, 0);
  return tid;
}

const stat = new Uint8Array(new ArrayBuffer(512));

/**
 * Whether a thread exists and has not died.
 *
 * @param id A thread id.
 * @returns `false` only when the thread is certainly gone (see the module documentation).
 */
export function threadAlive(id: number): boolean {
  if (id <= 0) return false;
  if (libc.kill(id, 0) === -1 && errno() === ESRCH) return false;
  const fd = libc.open(stableCString(`/proc/${id}/stat`), C.O_RDONLY | C.O_CLOEXEC, 0);
  if (fd < 0) return true; // no /proc, or hidden: kill(2) said it exists
  const n = libc.read(fd, stat, stat.length);
  libc.close(fd);
  if (n <= 0) return true;
  // "pid (comm) S ...": the state follows the last ')', as comm may hold anything.
  const close = stat.subarray(0, n).lastIndexOf(0x29);
  const state = close >= 0 && close + 2 < n ? stat[close + 2] : undefined;
  return state !== 0x5a /* Z */ && state !== 0x58 /* X */;
}

/**
 * Where the processes of a measured pair really ran: bench/run.ts samples
 * `/proc/<pid>/task/<tid>/stat` and `status` of both processes (every thread, the
 * runtime's own helper threads included) while they run. A thread counts for a CPU when
 * it used CPU time since the previous sample and last ran there; `Cpus_allowed_list`
 * shows the mask each thread has. It measures nothing about speed.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/** What one process did, as sampled. */
export interface ProcessPlacement {
  /** CPUs on which its threads were seen using CPU time. */
  cpus: Set<number>;
  /** The distinct `Cpus_allowed_list` values of its threads. */
  allowed: Set<string>;
  /** Threads seen. */
  threads: number;
}

/** Samples the threads of a pair of processes. */
export class PlacementObserver {
  #pids: number[] = [];
  /** Each process's start time, to notice a pid reused by another process (pids wrap). */
  #starts = new Map<number, string>();
  #ticks = new Map<string, number>();
  readonly processes: ProcessPlacement[] = [];

  /**
   * Sets the processes to watch (the parent first), once their pids are known.
   *
   * @param pids The pids.
   */
  watch(pids: number[]): void {
    this.#pids = pids;
    for (let i = this.processes.length; i < pids.length; i++) {
      this.processes.push({ cpus: new Set(), allowed: new Set(), threads: 0 });
    }
    this.sample();
  }

  /** Reads every thread of the watched processes once. */
  sample(): void {
    this.#pids.forEach((pid, i) => {
      let tids: string[];
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[22 - 3]!;
        const known = this.#starts.get(pid);
        if (known === undefined) this.#starts.set(pid, start);
        else if (known !== start) return; // exited, and the pid now names another process
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        return; // exited
      }
      const p = this.processes[i]!;
      for (const tid of tids) {
        try {
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
          // Fields after the command name (which may hold spaces), from field 3 (state).
          const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          const ticks = Number(f[14 - 3]) + Number(f[15 - 3]);
          const cpu = Number(f[39 - 3]);
          const key = `${pid}/${tid}`;
          const before = this.#ticks.get(key);
          if (before === undefined) p.threads++;
          if (before !== undefined && ticks > before) p.cpus.add(cpu);
          this.#ticks.set(key, ticks);
          const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
          const allowed = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
          if (allowed) p.allowed.add(allowed);
        } catch {
          // the thread ended between the listing and the read
        }
      }
    });
  }
}

/**
 * Names a placement from what was observed: `split` (parent's threads only on CPU 0,
 * child's only on CPU 1), `same` (both only on CPU 0), `in-process` (no child process),
 * or what was seen (`parent 0,1 · child 1`).
 *
 * @param processes The observed processes, the parent first.
 * @returns The name.
 */
export function placementName(processes: ProcessPlacement[]): string {
  const [parent, ...children] = processes;
  if (parent === undefined) return "unknown";
  const text = (s: Set<number>) => [...s].sort().join(",") || "–";
  const only = (s: Set<number>, cpu: number) => s.size === 0 || (s.size === 1 && s.has(cpu));
  const allowedOnly = (p: ProcessPlacement, cpu: number) =>
    [...p.allowed].every((a) => a === String(cpu));
  if (children.length === 0) {
    return only(parent.cpus, 0) && allowedOnly(parent, 0)
      ? "in-process"
      : `in-process ${text(parent.cpus)}`;
  }
  const child = children[0]!;
  const pinned = (p: ProcessPlacement, cpu: number) => only(p.cpus, cpu) && allowedOnly(p, cpu);
  if (pinned(parent, 0) && pinned(child, 1)) return "split";
  if (pinned(parent, 0) && pinned(child, 0)) return "same";
  return `parent ${text(parent.cpus)} (allowed ${[...parent.allowed].join("|")}) · child ${
    text(child.cpus)
  } (allowed ${[...child.allowed].join("|")})`;
}

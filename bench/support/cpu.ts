/**
 * CPU time spent by each part of a benchmark's stack over a stretch of the run, read from
 * /proc (Linux). The parts are told apart by their command lines, so no process has to report
 * its own; PostgreSQL's backends come and go with their connections, and what an ended one
 * spent is still counted through the postmaster's reaped-children time (cutime + cstime).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on every Linux ABI Node runs on). */
const TICKS_PER_SECOND = 100;
const MS_PER_TICK = 1000 / TICKS_PER_SECOND;

/** A part of the stack: its name, and how to recognise its processes. */
export interface CpuPart {
  name: string;
  matches(process: { pid: number; comm: string; cmdline: string }): boolean;
}

interface CpuSnapshot {
  atMs: number;
  /** Busy time of the whole machine (every process, the kernel's interrupt work included). */
  machineMs: number;
  byPart: number[];
}

export interface CpuSpent {
  wallMs: number;
  machineMs: number;
  byPart: { name: string; ms: number }[];
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the process ended between listing and reading
  }
}

function machineBusyMs(): number {
  // cpu  user nice system idle iowait irq softirq steal …
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) * MS_PER_TICK;
}

/** A process's own CPU time plus that of the children it has reaped. */
function processCpu(pid: number): { comm: string; ms: number } | undefined {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  const close = stat.lastIndexOf(')'); // comm may hold spaces and parentheses
  if (close < 0) return undefined;
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  // Fields after comm start at field 3 (state); utime, stime, cutime, cstime are fields 14–17.
  const [utime, stime, cutime, cstime] = stat
    .slice(close + 2)
    .split(' ')
    .slice(11, 15)
    .map(Number);
  return { comm, ms: (utime! + stime! + cutime! + cstime!) * MS_PER_TICK };
}

export function cpuSnapshot(parts: CpuPart[]): CpuSnapshot {
  const byPart = parts.map(() => 0);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const cpu = processCpu(pid);
    if (!cpu) continue;
    const cmdline = readOrEmpty(`/proc/${pid}/cmdline`).replaceAll('\0', ' ');
    const part = parts.findIndex((p) => p.matches({ pid, comm: cpu.comm, cmdline }));
    if (part >= 0) byPart[part]! += cpu.ms;
  }
  return { atMs: Date.now(), machineMs: machineBusyMs(), byPart };
}

export function cpuBetween(parts: CpuPart[], before: CpuSnapshot, after: CpuSnapshot): CpuSpent {
  return {
    wallMs: after.atMs - before.atMs,
    machineMs: after.machineMs - before.machineMs,
    byPart: parts.map((part, i) => ({ name: part.name, ms: after.byPart[i]! - before.byPart[i]! })),
  };
}

/** How busy the machine's cores were over the stretch, 0–1. */
export const busyShare = (spent: CpuSpent) => spent.machineMs / (spent.wallMs * availableParallelism());

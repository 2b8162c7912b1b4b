// Who owns a leftover (a registry record, a `.tmp-*` entry, a lock): a process id plus that
// process's start time, read from /proc/PID/stat. A pid alone is not an identity: after a
// crash the number is reused, and a pid check would keep (or kill for) an unrelated process.
import { readFileSync } from 'node:fs';

export interface Owner {
  pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks after boot. Unique together with the pid. */
  startTime: number;
}

/** The start time of pid, or undefined if no such process (or a zombie: it is gone). */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

export function currentOwner(): Owner {
  return { pid: process.pid, startTime: processStartTime(process.pid) ?? 0 };
}

/** True while the very process that wrote owner still runs (not a later one with its pid). */
export function ownerAlive(owner: Owner): boolean {
  const start = processStartTime(owner.pid);
  return start !== undefined && start === owner.startTime;
}

/** "PID.START", for names of files and directories that must say who made them. */
export function ownerTag(owner: Owner = currentOwner()): string {
  return `${owner.pid}.${owner.startTime}`;
}

export function parseOwnerTag(tag: string): Owner | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(tag);
  return m ? { pid: Number(m[1]), startTime: Number(m[2]) } : undefined;
}

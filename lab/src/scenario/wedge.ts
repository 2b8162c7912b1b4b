// A task the kernel wedged never returns: an oops in a task already dying ("Fixing recursive
// fault but reboot is needed!"), a soft lockup, a task hung in D state. Its command then waits
// out its whole timeout (two minutes under TCG), though the console said what happened at once.
// This watcher reads the console while the scenario runs and ends it a short grace after such a
// report. A plain oops is not one: it kills its task, whose command returns.
import type { KernelFinding } from '../report/events.ts';
import { LabError } from '../util/errors.ts';
import { sleep } from '../util/deadline.ts';
import { scanKernelLog } from './watchdog.ts';

/** Reports that say a task cannot go on: a CPU or a task stalled. */
const stalls = new Set(['soft-lockup', 'hung-task', 'rcu-stall']);
/** What the kernel prints when an oops hits a task already dying: it is parked for good. */
const recursiveFault = /Fixing recursive fault but reboot is needed!/;

/**
 * The report that says a task in the guest is stuck for good, by the title of what caused it,
 * or undefined. A plain oops kills its task, whose command then returns: that is not a wedge.
 */
export function wedgingReport(serial: string): KernelFinding | undefined {
  const findings = scanKernelLog(serial);
  const stall = findings.find((f) => stalls.has(f.kind));
  if (stall) return stall;
  if (!recursiveFault.test(serial)) return undefined;
  const line = serial.split('\n').find((l) => recursiveFault.test(l))!.trim();
  return findings.find((f) => f.kind !== 'WARN' && f.kind !== 'lockdep') ?? { kind: 'oops', title: 'recursive fault', line, excerpt: line };
}

/** The scenario outlived a kernel report by the grace period: its guest command is stuck in the kernel. */
export class WedgedError extends LabError {
  constructor(readonly finding: KernelFinding, readonly graceMs: number) {
    super(`a task in the guest is stuck in the kernel after "${finding.title}" (the console says so); the scenario was ended ${Math.round(graceMs / 1000)} s after that report instead of waiting out its commands' timeouts`);
  }
}

export interface WedgeWatch {
  /** The console log so far of the scenario's guest; null while there is no guest yet. */
  serial: () => Promise<string | null>;
  graceMs: number;
  pollMs?: number;
  /** Stops the watch (the scenario finished, or its deadline passed). */
  signal: AbortSignal;
}

/** Rejects with a WedgedError graceMs after a wedging report; never resolves otherwise. */
export async function watchForWedge(w: WedgeWatch): Promise<never> {
  let seen: { finding: KernelFinding; at: number } | undefined;
  let scanned = -1;
  for (;;) {
    await sleep(w.pollMs ?? 500, w.signal);
    if (seen) {
      if (Date.now() - seen.at >= w.graceMs) throw new WedgedError(seen.finding, w.graceMs);
      continue;
    }
    const text = await w.serial();
    // A console that printed nothing new says nothing new: scan it only when it grew.
    if (text === null || text.length === scanned) continue;
    scanned = text.length;
    const finding = wedgingReport(text);
    if (finding) seen = { finding, at: Date.now() };
  }
}

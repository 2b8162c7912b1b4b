// Wording shared by the human-facing reporters, so a run reads the same on a TTY (line) and
// in a CI log (plain): the same durations, the same summary, the same failure details.
import { join } from 'node:path';
import type { DmarFault, GuestLogFinding, KernelFinding, RunInfo, ScenarioResult, Summary } from './events.ts';

export function formatDuration(ms: number): string {
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * "N passed, N failed, N errored, N skipped" — CI scripts grep for exactly this shape. A run
 * that was cut short says so after it ("…, 1 interrupted, 5 not run"), never in place of it,
 * so the grep keeps working and the reader still sees that the counts do not cover the plan.
 */
export function formatSummary(s: Summary, total?: number): string {
  const base = `${s.passed} passed, ${s.failed} failed, ${s.errored} errored, ${s.skipped} skipped`;
  const extra: string[] = [];
  if (s.interrupted) extra.push(`${s.interrupted} interrupted`);
  const missing = notRun(s, total);
  if (missing) extra.push(`${missing} not run`);
  if (s.outside) extra.push(`${s.outside} kernel-log finding${s.outside === 1 ? '' : 's'} outside the scenarios`);
  if (s.notJudged?.length) extra.push(`${s.notJudged.length} not judged (skipped on every machine: ${s.notJudged.join('; ')})`);
  return extra.length ? `${base}, ${extra.join(', ')}` : base;
}

/** Scenarios of the plan that never started (the run was interrupted before them). */
export function notRun(s: Summary, total: number | undefined): number {
  if (total === undefined) return 0;
  return Math.max(0, total - (s.passed + s.failed + s.errored + s.skipped + s.interrupted));
}

/**
 * Every skip with its reason, for the end of a run: a skip is a contract not checked on that
 * machine, and the reader should not have to scroll back to learn which and why.
 */
export function skipLines(results: readonly ScenarioResult[]): string[] {
  const skipped = results.filter((r) => r.status === 'skipped');
  if (!skipped.length) return [];
  return [`skipped (${skipped.length}):`, ...skipped.map((r) => `  ${r.scenario.id}: ${(r.skipReason ?? 'no reason given').split(/\r?\n/)[0]}`)];
}

/** The finding's normalised title (what groups the same crash), or its raw line for older reports. */
export function findingTitle(k: KernelFinding): string {
  return k.title || `${k.kind}: ${k.line}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function describeRun(run: RunInfo): string {
  const k = run.kernel;
  const series = k?.patches.length ? ` + ${plural(k.patches.length, 'patch', 'patches')}` : '';
  const kernel = k ? `kernel ${k.release} (${k.base}${series})` : 'no kernel';
  return `run ${run.runId}: ${plural(run.total, 'scenario')}, ${kernel}, accel ${run.accel}${run.qemu ? `, ${describeRunQemu(run.qemu)}` : ''}`;
}

/** "QEMU 10.0.2" from "QEMU emulator version 10.0.2 (Debian …)"; the --qemu name if the version is unknown. */
export function describeRunQemu(qemu: NonNullable<RunInfo['qemu']>): string {
  return `QEMU ${/QEMU emulator version (\S+)/.exec(qemu.version)?.[1] ?? qemu.target}`;
}

export function describeFault(f: DmarFault): string {
  return `${f.device} ${f.access} ${f.address}: ${f.reason}`;
}

/**
 * What a reader needs under a finished scenario to act without opening the run directory:
 * the expectations that did not hold, the error and its phase, why it was skipped, and
 * anything alarming the kernel did. Artifact paths are absolute so they can be clicked.
 */
const maxFailureLines = 12;

/** A finding outside every scenario: where, what, and the part of the console log it is in. */
export function guestLogLines(g: GuestLogFinding, runDir?: string): string[] {
  return [
    ...g.findings.flatMap((k) => [`kernel ${findingTitle(k)}`, `  ${k.line}`]),
    ...g.dmar.map((d) => `unexpected DMAR fault: ${describeFault(d)}`),
    `log: ${runDir ? join(runDir, g.log) : g.log}`,
  ];
}

export function detailLines(r: ScenarioResult, runDir?: string): string[] {
  const lines: string[] = [];
  // Every observation that did not hold is already a failure; a console shows the first few
  // (a regression can fail hundreds of ioctls) and points at the report for the rest.
  for (const f of r.failures.slice(0, maxFailureLines)) lines.push(...f.split(/\r?\n/));
  if (r.failures.length > maxFailureLines) lines.push(`… and ${r.failures.length - maxFailureLines} more (report.json has them all)`);
  if (r.error) lines.push(...`${r.error.phase}: ${r.error.message}`.split(/\r?\n/));
  if (r.status === 'errored' && !r.error) lines.push('errored without a recorded error');
  if (r.skipReason) lines.push(...r.skipReason.split(/\r?\n/));
  for (const n of r.notes ?? []) lines.push(`note: ${n}`);
  for (const d of r.dmar.unexpected) lines.push(`unexpected DMAR fault: ${describeFault(d)}`);
  if (r.status === 'interrupted' && !r.error) lines.push('interrupted: the run was stopped while this scenario ran; it has no verdict');
  for (const k of r.findings) lines.push(`kernel ${findingTitle(k)}`, `  ${k.line}`);
  if (r.status === 'failed' || r.status === 'errored' || r.status === 'interrupted') {
    for (const [name, rel] of Object.entries(r.artifacts)) lines.push(`${name}: ${runDir ? join(runDir, rel) : rel}`);
  }
  return lines;
}

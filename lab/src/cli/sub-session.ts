// What run, teeth and validate share: planning the repository's scenarios, and running one
// labelled sub-session (baseline, a model, a prefix) into its own directory, kept when resumed.
import { join } from 'node:path';
import { createReporters } from '../report/create.ts';
import type { Status } from '../report/events.ts';
import { readReport } from '../report/merge.ts';
import { loadScenarios } from '../scenario/loader.ts';
import { plan, type Job, type PlanOptions } from '../scenario/planner.ts';
import { runSession } from '../scenario/session.ts';
import { machineProfile } from '../qemu/profile.ts';
import { processCleanup } from '../util/cleanup.ts';
import { UsageError } from '../util/errors.ts';
import { repoRoot } from '../util/paths.ts';
import { kernelRequest, type Context, type KernelFlags } from './context.ts';
import { lostReports } from './lost-reports.ts';
import { assertResumable, keptResults } from './resume-check.ts';
import type { QemuTarget } from '../qemu/target.ts';

export async function planScenarios(options: PlanOptions): Promise<Job[]> {
  return plan(await loadScenarios(join(repoRoot, 'scenarios'), repoRoot), options);
}

/**
 * Patterns that leave nothing to run are a usage error, named, before anything is built: a
 * session of no scenarios builds for minutes, then reports an empty table as "no regressions".
 */
export function requireScenarios(jobs: readonly Job[], patterns: readonly string[]): void {
  if (jobs.length > 0) return;
  throw new UsageError(patterns.length > 0 ? `no scenario matches ${patterns.join(' ')}` : 'there are no scenarios to run', { hint: 'see ./labw list' });
}

/** The RAM of each guest the jobs boot, for --jobs auto. */
export function guestMemory(jobs: readonly Job[]): number[] {
  return jobs.map((j) => machineProfile(j.machine).memoryMiB);
}

export interface SubSession {
  ctx: Context;
  dir: string;
  /** Subdirectory of dir, e.g. "baseline", "tip", "prefix-2". */
  name: string;
  /** How progress names it, e.g. "validate: tip". */
  label: string;
  jobs: Job[];
  kernel: KernelFlags;
  parallel: number;
  /** Keep the verdicts (not errored or interrupted results) a previous, interrupted attempt left in dir. */
  resume?: boolean;
  /** The QEMU that runs the guests (--qemu, resolved). */
  qemu: QemuTarget;
}

/** Runs the jobs and returns each scenario's status. Scenario lines go to stderr. */
export async function runSubSession(s: SubSession): Promise<Map<string, Status>> {
  const sub = join(s.dir, s.name);
  // Kept results are only this session's if it was run with these inputs (exit 2 otherwise).
  if (s.resume) await assertResumable(sub, kernelRequest(s.kernel), s.jobs, s.ctx.cache, s.qemu.name);
  const prior = s.resume ? keptResults((await readReport(sub).catch(() => null))?.results ?? [], s.jobs) : [];
  const todo = s.jobs.filter((j) => !prior.some((r) => r.scenario.id === j.id));
  const statuses = (results: { scenario: { id: string }; status: Status }[]) => new Map<string, Status>(results.map((r) => [r.scenario.id, r.status]));
  s.ctx.progress.info(`${s.label}: ${todo.length} scenarios${prior.length ? ` (${prior.length} kept from the interrupted run)` : ''}`);
  if (s.resume && todo.length === 0) return statuses(prior);
  // stdout carries the table a script may parse; the scenario lines are progress.
  const reporter = createReporters([], { runDir: sub, interactive: false, stdout: process.stderr });
  processCleanup.push(`reports of ${s.name}`, () => reporter.close());
  const { results } = await runSession({ jobs: todo, prior, kernel: kernelRequest(s.kernel), runDir: sub, cache: s.ctx.cache, progress: s.ctx.progress, reporter, parallel: s.parallel, signal: s.ctx.signal, qemu: s.qemu });
  // A verdict read from a session whose report.json was lost could not be resumed or checked.
  const lost = lostReports(reporter);
  if (lost) throw lost;
  return statuses(results);
}

// Running planned jobs: at most `jobs` workers, each taking the next job pickNext (schedule.ts)
// chooses and running it as attempts (attempt.ts) in guests from the run's pool (guest-pool.ts).
// A worker hands its booted guest from one scenario to the next after a checked reset — a guest
// costs ~3 s to boot under TCG and a scenario ~1 s — and this module's retry policy re-runs in a
// fresh guest anything that fails in a reused one, or whose DMAR messages may have been dropped.
// Emits events; never prints.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GuestLogFinding, ScenarioResult } from '../report/events.ts';
import { attemptJob, emptyResult, scenarioInfo } from './attempt.ts';
import { GuestPool, guestKey, mayFault, mayReuseGuest, missingConfig, paceMsIn, type Lane, type RunnerOptions } from './guest-pool.ts';
import type { Job } from './planner.ts';
import { pickNext } from './schedule.ts';

/**
 * Runs jobs, at most `jobs` guests at a time; results come back in job order. A free worker
 * takes the job pickNext (schedule.ts) chooses: its own guest's machine first, then one a guest
 * was booted ahead for, then plan order.
 */
export async function runJobs(jobs: Job[], opts: RunnerOptions): Promise<{ results: ScenarioResult[]; guestLogs: GuestLogFinding[] }> {
  const results: ScenarioResult[] = new Array(jobs.length);
  /** The jobs not started, in plan order. */
  const remaining = jobs.map((job, i) => ({ job, i }));
  /** The machine (guestKey) each worker's current job runs on. */
  const held = new Map<number, string>();
  const pool = new GuestPool(opts, () => ({ remaining: remaining.map((r) => r.job), held: new Set(held.values()) }));
  const worker = async (id: number) => {
    const lane: Lane = { id, guests: 0 };
    try {
      while (remaining.length > 0 && !opts.signal.aborted && stopped === undefined) {
        const others = new Set([...held].filter(([w]) => w !== id).map(([, key]) => key));
        const k = pickNext({
          remaining: remaining.map(({ job }) => ({ key: guestKey(job), reusable: mayReuseGuest(job, opts), mayFault: mayFault(job.scenario.scenario.options) })),
          ...(lane.warm ? { warm: lane.warm.key, warmPaces: paceMsIn(lane.warm, opts) > 0 } : {}),
          held: others,
          ahead: pool.aheadKeys(),
          bootMs: pool.estimates.bootMs,
          jobMs: pool.estimates.jobMs,
        });
        if (k === undefined) break;
        const [{ job, i }] = remaining.splice(k, 1) as [{ job: Job; i: number }];
        held.set(id, guestKey(job));
        // A worker about to boot its own guest starts none ahead: its boot ending does (GuestPool.boot).
        if (lane.warm?.key === guestKey(job)) pool.bootAhead();
        const r = await runJob(job, opts, pool, lane).catch((error: unknown) => {
          // What stops one worker (a full disk) stops the others at their next pick: no job is
          // started on a run that is ending, and the first cause is the one reported.
          stopped ??= error;
          throw error;
        });
        results[i] = r;
        pool.estimates.job(r.ms - (r.phases?.find((p) => p.phase === 'boot')?.ms ?? 0));
      }
    } finally {
      held.delete(id);
      await pool.retire(lane);
    }
  };
  let stopped: unknown;
  try {
    // Every worker ends (its guest retired) before the run does, also when one failed.
    await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(opts.jobs, jobs.length)) }, (_, i) => worker(i + 1)));
  } finally {
    await pool.close();
  }
  if (stopped !== undefined) throw stopped;
  return { results: results.filter(Boolean), guestLogs: pool.outside.found };
}

/** One job: skipped for a missing option, else one attempt, and a second in a fresh guest when the first cannot stand. */
async function runJob(job: Job, opts: RunnerOptions, pool: GuestPool, lane: Lane): Promise<ScenarioResult> {
  const info = scenarioInfo(job);
  const s = job.scenario.scenario;
  const dir = join(opts.runDir, 'scenarios', job.id.replace(/[^\w.-]+/g, '_'));
  await mkdir(dir, { recursive: true });
  await opts.reporter.onEvent({ type: 'scenario-start', scenario: info });
  const t0 = Date.now();
  const missing = missingConfig(s.options.requiresConfig, opts.kernelConfig);
  const finish = async (r: ScenarioResult) => {
    r.ms = Date.now() - t0;
    await opts.reporter.onEvent({ type: 'scenario-end', result: r });
    return r;
  };
  if (missing.length > 0) return finish(emptyResult(info, { status: 'skipped', skipReason: `the kernel under test has ${missing.join(', ')} off` }));

  const reuse = mayReuseGuest(job, opts);
  if (!reuse || lane.warm?.key !== guestKey(job)) await pool.retire(lane);
  const first = await attemptJob(job, opts, pool, lane, dir, reuse);
  if (opts.signal.aborted) return finish(first.result);
  const failed = ['failed', 'errored'].includes(first.result.status);
  // Run again fresh: an attempt whose DMAR messages the reused guest's kernel may have dropped,
  // or one that failed in a guest another scenario used (unless what it left behind failed it).
  if (!(first.rateLimited || (first.reused && first.leaks.length === 0 && failed))) return finish(first.result);
  await pool.retire(lane);
  const fresh = await attemptJob(job, opts, pool, lane, join(dir, 'fresh-guest'), false);
  const discarded = first.rateLimited ? [`run again in a fresh guest, its verdict discarded from the reused one: ${first.rateLimited}`] : [];
  const freshVerdict: ScenarioResult = { ...fresh.result, notes: [...(fresh.result.notes ?? []), ...discarded], artifacts: { ...prefixed(first.result.artifacts, 'reused-'), ...fresh.result.artifacts } };
  // What a scenario left for the next user of its guest fails it, whatever its log proves.
  if (first.leaks.length > 0) return finish({ ...freshVerdict, status: 'failed', failures: [...freshVerdict.failures, ...first.leaks] });
  // A failure only dropped DMAR messages can explain proves nothing: the fresh guest decides.
  if (first.rateLimited && (!failed || first.fromLogOnly)) {
    const why = failed ? [`in the reused guest it failed where dropped messages can explain it: ${first.result.failures[0]}`] : [];
    return finish({ ...freshVerdict, notes: [...freshVerdict.notes!, ...why] });
  }
  // The fresh guest decides, and a difference is reported.
  if (fresh.result.status !== 'passed') return finish(freshVerdict);
  const why = first.result.failures[0] ?? first.result.error?.message ?? first.result.status;
  return finish({
    ...first.result,
    status: 'failed',
    reusedOnly: true,
    failures: [`fails in a reused guest, passes fresh: ${why}`, ...first.result.failures.slice(1)],
    artifacts: { ...first.result.artifacts, ...prefixed(fresh.result.artifacts, 'fresh-') },
    ...(first.rateLimited ? { notes: [`its DMAR messages in the reused guest may have been rate-limited (${first.rateLimited}); its failure there does not depend on them`] } : {}),
  });
}

function prefixed(artifacts: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(artifacts).map(([k, v]) => [`${prefix}${k}`, v]));
}

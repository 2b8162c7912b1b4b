// A whole run: plan, build the kernel, boot a guest per scenario, emit events, write the run's
// identity. The CLI's `run` is this plus flag parsing.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { sha256 } from '../util/hash.ts';
import { join } from 'node:path';
import { prepareGuest, resolveAccel, type GuestArtifacts } from '../lab.ts';
import type { KernelRequest } from '../kernel/build.ts';
import { configMap } from '../kernel/kconfig.ts';
import { systemQemu, withVersion, type QemuTarget } from '../qemu/target.ts';
import { summarize, type GuestLogFinding, type Reporter, type RunInfo, type ScenarioResult, type ShardOf, type Summary } from '../report/events.ts';
import { identityJson } from '../util/identity.ts';
import type { Progress } from '../util/progress.ts';
import { repoRoot } from '../util/paths.ts';
import { groupByKernel, type Job } from './planner.ts';
import { runJobs } from './runner.ts';

export interface SessionOptions {
  jobs: Job[];
  kernel: KernelRequest;
  runDir: string;
  cache: string;
  progress: Progress;
  reporter: Reporter;
  parallel: number;
  signal: AbortSignal;
  keepFailed?: boolean;
  /** Hand guests from one scenario to the next after a checked reset. @default true */
  reuseGuests?: boolean;
  /**
   * In a reused guest, wait for earlier scenarios' DMAR messages to leave the rate-limit window
   * before a scenario starts (ratelimit.ts paceSeconds). Off only where a test needs the runner's
   * answer to a window that did fill. @default true
   */
  paceDmar?: boolean;
  /** Results of an interrupted run being resumed: reported again, not re-run. */
  prior?: ScenarioResult[];
  /** The QEMU that runs the guests (--qemu, resolved by the CLI). @default the system's */
  qemu?: QemuTarget;
  /** Which shard of the plan these jobs are (--shard): recorded so a merge can tell one is missing. */
  shard?: ShardOf;
}

/** The lab's own commit (and whether its tree had local changes), for reproducing a run. */
export async function labCommit(): Promise<string> {
  const head = await execa('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { reject: false });
  const dirty = await execa('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'], { reject: false });
  return head.exitCode === 0 ? `${head.stdout.trim()}${dirty.stdout.trim() ? ' (with local changes)' : ''}` : 'unknown';
}

export async function labVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function runSession(opts: SessionOptions): Promise<{ results: ScenarioResult[]; summary: Summary; run: RunInfo; guestLogs: GuestLogFinding[] }> {
  await mkdir(opts.runDir, { recursive: true });
  const t0 = Date.now();
  const groups = groupByKernel(opts.jobs);
  // The lab flavour's kernel is the run's identity; other flavours (selftest) are built as needed.
  const primaryFlavour = groups.has('lab') ? 'lab' : ([...groups.keys()][0] ?? 'lab');
  const guests = new Map<string, GuestArtifacts>();
  const guestFor = async (flavour: string) => {
    if (!guests.has(flavour)) guests.set(flavour, await prepareGuest({ ...opts.kernel, flavour }, opts.cache, opts.progress, opts.signal));
    return guests.get(flavour)!;
  };
  const primary = await guestFor(primaryFlavour);
  const verdict = await resolveAccel(opts.cache, primary, opts.runDir, opts.progress);
  const qemu = opts.qemu ?? (await withVersion(systemQemu));
  const kernelConfigText = await readFile(primary.kernel.config, 'utf8');
  const run: RunInfo = {
    runId: opts.runDir.split('/').at(-1)!,
    runDir: opts.runDir,
    startedAt: new Date(t0).toISOString(),
    labVersion: await labVersion(),
    kernel: {
      release: primary.kernel.release,
      key: primary.kernel.key,
      base: primary.kernel.base,
      patches: primary.kernel.patches.map((p) => ({ index: p.index, subject: p.subject })),
    },
    accel: verdict.accel,
    qemu: { target: qemu.name, version: qemu.version ?? 'unknown' },
    total: opts.jobs.length,
    ...(opts.shard ? { shard: opts.shard } : {}),
  };
  await writeFile(join(opts.runDir, 'kernel.config'), kernelConfigText);
  await writeFile(
    join(opts.runDir, 'identity.json'),
    identityJson({
      ...run,
      labCommit: await labCommit(),
      qemu: qemu.version ?? 'unknown',
      qemuTarget: qemu.name,
      accelReason: verdict.reason,
      kernels: [...groups.keys()].map((flavour) => ({ flavour, key: guests.get(flavour)?.kernel.key ?? null })),
      series: primary.kernel.patches,
      fragments: primary.kernel.fragments,
      configSha256: sha256(kernelConfigText),
      compiler: primary.kernel.compiler,
      kernelBuildLog: primary.kernel.buildLog,
      scenarios: opts.jobs.map((j) => ({ id: j.id, machine: j.machine, flavour: j.flavour, file: j.scenario.file })) }),
  );
  const prior = opts.prior ?? [];
  run.total += prior.length;
  await opts.reporter.onEvent({ type: 'run-start', run });
  const results: ScenarioResult[] = [...prior];
  const guestLogs: GuestLogFinding[] = [];
  for (const result of prior) await opts.reporter.onEvent({ type: 'scenario-end', result });
  for (const [flavour, jobs] of groups) {
    if (opts.signal.aborted) break;
    const guest = await guestFor(flavour);
    const ran = await runJobs(jobs, {
        guest,
        kernelConfig: configMap(await readFile(guest.kernel.config, 'utf8')),
        accel: verdict.accel,
        qemu,
        runDir: opts.runDir,
        cache: opts.cache,
        reporter: opts.reporter,
        progress: opts.progress,
        jobs: opts.parallel,
        signal: opts.signal,
        keepFailed: opts.keepFailed,
        reuseGuests: opts.reuseGuests,
        paceDmar: opts.paceDmar,
      });
    results.push(...ran.results);
    guestLogs.push(...ran.guestLogs);
  }
  const summary = summarize(results, Date.now() - t0, guestLogs);
  await opts.reporter.onEvent({ type: 'run-end', run, summary, results, guestLogs });
  await opts.reporter.close?.();
  return { results, summary, run, guestLogs };
}

/**
 * 130 if the run was interrupted, else 1 if a scenario failed or the kernel log outside the
 * scenarios reported something, 2 if one errored or a scenario was skipped on every machine (its
 * contract not judged) and nothing failed, else 0.
 */
export function exitCodeFor(summary: Summary): number {
  if (summary.interrupted > 0) return 130;
  if (summary.failed > 0 || (summary.outside ?? 0) > 0) return 1;
  if (summary.errored > 0 || (summary.notJudged?.length ?? 0) > 0) return 2;
  return 0;
}

// `./labw run` and `./labw list`.
import { join } from 'node:path';
import { createReporters } from '../report/create.ts';
import { summarize, type ScenarioResult, type ShardOf } from '../report/events.ts';
import { formatSummary } from '../report/format.ts';
import { mergeReports, readReport, readShard, replay } from '../report/merge.ts';
import { parseShard, shard } from '../scenario/planner.ts';
import { guestMemory, planScenarios, requireScenarios } from './sub-session.ts';
import { writeReproduce } from './reproduce.ts';
import { exitCodeFor, runSession } from '../scenario/session.ts';
import { interruptExitCode, processCleanup } from '../util/cleanup.ts';
import { asDiskFull } from '../util/disk-full.ts';
import { openLog } from '../util/log.ts';
import { jobsFor } from '../util/parallel.ts';
import { isInteractive } from '../util/progress.ts';
import { ExitCode, LabError, UsageError } from '../util/errors.ts';
import { kernelRequest, type Context, type KernelFlags, type QemuFlags } from './context.ts';
import { ensureRunDir, runDir } from './guest-commands.ts';
import { lostReports } from './lost-reports.ts';
import { assertResumable, keptResults } from './resume-check.ts';
import { resolveQemu } from './qemu-target.ts';

export interface RunFlags extends KernelFlags, QemuFlags {
  machine?: string;
  jobs: string;
  reporter: string[];
  out?: string;
  keepFailed?: boolean;
  /** false with --fresh-guests: every scenario boots its own guest. */
  reuseGuests?: boolean;
  shard?: string;
  resume?: string;
}

export async function runScenariosCommand(ctx: Context, patterns: string[], flags: RunFlags): Promise<number> {
  const planned = await planScenarios({ patterns, machine: flags.machine });
  let jobs = planned;
  let shardOf: ShardOf | undefined;
  if (flags.shard) {
    const { index, count } = parseShardFlag(flags.shard);
    jobs = shard(planned, index, count);
    shardOf = { index, count, planned: planned.length };
    ctx.progress.info(`shard ${index}/${count}: ${jobs.length} of ${planned.length} jobs`);
  }
  // Resuming: scenarios that reached a verdict (passed, failed or skipped) keep their results;
  // errored and interrupted ones and those never reached run again, into the same run directory.
  let prior: ScenarioResult[] = [];
  if (flags.resume) {
    // Before anything is kept: old results are only this run's if it was run with these inputs.
    await assertResumable(flags.resume, kernelRequest(flags), jobs, ctx.cache, flags.qemu);
    const previous = await readReport(flags.resume).catch(() => null);
    prior = keptResults(previous?.results ?? [], jobs);
    jobs = jobs.filter((j) => !prior.some((r) => r.scenario.id === j.id));
    ctx.progress.info(`resuming ${flags.resume}: ${prior.length} result(s) kept, ${jobs.length} scenario(s) to run`);
    if (jobs.length === 0) return exitCodeFor(summarize(prior, 0));
  }
  requireScenarios(jobs, patterns);
  const parallel = jobsFor(flags.jobs, guestMemory(jobs));
  // Before the run directory: a QEMU 10 that cannot be fetched is a usage-time error, not a run.
  const qemu = await resolveQemu(flags.qemu, ctx.cache, (line) => ctx.progress.info(line));
  const dir = flags.resume ? ensureRunDir(flags.resume) : runDir(flags, 'run');
  openLog(join(dir, 'lab.ndjson'));
  const reporter = createReporters(flags.reporter, { runDir: dir, interactive: isInteractive(process.stdout) });
  // Interrupted: the reports still get every scenario that finished (pushed first, so it runs
  // after the guests are down).
  processCleanup.push('reports', () => reporter.close());
  ctx.progress.info(`run directory: ${dir}`);
  let summary;
  try {
    await writeReproduce(dir, patterns, flags);
    ({ summary } = await runSession({ jobs, kernel: kernelRequest(flags), runDir: dir, cache: ctx.cache, progress: ctx.progress, reporter, parallel, signal: ctx.signal, keepFailed: flags.keepFailed, reuseGuests: flags.reuseGuests, prior, qemu, shard: shardOf }));
  } catch (error) {
    // write(2)'s ENOSPC names no file: the run directory is where this run writes.
    throw asDiskFull(error, (error as NodeJS.ErrnoException).path ?? dir);
  }
  const lost = lostReports(reporter);
  if (lost) throw lost;
  ctx.progress.info(`reports: ${dir}`);
  return ctx.signal.aborted ? (interruptExitCode() ?? ExitCode.interrupted) : exitCodeFor(summary);
}

export async function listCommand(patterns: string[], json: boolean): Promise<number> {
  const jobs = await planScenarios({ patterns });
  if (json) {
    process.stdout.write(`${JSON.stringify(jobs.map((j) => ({ id: j.id, file: j.scenario.file, ...j.scenario.scenario.options, machine: j.machine, flavour: j.flavour })), null, 2)}\n`);
    return 0;
  }
  for (const j of jobs) {
    const o = j.scenario.scenario.options;
    process.stdout.write(`${j.id}\n  devices: ${o.devices.join(', ')}   machine: ${j.machine}   kernel: ${j.flavour}   tags: ${o.tags.join(', ')}\n  concern: ${o.concern.text}\n  ref:     ${o.concern.ref}\n\n`);
  }
  process.stdout.write(`${jobs.length} scenario(s)\n`);
  return 0;
}

function parseShardFlag(spec: string) {
  try {
    return parseShard(spec);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

/**
 * `./labw report merge DIR…`: one set of reports from the run directories of several shards.
 * Shards that are not of one run are refused before anything is written; a merge that lacks a
 * shard (or has one cut short) is written for inspection but exits 2, never as a smaller run.
 */
export async function mergeCommand(ctx: Context, dirs: string[], flags: { out?: string; reporter: string[] }): Promise<number> {
  if (dirs.length === 0) throw new UsageError('./labw report merge needs the run directories of the shards');
  const reports = await Promise.all(dirs.map((d) => readShard(d).catch((e: unknown) => {
    throw new UsageError((e as Error).message, { cause: e });
  })));
  // Checked before the merged directory is made: a refused merge leaves nothing behind.
  let checked;
  try {
    checked = mergeReports(reports, '');
  } catch (error) {
    throw new UsageError(`cannot merge: ${(error as Error).message}`, { cause: error, hint: 'merge the run directories of the shards of one run (./labw run --shard I/N with the same inputs)' });
  }
  const dir = runDir(flags, 'merged');
  const merged = { ...checked, run: { ...checked.run, runDir: dir } };
  await replay(createReporters(flags.reporter, { runDir: dir, interactive: isInteractive(process.stdout) }), merged.run, merged.results, merged.guestLogs);
  for (const s of merged.run.shards ?? []) ctx.progress.info(`  ${s.shard ? `shard ${s.shard.index}/${s.shard.count}` : s.runId}: ${formatSummary(s.summary, s.total)}`);
  ctx.progress.info(`merged ${dirs.length} run(s), ${merged.results.length} scenario results: ${dir}`);
  if (!reports.some((r) => r.run.shard)) ctx.progress.info('warning: no report names its shard (run without --shard, or before shards were recorded): a missing one cannot be told');
  if (merged.incomplete.length) {
    throw new LabError(`incomplete: ${merged.incomplete.join('; ')}`, { hint: `the merged reports in ${dir} are for inspection only; merge every shard's run directory (resume a cut-short shard with --resume first)` });
  }
  return exitCodeFor(summarize(merged.results, 0, merged.guestLogs));
}

// `./labw validate`: what a series does — baseline vs tip, and with --each / --each-runtime patch
// by patch, naming the first patch that breaks the build or a scenario.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildKernel } from '../kernel/build.ts';
import { loadSeries, parseSeriesSpec } from '../kernel/series.ts';
import type { Patch } from '../kernel/mbox.ts';
import { describePatch, joinPatches } from '../kernel/mbox.ts';
import type { Status } from '../report/events.ts';
import { bisectFirstBreaking, brokenBaseline, classify, compareRuns, comparisonTable, newWarnings, verdictLine, warnings, type Outcome } from '../scenario/compare.ts';
import { outcomes, outsideRow } from './outcomes.ts';
import { baselineKey, loadBaseline, saveBaseline } from './baseline-cache.ts';
import { labCommit } from '../scenario/session.ts';
import { BuildError, ExitCode, LabError, PatchError, UsageError } from '../util/errors.ts';
import { kernelRequest, type Context, type KernelFlags, type QemuFlags } from './context.ts';
import { resolveQemu } from './qemu-target.ts';
import type { QemuTarget } from '../qemu/target.ts';
import { runDir } from './guest-commands.ts';
import { guestMemory, planScenarios, requireScenarios, runSubSession } from './sub-session.ts';
import { labScenariosOnly } from '../scenario/planner.ts';
import { jobsFor } from '../util/parallel.ts';

export interface ValidateFlags extends KernelFlags, QemuFlags {
  resume?: string;
  each?: boolean;
  eachRuntime?: boolean;
  jobs: string;
  out?: string;
}

/** The first `count` patches as one mbox, byte for byte, so a prefix is an ordinary series to the kernel build. */
export function prefixMbox(patches: Patch[], count: number): Buffer {
  return joinPatches(patches.slice(0, count));
}

/** The base a series says it was written for (git format-patch --base, b4). */
export function baseCommitOf(texts: string[]): string | undefined {
  for (const text of texts) {
    const m = /^base-commit: ([0-9a-f]{7,40})$/m.exec(text);
    if (m) return m[1];
  }
  return undefined;
}

/** What the steps of one validate share: where it writes, the series, and its transcript. */
interface ValidateRun {
  ctx: Context;
  flags: ValidateFlags;
  dir: string;
  patches: Patch[];
  /** prefixFiles[k - 1]: the first k patches as one mbox. */
  prefixFiles: string[];
  rawTexts: string[];
  verdict: Record<string, unknown>;
  /** A line of the verdict: printed, and kept for validate.txt. */
  say(line: string): void;
  lines: string[];
}

/**
 * validate: load the series → (--each) build every prefix → baseline (remembered or run) → tip →
 * compare → (--each-runtime) bisect each regression → write the verdict. Each step is a
 * function below; this one only strings them together.
 */
export async function validateCommand(ctx: Context, patterns: string[], flags: ValidateFlags): Promise<number> {
  if (flags.series.length === 0) throw new UsageError('./labw validate needs --series', { hint: 'an mbox, a folder of patches, or REPO:A..B' });
  // Before the series is read or a run directory made: patterns that match nothing are exit 2.
  const jobs = labScenariosOnly(await planScenarios({ patterns }));
  requireScenarios(jobs, patterns);
  const { patches, rawTexts } = await loadValidateSeries(flags.series);
  const dir = flags.resume ?? runDir(flags, 'validate');
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  const v: ValidateRun = { ctx, flags, dir, patches, rawTexts, prefixFiles: await writePrefixes(dir, patches), verdict: {}, lines, say };
  v.verdict.patches = patches.map((p) => ({ index: p.index, subject: p.subject, source: p.source }));
  // --each builds every prefix (which patch breaks the build, new warnings per patch); the
  // runtime bisection alone builds only the tip and the O(log n) prefixes it runs.
  if (flags.each && !(await buildEachPrefix(v))) {
    await writeVerdict(v);
    return 1;
  }

  const parallel = jobsFor(flags.jobs, guestMemory(jobs));
  const qemu = await resolveQemu(flags.qemu, ctx.cache, (line) => ctx.progress.info(line));
  const session = (name: string, sessionFlags: KernelFlags, sessionJobs = jobs) =>
    runSubSession({ ctx, dir, name, label: `validate: ${name}`, jobs: sessionJobs, kernel: sessionFlags, parallel, resume: Boolean(flags.resume), qemu }).catch((error: unknown) => {
      throw error instanceof PatchError ? withBaseHint(error, rawTexts) : error;
    });
  const baseFlags = { ...flags, series: [] };
  const baseline = await baselineOutcomes(ctx, dir, jobs, baseFlags, qemu, () => session('baseline', baseFlags));
  const broken = brokenBaseline(baseline);
  if (broken.length > 0) {
    v.verdict.brokenBaseline = broken;
    await writeFile(join(dir, 'validate.json'), JSON.stringify(v.verdict, null, 2));
    throw new LabError(`the baseline is broken: nothing to compare (${broken.length} scenario(s) do not pass without the series: ${broken.map((id) => `${id} ${baseline.get(id)?.status}`).join(', ')})`, {
      hint: `see ${join(dir, 'baseline')}; fix the base or the lab first, or validate only scenarios that pass on it (PATTERN…)`,
    });
  }
  const tip = await outcomes(dir, 'tip', await session('tip', { ...flags, series: [v.prefixFiles.at(-1)!] }));
  const comparison = compareRuns(baseline, tip);
  v.say(`\nbaseline vs tip (${patches.length} patch(es)):\n${comparisonTable(comparison)}`);
  v.verdict.comparison = comparison;
  // The log outside the scenarios belongs to no job a prefix could re-run: it is a regression of
  // the tip, not bisected (its findings name where in which guest's log).
  const bisectable = comparison.regressions.filter((id) => id !== outsideRow);
  if (comparison.regressions.includes(outsideRow)) v.say(`${outsideRow}: ${(tip.get(outsideRow)?.failures ?? []).join('; ')} (not bisected: no scenario's run covers it)`);
  if (flags.eachRuntime && bisectable.length > 0) {
    await bisectRegressions(v, bisectable, baseline, tip, (k, ids) => session(`prefix-${k}`, { ...flags, series: [v.prefixFiles[k - 1]!] }, jobs.filter((j) => ids.has(j.id))));
  }
  v.say(`\n${verdictLine(comparison)}`);
  await writeVerdict(v);
  ctx.progress.info(`validate results: ${dir}`);
  if (comparison.rows.some((r) => r.change === 'interrupted')) return ExitCode.interrupted;
  return comparison.regressions.length > 0 ? 1 : 0;
}

/** The patches of every --series, numbered within the whole series as validated. */
async function loadValidateSeries(series: string[]): Promise<{ patches: Patch[]; rawTexts: string[] }> {
  const patches: Patch[] = [];
  const rawTexts: string[] = [];
  for (const s of series) {
    const spec = parseSeriesSpec(s);
    if (spec.kind === 'mbox') rawTexts.push(await readFile(spec.path, 'utf8'));
    for (const p of await loadSeries(spec)) patches.push({ ...p, index: patches.length + 1 });
  }
  for (const p of patches) Object.assign(p, { number: p.index, total: patches.length });
  return { patches, rawTexts };
}

/** Each prefix as an mbox in DIR/prefixes: the series must apply before anything else is worth doing. */
async function writePrefixes(dir: string, patches: Patch[]): Promise<string[]> {
  await mkdir(join(dir, 'prefixes'), { recursive: true });
  const files: string[] = [];
  for (let k = 1; k <= patches.length; k++) {
    const file = join(dir, 'prefixes', `prefix-${String(k).padStart(3, '0')}.mbox`);
    await writeFile(file, prefixMbox(patches, k));
    files.push(file);
  }
  return files;
}

/** --each: builds every prefix in order; false at the first that does not build (named, with its error). */
async function buildEachPrefix(v: ValidateRun): Promise<boolean> {
  const { ctx, flags } = v;
  let previous = warnings(await readFile((await buildKernel(kernelRequest({ ...flags, series: [] }), ctx.cache, ctx.progress, ctx.signal)).buildLog, 'utf8'));
  const perPatch: unknown[] = [];
  v.verdict.builds = perPatch;
  for (let k = 1; k <= v.patches.length; k++) {
    const patch = v.patches[k - 1]!;
    try {
      const kernel = await buildKernel(kernelRequest({ ...flags, series: [v.prefixFiles[k - 1]!] }), ctx.cache, ctx.progress, ctx.signal);
      const current = warnings(await readFile(kernel.buildLog, 'utf8'));
      const added = newWarnings(previous, current);
      previous = current;
      perPatch.push({ patch: k, build: 'ok', newWarnings: added });
      v.say(`build ${describePatch(patch)}: ok${added.length ? `, ${added.length} new warning(s):\n  ${added.join('\n  ')}` : ''}`);
    } catch (error) {
      if (error instanceof PatchError) throw withBaseHint(error, v.rawTexts);
      if (!(error instanceof BuildError)) throw error;
      perPatch.push({ patch: k, build: 'failed', error: error.message, log: error.logPath });
      v.say(`build ${describePatch(patch)}: BROKEN — the first patch that does not build\n${error.message}\n  log: ${error.logPath}`);
      return false;
    }
  }
  return true;
}

/**
 * --each-runtime: like `git bisect run`, per regressed scenario: O(log n) prefixes, each running
 * only the scenarios still being bisected; a prefix already run is reused. It assumes a scenario
 * that a patch breaks stays broken by the patches after it. A prefix that does not build says
 * nothing about any scenario: it is skipped (named, with its error), as `git bisect skip` would,
 * and a first breaking patch that could lie in skipped prefixes is reported as the range.
 */
async function bisectRegressions(v: ValidateRun, regressions: string[], baseline: Map<string, Outcome>, tip: Map<string, Outcome>, runPrefix: (k: number, ids: Set<string>) => Promise<Map<string, Status>>): Promise<void> {
  const n = v.patches.length;
  const regressed = new Set(regressions);
  const ran = new Map<number, Map<string, Status> | BuildError>([[n, new Map([...tip].map(([id, o]) => [id, o.status]))]]);
  const prefixRun = async (k: number) => {
    if (!ran.has(k)) {
      try {
        ran.set(k, await runPrefix(k, regressed));
      } catch (error) {
        if (!(error instanceof BuildError)) throw error;
        ran.set(k, error);
        v.say(`prefix ${k} (${describePatch(v.patches[k - 1]!)}) does not build: skipped by the bisection\n  ${error.message.split('\n').slice(0, 4).join('\n  ')}\n  log: ${error.logPath}`);
      }
    }
    return ran.get(k)!;
  };
  const first = await bisectFirstBreaking(regressions, n, async (k, id) => {
    const run = await prefixRun(k);
    return run instanceof BuildError ? 'untestable' : classify(baseline.get(id)?.status, run.get(id)) === 'regression';
  });
  for (const [id, { from, to }] of first) {
    if (from === to) v.say(`${id}: first broken by ${describePatch(v.patches[to - 1]!)}`);
    else v.say(`${id}: first broken by one of patches ${from}..${to} (${from === to - 1 ? `prefix ${from} does` : `prefixes ${from}..${to - 1} do`} not build): ${describePatch(v.patches[to - 1]!)} is the first that builds and fails`);
  }
  v.say(`(bisected: ${ran.size - 1} of ${n - 1} prefixes run)`);
  v.verdict.grid = [...ran].sort(([a], [b]) => a - b).map(([k, p]) => (p instanceof BuildError ? { patch: k, build: 'failed', error: p.message, log: p.logPath } : { patch: k, results: Object.fromEntries(p) }));
  v.verdict.firstBreaking = Object.fromEntries([...first].map(([id, r]) => [id, r.from === r.to ? r.to : r]));
}

async function writeVerdict(v: ValidateRun): Promise<void> {
  await writeFile(join(v.dir, 'validate.json'), JSON.stringify(v.verdict, null, 2));
  await writeFile(join(v.dir, 'validate.txt'), `${v.lines.join('\n')}\n`);
}


function withBaseHint(error: PatchError, texts: string[]): PatchError {
  const base = baseCommitOf(texts);
  return base ? new PatchError(error.message, { hint: `the series says it was written for base-commit ${base}: try --base REPO@${base}` }) : error;
}

/** The baseline's outcomes: remembered from an earlier validate of the same kernel by the same lab commit, or run now. */
async function baselineOutcomes(ctx: Context, dir: string, jobs: { id: string }[], baseFlags: KernelFlags, qemu: QemuTarget, run: () => Promise<Map<string, Status>>): Promise<Map<string, Outcome>> {
  const kernel = await buildKernel(kernelRequest(baseFlags), ctx.cache, ctx.progress, ctx.signal);
  const key = baselineKey(kernel.key, await labCommit(), jobs.map((j) => j.id), qemu.version);
  const remembered = key ? await loadBaseline(ctx.cache, key) : null;
  if (remembered) {
    ctx.progress.info(`validate: baseline: ${[...remembered.keys()].filter((id) => id !== outsideRow).length} scenarios, results reused (same kernel ${kernel.key.slice(0, 12)}, same lab commit, same QEMU)`);
    return remembered;
  }
  const outcomesNow = await outcomes(dir, 'baseline', await run());
  if (key && brokenBaseline(outcomesNow).length === 0 && !ctx.signal.aborted) await saveBaseline(ctx.cache, key, outcomesNow);
  return outcomesNow;
}

// `lab validate`: what a series does — baseline vs tip, and with --each / --each-runtime patch
// by patch, naming the first patch that breaks the build or a scenario.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildKernel } from '../kernel/build.ts';
import { loadSeries, parseSeriesSpec } from '../kernel/series.ts';
import type { Patch } from '../kernel/mbox.ts';
import { describePatch, joinPatches } from '../kernel/mbox.ts';
import type { Status } from '../report/events.ts';
import { bisectFirstBreaking, brokenBaseline, classify, compareRuns, comparisonTable, newWarnings, verdictLine, warnings, type Outcome } from '../scenario/compare.ts';
import { outcomes } from './outcomes.ts';
import { baselineKey, loadBaseline, saveBaseline } from './baseline-cache.ts';
import { labCommit } from '../scenario/session.ts';
import { BuildError, ExitCode, LabError, PatchError, UsageError } from '../util/errors.ts';
import { kernelRequest, type Context, type KernelFlags, type QemuFlags } from './context.ts';
import { resolveQemu } from './qemu-target.ts';
import type { QemuTarget } from '../qemu/target.ts';
import { runDir } from './guest-commands.ts';
import { guestMemory, planScenarios, runSubSession } from './sub-session.ts';
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

export async function validateCommand(ctx: Context, patterns: string[], flags: ValidateFlags): Promise<number> {
  if (flags.series.length === 0) throw new UsageError('lab validate needs --series', { hint: 'an mbox, a folder of patches, or REPO:A..B' });
  const patches: Patch[] = [];
  const rawTexts: string[] = [];
  for (const s of flags.series) {
    const spec = parseSeriesSpec(s);
    if (spec.kind === 'mbox') rawTexts.push(await readFile(spec.path, 'utf8'));
    for (const p of await loadSeries(spec)) patches.push({ ...p, index: patches.length + 1 });
  }
  // Numbered within the whole series as validated, which may join several files.
  for (const p of patches) Object.assign(p, { number: p.index, total: patches.length });
  const dir = flags.resume ?? runDir(flags, 'validate');
  await mkdir(join(dir, 'prefixes'), { recursive: true });
  const jobs = (await planScenarios({ patterns })).filter((j) => j.flavour === 'lab');
  const parallel = jobsFor(flags.jobs, guestMemory(jobs));
  const baseFlags = { ...flags, series: [] };
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };

  // The series must apply before anything else is worth doing.
  const prefixFiles: string[] = [];
  for (let k = 1; k <= patches.length; k++) {
    const file = join(dir, 'prefixes', `prefix-${String(k).padStart(3, '0')}.mbox`);
    await writeFile(file, prefixMbox(patches, k));
    prefixFiles.push(file);
  }
  const tipFlags = { ...flags, series: [prefixFiles.at(-1)!] };

  const verdict: Record<string, unknown> = { patches: patches.map((p) => ({ index: p.index, subject: p.subject, source: p.source })) };
  let buildBroken = false;
  // --each builds every prefix (which patch breaks the build, new warnings per patch); the
  // runtime bisection alone builds only the tip and the O(log n) prefixes it runs.
  if (flags.each) {
    let previous = warnings(await readFile((await buildKernel(kernelRequest(baseFlags), ctx.cache, ctx.progress, ctx.signal)).buildLog, 'utf8'));
    const perPatch: unknown[] = [];
    for (let k = 1; k <= patches.length; k++) {
      const patch = patches[k - 1]!;
      try {
        const kernel = await buildKernel(kernelRequest({ ...flags, series: [prefixFiles[k - 1]!] }), ctx.cache, ctx.progress, ctx.signal);
        const current = warnings(await readFile(kernel.buildLog, 'utf8'));
        const added = newWarnings(previous, current);
        previous = current;
        perPatch.push({ patch: k, build: 'ok', newWarnings: added });
        say(`build ${describePatch(patch)}: ok${added.length ? `, ${added.length} new warning(s):\n  ${added.join('\n  ')}` : ''}`);
      } catch (error) {
        if (error instanceof PatchError) throw withBaseHint(error, rawTexts);
        if (!(error instanceof BuildError)) throw error;
        buildBroken = true;
        perPatch.push({ patch: k, build: 'failed', error: error.message, log: error.logPath });
        say(`build ${describePatch(patch)}: BROKEN — the first patch that does not build\n${error.message}\n  log: ${error.logPath}`);
        break;
      }
    }
    verdict.builds = perPatch;
  }
  if (buildBroken) {
    await writeFile(join(dir, 'validate.json'), JSON.stringify(verdict, null, 2));
    await writeFile(join(dir, 'validate.txt'), `${lines.join('\n')}\n`);
    return 1;
  }

  const qemu = await resolveQemu(flags.qemu, ctx.cache, (line) => ctx.progress.info(line));
  const session = (name: string, sessionFlags: KernelFlags, sessionJobs = jobs) =>
    runSubSession({ ctx, dir, name, label: `validate: ${name}`, jobs: sessionJobs, kernel: sessionFlags, parallel, resume: Boolean(flags.resume), qemu }).catch((error: unknown) => {
      throw error instanceof PatchError ? withBaseHint(error, rawTexts) : error;
    });
  const baseline = await baselineOutcomes(ctx, dir, jobs, baseFlags, qemu, () => session('baseline', baseFlags));
  const broken = brokenBaseline(baseline);
  if (broken.length > 0) {
    verdict.brokenBaseline = broken;
    await writeFile(join(dir, 'validate.json'), JSON.stringify(verdict, null, 2));
    throw new LabError(`the baseline is broken: nothing to compare (${broken.length} scenario(s) do not pass without the series: ${broken.map((id) => `${id} ${baseline.get(id)?.status}`).join(', ')})`, {
      hint: `see ${join(dir, 'baseline')}; fix the base or the lab first, or validate only scenarios that pass on it (PATTERN…)`,
    });
  }
  const tip = await outcomes(dir, 'tip', await session('tip', tipFlags));
  const comparison = compareRuns(baseline, tip);
  say(`\nbaseline vs tip (${patches.length} patch(es)):\n${comparisonTable(comparison)}`);
  verdict.comparison = comparison;
  if (flags.eachRuntime && comparison.regressions.length > 0) {
    // Like `git bisect run`, per regressed scenario: O(log n) prefixes, each running only the
    // scenarios still being bisected; a prefix already run is reused. It assumes a scenario
    // that a patch breaks stays broken by the patches after it.
    const regressed = new Set(comparison.regressions);
    const ran = new Map<number, Map<string, Status>>([[patches.length, new Map([...tip].map(([id, o]) => [id, o.status]))]]);
    const prefixRun = async (k: number) => {
      if (!ran.has(k)) ran.set(k, await session(`prefix-${k}`, { ...flags, series: [prefixFiles[k - 1]!] }, jobs.filter((j) => regressed.has(j.id))));
      return ran.get(k)!;
    };
    const first = await bisectFirstBreaking(comparison.regressions, patches.length, async (k, id) => classify(baseline.get(id)?.status, (await prefixRun(k)).get(id)) === 'regression');
    for (const [id, k] of first) say(`${id}: first broken by ${describePatch(patches[k - 1]!)}`);
    say(`(bisected: ${ran.size - 1} of ${patches.length - 1} prefixes run)`);
    verdict.grid = [...ran].sort(([a], [b]) => a - b).map(([k, p]) => ({ patch: k, results: Object.fromEntries(p) }));
    verdict.firstBreaking = Object.fromEntries(first);
  }
  say(`\n${verdictLine(comparison)}`);
  await writeFile(join(dir, 'validate.json'), JSON.stringify(verdict, null, 2));
  await writeFile(join(dir, 'validate.txt'), `${lines.join('\n')}\n`);
  ctx.progress.info(`validate results: ${dir}`);
  if (comparison.rows.some((r) => r.change === 'interrupted')) return ExitCode.interrupted;
  return comparison.regressions.length > 0 ? 1 : 0;
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
    ctx.progress.info(`validate: baseline: ${remembered.size} scenarios, results reused (same kernel ${kernel.key.slice(0, 12)}, same lab commit, same QEMU)`);
    return remembered;
  }
  const outcomesNow = await outcomes(dir, 'baseline', await run());
  if (key && brokenBaseline(outcomesNow).length === 0 && !ctx.signal.aborted) await saveBaseline(ctx.cache, key, outcomesNow);
  return outcomesNow;
}

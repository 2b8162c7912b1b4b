// `lab teeth`: run every regression model and check its header's claim against the baseline.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReporters } from '../report/create.ts';
import type { Status } from '../report/events.ts';
import { loadScenarios } from '../scenario/loader.ts';
import { plan } from '../scenario/planner.ts';
import { runSession } from '../scenario/session.ts';
import { judgeModel, parseModelHeader, teethTable, type ModelVerdict } from '../scenario/teeth.ts';
import { UsageError } from '../util/errors.ts';
import { repoRoot } from '../util/paths.ts';
import { kernelRequest, type Context, type KernelFlags } from './context.ts';
import { runDir } from './guest-commands.ts';

const modelsDir = join(repoRoot, 'kernel-patches/regressions');

export async function teethCommand(ctx: Context, flags: KernelFlags & { jobs: string; out?: string }): Promise<number> {
  const files = (await readdir(modelsDir)).filter((f) => f.endsWith('.patch')).sort();
  if (files.length === 0) throw new UsageError(`no regression models in ${modelsDir}`);
  // The lab's own scenarios only: the selftest pack judges a different kernel flavour, and
  // rebuilding it per model would cost a kernel build each for no claim any model makes.
  const jobs = plan(await loadScenarios(join(repoRoot, 'scenarios'), repoRoot), { patterns: [] }).filter((j) => j.flavour === 'lab');
  const dir = runDir(flags, 'teeth');
  const session = async (name: string, series: string[]) => {
    const sub = join(dir, name);
    // Scenario lines go to stderr: stdout carries the table a script may parse.
    const reporter = createReporters([], { runDir: sub, interactive: false, stdout: process.stderr });
    ctx.progress.info(`teeth: ${name}: ${jobs.length} scenarios${series.length ? ` with ${series.join(' ')}` : ''}`);
    const { results } = await runSession({ jobs, kernel: kernelRequest({ ...flags, series: [...flags.series, ...series] }), runDir: sub, cache: ctx.cache, progress: ctx.progress, reporter, parallel: Number(flags.jobs) || 1, signal: ctx.signal });
    return new Map<string, Status>(results.map((r) => [r.scenario.id, r.status]));
  };
  const baseline = await session('baseline', []);
  const verdicts: ModelVerdict[] = [];
  for (const file of files) {
    const path = join(modelsDir, file);
    const header = parseModelHeader(await readFile(path, 'utf8'), file);
    verdicts.push(judgeModel(header, baseline, await session(file.replace(/\.patch$/, ''), [path])));
  }
  const table = teethTable(verdicts, baseline);
  process.stdout.write(`${table}\n`);
  await writeFile(join(dir, 'teeth.txt'), `${table}\n`);
  await writeFile(join(dir, 'teeth.json'), JSON.stringify({ baseline: Object.fromEntries(baseline), verdicts }, null, 2));
  ctx.progress.info(`teeth results: ${dir}`);
  return verdicts.every((v) => v.caught && v.changed.length === 0) ? 0 : 1;
}

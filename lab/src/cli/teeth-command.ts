// `./labw teeth`: run every regression model and check its header's claim against the baseline.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { judgeModel, parseModelHeader, requireKnownCatches, teethTable, type ModelHeader, type ModelVerdict } from '../scenario/teeth.ts';
import { brokenBaseline } from '../scenario/compare.ts';
import { LabError, UsageError } from '../util/errors.ts';
import { outcomes } from './outcomes.ts';
import { jobsFor } from '../util/parallel.ts';
import { repoRoot } from '../util/paths.ts';
import type { Context, KernelFlags, QemuFlags } from './context.ts';
import { resolveQemu } from './qemu-target.ts';
import { guestMemory, planScenarios, requireScenarios, runSubSession } from './sub-session.ts';
import { labScenariosOnly } from '../scenario/planner.ts';
import { runDir } from './guest-commands.ts';

const modelsDir = join(repoRoot, 'kernel-patches/regressions');

/** Every model with its header, read before anything is built. */
async function readModels(): Promise<{ name: string; path: string; header: ModelHeader }[]> {
  const files = (await readdir(modelsDir)).filter((f) => f.endsWith('.patch')).sort();
  if (files.length === 0) throw new UsageError(`no regression models in ${modelsDir}`);
  return Promise.all(files.map(async (file) => {
    const path = join(modelsDir, file);
    return { name: file.replace(/\.patch$/, ''), path, header: parseModelHeader(await readFile(path, 'utf8'), file) };
  }));
}

export async function teethCommand(ctx: Context, flags: KernelFlags & QemuFlags & { jobs: string; out?: string }): Promise<number> {
  const all = await readModels();
  // A model only the detectors can see is run on the sanitize kernel; without it, it is named as not run.
  const models = all.filter((m) => !m.header.needs || flags.sanitize);
  const notRun = all.filter((m) => !models.includes(m));
  const jobs = labScenariosOnly(await planScenarios({ patterns: [] }));
  // Before the baseline's build: a claim on a scenario that does not exist could only end NOT CAUGHT.
  requireScenarios(jobs, []);
  requireKnownCatches(models.map((m) => m.header), new Set(jobs.map((j) => j.id)));
  const parallel = jobsFor(flags.jobs, guestMemory(jobs));
  const qemu = await resolveQemu(flags.qemu, ctx.cache, (line) => ctx.progress.info(line));
  const dir = runDir(flags, 'teeth');
  const session = (name: string, series: string[]) =>
    runSubSession({ ctx, dir, name, label: `teeth: ${name}`, jobs, kernel: { ...flags, series: [...flags.series, ...series] }, parallel, qemu });
  const baseline = await outcomes(dir, 'baseline', await session('baseline', []));
  // A model "caught" against a baseline that already fails would be a claim nothing checked.
  const broken = brokenBaseline(baseline);
  if (broken.length > 0) {
    throw new LabError(`the baseline is broken: nothing to compare (${broken.map((id) => `${id} ${baseline.get(id)?.status}`).join(', ')})`, { hint: `see ${join(dir, 'baseline')}` });
  }
  const verdicts: ModelVerdict[] = [];
  for (const { name, path, header } of models) verdicts.push(judgeModel(header, baseline, await outcomes(dir, name, await session(name, [path]))));
  const table = [teethTable(verdicts, baseline), ...notRun.map((m) => `not run: ${m.header.file} — ${m.header.subject} (needs the sanitize kernel: ./labw teeth --sanitize)`)].join('\n');
  process.stdout.write(`${table}\n`);
  await writeFile(join(dir, 'teeth.txt'), `${table}\n`);
  await writeFile(join(dir, 'teeth.json'), JSON.stringify({ baseline: Object.fromEntries([...baseline].map(([id, o]) => [id, o.status])), verdicts, notRun: notRun.map((m) => ({ file: m.header.file, needs: m.header.needs })) }, null, 2));
  ctx.progress.info(`teeth results: ${dir}`);
  // A flaky result anywhere leaves the verdict unproven, as a change the model was not meant to make does.
  return verdicts.every((v) => v.caught && v.changed.length === 0 && v.flaky.length === 0) ? 0 : 1;
}

// `./labw teeth`: run every regression model and check its header's claim against the baseline.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { judgeModel, parseModelHeader, teethTable, type ModelVerdict } from '../scenario/teeth.ts';
import { brokenBaseline } from '../scenario/compare.ts';
import { LabError, UsageError } from '../util/errors.ts';
import { outcomes } from './outcomes.ts';
import { jobsFor } from '../util/parallel.ts';
import { repoRoot } from '../util/paths.ts';
import type { Context, KernelFlags, QemuFlags } from './context.ts';
import { resolveQemu } from './qemu-target.ts';
import { guestMemory, planScenarios, runSubSession } from './sub-session.ts';
import { labScenariosOnly } from '../scenario/planner.ts';
import { runDir } from './guest-commands.ts';

const modelsDir = join(repoRoot, 'kernel-patches/regressions');

export async function teethCommand(ctx: Context, flags: KernelFlags & QemuFlags & { jobs: string; out?: string }): Promise<number> {
  const files = (await readdir(modelsDir)).filter((f) => f.endsWith('.patch')).sort();
  if (files.length === 0) throw new UsageError(`no regression models in ${modelsDir}`);
  const jobs = labScenariosOnly(await planScenarios({ patterns: [] }));
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
  for (const file of files) {
    const path = join(modelsDir, file);
    const header = parseModelHeader(await readFile(path, 'utf8'), file);
    const name = file.replace(/\.patch$/, '');
    verdicts.push(judgeModel(header, baseline, await outcomes(dir, name, await session(name, [path]))));
  }
  const table = teethTable(verdicts, baseline);
  process.stdout.write(`${table}\n`);
  await writeFile(join(dir, 'teeth.txt'), `${table}\n`);
  await writeFile(join(dir, 'teeth.json'), JSON.stringify({ baseline: Object.fromEntries([...baseline].map(([id, o]) => [id, o.status])), verdicts }, null, 2));
  ctx.progress.info(`teeth results: ${dir}`);
  return verdicts.every((v) => v.caught && v.changed.length === 0) ? 0 : 1;
}

// `--resume DIR` (run, validate): refuse a directory that was run with other inputs, or whose
// results nothing vouches for, and keep only the results that are verdicts. What the new command
// would build is computed without building (the kernel keys come from the inputs), so a stale
// directory is refused in seconds, not after a ten-minute build.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareKernelRequest, type KernelRequest } from '../kernel/build.ts';
import type { ScenarioResult, Status } from '../report/events.ts';
import { readReport } from '../report/merge.ts';
import { groupByKernel, type Job } from '../scenario/planner.ts';
import { labCommit } from '../scenario/session.ts';
import { UsageError } from '../util/errors.ts';
import { sha256 } from '../util/hash.ts';
import { identityDifferences, recordedIdentity, type RunIdentity } from '../util/identity-check.ts';
import type { QemuTargetName } from '../qemu/target.ts';
import { presentQemuVersion } from './qemu-target.ts';

/** The identity a session of these jobs on this kernel request and QEMU would record. */
export async function presentIdentity(req: KernelRequest, jobs: Job[], cache: string, qemu: QemuTargetName): Promise<RunIdentity> {
  const flavours = [...groupByKernel(jobs).keys()];
  // As scenario/session.ts does: the lab flavour's kernel is the run's identity.
  const primary = flavours.includes('lab') || flavours.length === 0 ? 'lab' : flavours[0]!;
  const kernels: RunIdentity['kernels'] = [];
  let identity: Omit<RunIdentity, 'kernels' | 'labCommit' | 'qemu'> | undefined;
  for (const flavour of [primary, ...flavours.filter((f) => f !== primary)]) {
    const prep = await prepareKernelRequest({ ...req, flavour }, cache);
    kernels.push({ flavour, key: prep.key });
    // The recorded hash is over the patch text today; bytes are accepted too, should that change.
    identity ??= {
      base: prep.base.describe,
      series: prep.patches.map((p) => ({ index: p.index, subject: p.subject, sha256s: [sha256(p.text), sha256(p.bytes)] })),
      fragments: prep.fragments.map((f) => f.name),
    };
  }
  return { labCommit: await labCommit(), kernels, ...identity!, qemu: { target: qemu, version: await presentQemuVersion(qemu, cache) } };
}

// Statuses that are a verdict on the kernel. errored (the lab could not carry it out) and
// interrupted (stopped mid-scenario: no verdict at all) run again.
const VERDICTS: ReadonlySet<Status> = new Set<Status>(['passed', 'failed', 'skipped']);

/** The previous results a resumed run keeps: verdicts of scenarios these jobs still plan. */
export function keptResults(previous: readonly ScenarioResult[], jobs: readonly { id: string }[]): ScenarioResult[] {
  return previous.filter((r) => VERDICTS.has(r.status) && jobs.some((j) => j.id === r.scenario.id));
}

/** How many results dir's report.json holds; 0 when it has none or none that can be read. */
async function heldResults(dir: string): Promise<number> {
  const report = await readReport(dir).catch(() => null);
  return Array.isArray(report?.results) ? report.results.length : 0;
}

/**
 * Throws a UsageError (exit 2) naming every difference if dir was run with other inputs than
 * these. A directory without identity.json never got as far as building: it may be resumed only
 * if it holds no results either, since nothing would say what kernel, series and QEMU kept
 * results came from (a hand-made report.json would be handed back as this run's verdicts).
 */
export async function assertResumable(dir: string, req: KernelRequest, jobs: Job[], cache: string, qemu: QemuTargetName): Promise<void> {
  const identityPath = join(dir, 'identity.json');
  const fresh = 'run without --resume, or into a new --out directory';
  let text: string;
  try {
    text = await readFile(identityPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`--resume ${dir}: cannot read ${identityPath}`, { hint: fresh, cause: error });
    const held = await heldResults(dir);
    if (held === 0) return;
    throw new UsageError(`--resume ${dir}: it holds ${held} result(s) (report.json) but no identity record (identity.json), so nothing says which kernel, series and QEMU they came from; none can be kept`, { hint: fresh });
  }
  let recorded: RunIdentity | string;
  try {
    recorded = recordedIdentity(JSON.parse(text));
  } catch (error) {
    recorded = `identity.json is not JSON (${(error as Error).message})`;
  }
  const hint = 'resume with the inputs of that run, or start a new run directory (leave out --resume)';
  if (typeof recorded === 'string') throw new UsageError(`--resume ${dir}: cannot tell what that run was: ${recorded}`, { hint });
  const differences = identityDifferences(recorded, await presentIdentity(req, jobs, cache, qemu));
  if (differences.length) {
    throw new UsageError(`--resume ${dir}: that run was made with other inputs; its results would not be this run's:\n${differences.map((d) => `  - ${d}`).join('\n')}`, { hint });
  }
}

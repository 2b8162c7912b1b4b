// `--resume DIR` (run, validate): refuse a directory that was run with other inputs. What the
// new command would build is computed without building (the kernel keys come from the inputs),
// so a stale directory is refused in seconds, not after a ten-minute build.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareKernelRequest, type KernelRequest } from '../kernel/build.ts';
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

/**
 * Throws a UsageError (exit 2) naming every difference if dir was run with other inputs than
 * these. A directory without identity.json never got as far as building: nothing to compare.
 */
export async function assertResumable(dir: string, req: KernelRequest, jobs: Job[], cache: string, qemu: QemuTargetName): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(dir, 'identity.json'), 'utf8');
  } catch {
    return;
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

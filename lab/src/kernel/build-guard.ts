// Bounds on a kernel build: one generous deadline for the whole build (LAB_BUILD_TIMEOUT_MIN,
// the same under any accelerator: a build does not run in a guest), and work directories that
// name their owner so the next build sweeps those whose lab process died (SIGKILL leaves no
// chance to clean up).
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TimeoutError, UsageError } from '../util/errors.ts';
import { log } from '../util/log.ts';
import { ownerAlive, ownerTag, parseOwnerTag } from '../util/owner.ts';

export const defaultBuildTimeoutMin = 60;

export function buildTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LAB_BUILD_TIMEOUT_MIN?.trim();
  if (!raw) return defaultBuildTimeoutMin * 60_000;
  const min = Number(raw);
  if (!Number.isFinite(min) || min <= 0) throw new UsageError(`LAB_BUILD_TIMEOUT_MIN=${raw}: expected a positive number of minutes`);
  return Math.round(min * 60_000);
}

/** The error for a build past its deadline: which step was running, and where its log is. */
export function buildTimeout(step: string, ms: number, logPath: string): TimeoutError {
  return new TimeoutError(`kernel build (${step})`, ms, `the build deadline passed; make and its process group were killed; build log: ${logPath}`, {
    hint: `raise LAB_BUILD_TIMEOUT_MIN (now ${+(ms / 60_000).toFixed(2)} min) if the machine is merely slow or loaded`,
  });
}

const ownerFile = '.lab-owner';

/** Marks dir as this lab process's (pid and start time: a pid alone is reused). */
export async function claimWorkDir(dir: string): Promise<void> {
  await writeFile(join(dir, ownerFile), `${ownerTag()}\n`);
}

/** Removes the work directories whose owning lab process is gone; returns their names. */
export async function sweepDeadWorkDirs(workRoot: string): Promise<string[]> {
  const swept: string[] = [];
  let names: string[];
  try {
    names = await readdir(workRoot);
  } catch {
    return swept;
  }
  for (const name of names) {
    const owner = parseOwnerTag((await readFile(join(workRoot, name, ownerFile), 'utf8').catch(() => '')).trim());
    // No owner file: not ours to judge (a build by an older lab, or one being set up).
    if (!owner || ownerAlive(owner)) continue;
    await rm(join(workRoot, name), { recursive: true, force: true });
    log().info({ dir: name, owner }, 'swept the work dir of a dead build');
    swept.push(name);
  }
  return swept;
}

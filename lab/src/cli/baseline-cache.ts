// The baseline of validate, remembered: the same kernel (by its cache key) judged by the same
// lab (a clean commit: scenarios, probe and guest image are all in it) on the same scenarios
// under the same QEMU (--qemu 7.2 and 10 build different machines) gives the same verdicts, so a second validate against that base reuses them instead of
// booting every scenario again. A tree with local changes is never remembered.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Outcome } from '../scenario/compare.ts';
import { keyOf } from '../util/hash.ts';

/** null (never remembered) for a tree with local changes, or a QEMU whose version is unknown. */
export function baselineKey(kernelKey: string, labCommit: string, jobIds: readonly string[], qemuVersion: string | null): string | null {
  if (!/^[0-9a-f]{40}$/.test(labCommit) || !qemuVersion) return null;
  return keyOf({ kernelKey, labCommit, jobs: [...jobIds].sort(), qemu: qemuVersion }).slice(0, 32);
}

const file = (cache: string, key: string) => join(cache, 'baselines', `${key}.json`);

export async function loadBaseline(cache: string, key: string): Promise<Map<string, Outcome> | null> {
  try {
    return new Map(Object.entries(JSON.parse(await readFile(file(cache, key), 'utf8')) as Record<string, Outcome>));
  } catch {
    return null;
  }
}

/** Written whole or not at all (temp file + rename). */
export async function saveBaseline(cache: string, key: string, outcomes: ReadonlyMap<string, Outcome>): Promise<void> {
  await mkdir(join(cache, 'baselines'), { recursive: true });
  const tmp = `${file(cache, key)}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(Object.fromEntries(outcomes)));
  await rename(tmp, file(cache, key));
}

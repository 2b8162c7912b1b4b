// What the previous build of a config counted (kbuild objects, durations), kept next to the
// kernel entries so the next build of that config can show "done of expected" and an ETA. Keyed
// by the config (base, starting target, fragments — not the series: a patch barely changes the
// count), with the last build of the flavour as a rougher fallback.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyOf, sha256 } from '../util/hash.ts';
import type { Expectation } from '../util/build-progress.ts';

export interface BuildCounts {
  /** kbuild object lines (CC, AS, LD, AR, HOSTCC, HOSTLD) over every make of the build. */
  objects: number;
  makeMs: number;
  selftestMs?: number;
  /** The kernel entry that recorded it. */
  key: string;
  recordedAt: string;
}

export interface PreviousBuild {
  counts: BuildCounts;
  objects: Expectation;
}

export function configKey(inputs: { baseIdentity: string; baseConfig: string; fragments: { text: string }[] }): string {
  return keyOf({ base: inputs.baseIdentity, baseConfig: inputs.baseConfig, fragments: inputs.fragments.map((f) => sha256(f.text)) }).slice(0, 16);
}

const countsDir = (cache: string) => join(cache, 'kernels', 'counts');
const files = (cache: string, config: string, flavour: string) => ({
  exact: join(countsDir(cache), `config-${config}.json`),
  flavour: join(countsDir(cache), `flavour-${flavour}.json`),
});

async function readCounts(path: string): Promise<BuildCounts | null> {
  try {
    const c = JSON.parse(await readFile(path, 'utf8')) as BuildCounts;
    return Number.isInteger(c.objects) && c.objects > 0 ? c : null;
  } catch {
    return null;
  }
}

export async function previousBuild(cache: string, config: string, flavour: string): Promise<PreviousBuild | null> {
  const paths = files(cache, config, flavour);
  const exact = await readCounts(paths.exact);
  if (exact) return { counts: exact, objects: { count: exact.objects, estimated: false } };
  const similar = await readCounts(paths.flavour);
  return similar ? { counts: similar, objects: { count: similar.objects, estimated: true } } : null;
}

/** Records a finished build's counts (written whole, then renamed: a reader never sees half). */
export async function recordBuild(cache: string, config: string, flavour: string, counts: BuildCounts): Promise<void> {
  await mkdir(countsDir(cache), { recursive: true });
  const text = `${JSON.stringify(counts, null, 2)}\n`;
  for (const path of Object.values(files(cache, config, flavour))) {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, path);
  }
}

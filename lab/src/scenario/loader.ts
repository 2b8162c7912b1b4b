// Finding and loading scenario files: scenarios/<area>/<name>.scenario.ts, default export.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../util/errors.ts';
import type { Scenario } from './define.ts';

export interface LoadedScenario {
  id: string; // "<area>/<name>"
  area: string;
  file: string; // relative to the repo
  scenario: Scenario;
}

export async function findScenarioFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.scenario.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export async function loadScenarios(dir: string, root: string): Promise<LoadedScenario[]> {
  const out: LoadedScenario[] = [];
  const ids = new Map<string, string>();
  for (const file of await findScenarioFiles(dir)) {
    const mod = (await import(pathToFileURL(file).href)) as { default?: Scenario };
    const s = mod.default;
    const rel = relative(root, file);
    if (!s || s.kind !== 'iommufd-lab-scenario') throw new UsageError(`${rel} does not default-export scenario(…)`);
    const area = basename(dirname(file));
    const id = `${area}/${s.name}`;
    if (ids.has(id)) throw new UsageError(`scenario id ${id} is defined twice: ${ids.get(id)} and ${rel}`);
    ids.set(id, rel);
    out.push({ id, area, file: rel, scenario: s });
  }
  return out;
}

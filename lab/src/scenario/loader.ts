// Finding and loading scenario files: scenarios/<area>/<name>.scenario.ts, default export.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../util/errors.ts';
import { definedHere, type Scenario } from './define.ts';

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

/**
 * Set by lab/bin/lab.js when the CLI runs bundled: makes TypeScript importable (tsx) and points
 * a scenario's lab/src/api.ts at the bundle's copy. Absent under tsx (tests), where it already is.
 */
const loadTypeScript = Symbol.for('iommufd-lab.load-typescript');

export async function loadScenarios(dir: string, root: string): Promise<LoadedScenario[]> {
  await (globalThis as { [loadTypeScript]?: () => Promise<void> })[loadTypeScript]?.();
  const out: LoadedScenario[] = [];
  const ids = new Map<string, string>();
  for (const file of await findScenarioFiles(dir)) {
    const mod = (await import(pathToFileURL(file).href)) as { default?: Scenario };
    const s = mod.default;
    const rel = relative(root, file);
    if (!s || s.kind !== 'iommufd-lab-scenario') throw new UsageError(`${rel} does not default-export scenario(…)`);
    if (!definedHere(s)) throw new UsageError(`${rel} was defined through another copy of lab/src/api.ts than the runner's: its skips and errors would not be recognised`, { hint: 'import scenario() from lab/src/api.ts by a relative path inside this repository' });
    const area = basename(dirname(file));
    const id = `${area}/${s.name}`;
    if (ids.has(id)) throw new UsageError(`scenario id ${id} is defined twice: ${ids.get(id)} and ${rel}`);
    ids.set(id, rel);
    out.push({ id, area, file: rel, scenario: s });
  }
  return out;
}

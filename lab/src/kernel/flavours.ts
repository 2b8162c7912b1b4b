// Kernel flavours: named sets of config fragments on top of the lab fragment. A scenario names
// the flavour it needs; each flavour is its own cached build.
import { join } from 'node:path';
import { UsageError } from '../util/errors.ts';
import { repoRoot } from '../util/paths.ts';

const configDir = join(repoRoot, 'kernel-patches/config');

export const flavours: Record<string, string[]> = {
  lab: [],
  selftest: [join(configDir, 'selftest.config')],
};

export function flavourFragments(name: string): string[] {
  const fragments = flavours[name];
  if (!fragments) throw new UsageError(`unknown kernel flavour "${name}" (known: ${Object.keys(flavours).join(', ')})`);
  return fragments;
}

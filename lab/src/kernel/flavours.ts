// Kernel flavours: named sets of config fragments on top of the lab fragment. A scenario names
// the flavour it needs; each flavour is its own cached build. There is one today: the selftest
// options live in the lab kernel (docs/ARCHITECTURE.md, "One kernel"), and a scenario that needs
// a kernel the lab's must not be adds its fragment here.
import { UsageError } from '../util/errors.ts';

export const flavours: Record<string, string[]> = {
  lab: [],
};

export function flavourFragments(name: string): string[] {
  const fragments = flavours[name];
  if (!fragments) throw new UsageError(`unknown kernel flavour "${name}" (known: ${Object.keys(flavours).join(', ')})`);
  return fragments;
}

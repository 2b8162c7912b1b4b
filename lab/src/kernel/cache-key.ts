// The build cache key: everything that can change the kernel we boot, and nothing else.
import { keyOf, sha256 } from '../util/hash.ts';
import type { Patch } from './mbox.ts';

/** Bump when the build recipe (targets, flags, artifact layout) changes. */
export const buildRecipe = 'kernel-recipe-4: vmlinux bzImage headers_install; O=; ccache; iommufd selftests when IOMMUFD_TEST';

export interface KeyInputs {
  baseIdentity: string;
  patches: Pick<Patch, 'text'>[];
  baseConfig: string; // e.g. "tinyconfig"
  fragments: { name: string; text: string }[];
  compiler: string; // `gcc --version` first line
  recipe?: string;
}

export function buildKey(inputs: KeyInputs): string {
  return keyOf({
    base: inputs.baseIdentity,
    // Only patch bytes matter: renaming an mbox must not rebuild.
    series: inputs.patches.map((p) => sha256(p.text)),
    baseConfig: inputs.baseConfig,
    fragments: inputs.fragments.map((f) => sha256(f.text)),
    compiler: inputs.compiler,
    recipe: inputs.recipe ?? buildRecipe,
  }).slice(0, 32);
}

// The build cache key: everything that can change the kernel we boot, and nothing else.
import { keyOf, sha256 } from '../util/hash.ts';
import type { Patch } from './mbox.ts';

/** Bump when the build recipe (targets, flags, artifact layout) changes. */
export const buildRecipe = 'kernel-recipe-4: vmlinux bzImage headers_install; O=; ccache; iommufd selftests when IOMMUFD_TEST';

export interface KeyInputs {
  baseIdentity: string;
  /**
   * The bytes applied, not their text: a Latin-1 diff read as UTF-8 is another kernel. (Text
   * hashes as its UTF-8 bytes, so a key over text equals the key over the same bytes.)
   */
  patches: (Pick<Patch, 'bytes'> | { text: string })[];
  baseConfig: string; // e.g. "tinyconfig"
  fragments: { name: string; text: string }[];
  compiler: string; // `gcc --version` first line
  recipe?: string;
}

export function buildKey(inputs: KeyInputs): string {
  return keyOf({
    base: inputs.baseIdentity,
    // Only patch bytes matter: renaming an mbox must not rebuild.
    series: inputs.patches.map((p) => sha256('bytes' in p ? p.bytes : p.text)),
    baseConfig: inputs.baseConfig,
    fragments: inputs.fragments.map((f) => sha256(f.text)),
    compiler: inputs.compiler,
    recipe: inputs.recipe ?? buildRecipe,
  }).slice(0, 32);
}

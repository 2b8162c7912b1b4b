// The kernel's own iommufd selftests, built from the same (patched) tree as the kernel, static,
// against its installed uAPI headers, with the lab's compat header force-included.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../util/errors.ts';
import { repoRoot } from '../util/paths.ts';
import { execBuildTool } from './make.ts';

export const selftestNames = ['iommufd', 'iommufd_fail_nth'] as const;
export const compatHeader = join(repoRoot, 'guest-images/selftests/iommufd-compat.h');

export function selftestCompileArgs(srcDir: string, headers: string, name: string, out: string): string[] {
  return ['-static', '-O2', '-Wall', '-Wno-unused-function', '-D_GNU_SOURCE', '-include', compatHeader, '-isystem', headers, '-o', out, join(srcDir, 'tools/testing/selftests/iommu', `${name}.c`), '-lpthread'];
}

export interface SelftestBuildOptions {
  signal?: AbortSignal;
  /** Called as each program starts and finishes compiling, for progress. */
  onProgram?: (name: string, state: 'start' | 'done') => void;
}

export async function buildSelftests(srcDir: string, headers: string, outDir: string, logPath: string, opts: SelftestBuildOptions = {}): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const name of selftestNames) {
    opts.onProgram?.(name, 'start');
    const r = await execBuildTool(['gcc', ...selftestCompileArgs(srcDir, headers, name, join(outDir, name))], { reject: false, stdin: 'ignore', cancelSignal: opts.signal, forceKillAfterDelay: 2000 });
    if (r.isCanceled) throw opts.signal?.reason ?? new Error('selftest build cancelled');
    if (r.exitCode !== 0) {
      throw new BuildError(`the iommufd selftest ${name} does not compile against this tree:\n${r.stderr.split('\n').slice(0, 12).join('\n')}`, logPath, {
        hint: `the compat header ${compatHeader} may need a definition for a newer uAPI name`,
      });
    }
    opts.onProgram?.(name, 'done');
  }
}

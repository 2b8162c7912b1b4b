// Applying a series to a scratch copy of the base with `git apply`, one patch at a time, so a
// failure names the patch and the file. The scratch copy is a hard-linked clone: git writes
// patched files as new files, so the base (and a user's tree) is never modified.
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { PatchError } from '../util/errors.ts';
import { describePatch, type Patch } from './mbox.ts';

/** The file git complained about, from its error lines. */
export function failedFile(gitStderr: string): string | undefined {
  const m =
    /error: patch failed: ([^:\n]+):\d+/.exec(gitStderr) ??
    /error: ([^:\n]+): (?:No such file or directory|does not exist in index|already exists in working directory|patch does not apply)/.exec(gitStderr);
  return m?.[1];
}

export async function applySeries(patches: Patch[], srcDir: string, scratch: string, signal?: AbortSignal): Promise<void> {
  for (const patch of patches) {
    const file = join(scratch, `${String(patch.index).padStart(4, '0')}.patch`);
    await writeFile(file, patch.bytes); // bytes as sent: never re-encoded
    const out = await execa('git', ['apply', '-p1', '--whitespace=nowarn', file], {
      cwd: srcDir,
      reject: false,
      cancelSignal: signal,
      // The scratch tree is not a repository: never let git find one above it.
      env: { GIT_CEILING_DIRECTORIES: dirname(srcDir) },
    });
    if (out.exitCode !== 0) {
      const target = failedFile(out.stderr);
      throw new PatchError(
        `${describePatch(patch)} does not apply${target ? ` to ${target}` : ''}: ${out.stderr.trim().split('\n').slice(0, 4).join(' / ')}`,
        { hint: 'check that the series is meant for this base (--base), and that earlier patches of the series are included' },
      );
    }
  }
}

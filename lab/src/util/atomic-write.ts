// Writes a file (a report, a memo) so that a reader (CI collecting artifacts, a second run) sees
// either the previous file or the complete new one, never a truncated one.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { asDiskFull } from './disk-full.ts';

export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true }).catch((error: unknown) => {
    throw asDiskFull(error, path);
  });
  // Same directory as the target: rename(2) is atomic only within one filesystem.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(content, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    // write(2)'s ENOSPC names no file; the reader needs to know which report was lost.
    throw asDiskFull(error, path);
  }
}

// Secrets on disk (SSH private keys): the file 0600 in a 0700 directory whatever the umask.
// open()'s mode only applies when the file is created, and the umask can narrow it further
// (a 0400 key still works, but a 0700 dir created 0500 cannot be written), so both are
// chmod'ed explicitly after the fact.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function writePrivateFile(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  // Created owner-only before any byte is written; chmod'ed again in case it already existed.
  await writeFile(path, '', { mode: 0o600 });
  await chmod(path, 0o600);
  await writeFile(path, data);
}

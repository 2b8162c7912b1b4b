// What a host tool says about itself (`gcc --version`, `qemu --version`, `ldd dropbear`),
// remembered until a file it depends on changes. Each of those is a process start of 15–100 ms
// in the path of every command, `./labw exec` included, and their answers change only when a
// package replaces the binary or a library: the stat stamps (size, mtime, ctime, inode) of those
// files say so, as they do for the cache's artifacts (store.ts).
import { accessSync, constants, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import { sha256 } from './hash.ts';
import { cacheRoot } from './paths.ts';
import { statStamp } from './store.ts';

interface Entry<T> {
  value: T;
  stamps: Record<string, string>;
}

/** The real path of the executable a command name runs (first on PATH), or null. */
export function resolveCommand(command: string, path = process.env.PATH ?? ''): string | null {
  const candidates = isAbsolute(command) ? [command] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate);
    } catch {
      // not here: the next directory on PATH
    }
  }
  return null;
}

/**
 * The value compute() returned the last time, if every file it named then has the same stamp
 * now; else compute() again and remember it with the files it names. A file that cannot be
 * stat'ed never matches, so a missing tool is asked every time (and fails as it would have);
 * an answer that names no file (a failure, say) is not remembered, nor is one the cache cannot
 * hold (a full disk costs the next command its process start, nothing more).
 */
export async function memoByStamps<T>(name: string, compute: () => Promise<{ value: T; files: string[] }>, cache = cacheRoot()): Promise<T> {
  const path = join(cache, 'memo', `${sha256(name).slice(0, 24)}.json`);
  const known = await readFile(path, 'utf8').then((text) => JSON.parse(text) as Entry<T>, () => null);
  if (known && Object.entries(known.stamps).every(([file, stamp]) => statStamp(file) === stamp)) return known.value;
  const { value, files } = await compute();
  const stamps = Object.fromEntries(files.map((file) => [file, statStamp(file)]));
  // Nothing to check a later answer against (no file, or one that cannot be stat'ed): not remembered.
  if (files.length === 0 || Object.values(stamps).includes(null)) return value;
  await writeFileAtomic(path, JSON.stringify({ value, stamps: stamps as Record<string, string> } satisfies Entry<T>)).catch(() => {});
  return value;
}

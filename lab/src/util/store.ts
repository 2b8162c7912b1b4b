// A content-addressed store of build artifacts. An entry is a directory named by its key
// with a manifest of file hashes. Entries are built under a temporary name and renamed, so
// a reader never sees half an entry; a lock per key makes a second builder wait instead of
// building twice; an entry whose files do not match its manifest is rebuilt.
// Temporary names and locks say which process made them (pid and start time), so what a
// SIGKILLed lab left behind is swept by the next lab that uses the store, and only that.
import { statSync, type BigIntStats } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import lockfile from 'proper-lockfile';
import { asDiskFull } from './disk-full.ts';
import { sha256File } from './hash.ts';
import { log } from './log.ts';
import { ownerAlive, ownerTag, parseOwnerTag, processStartTime } from './owner.ts';

const LOCK_UPDATE_MS = 5_000;
/** A lock its holder stopped refreshing for this long, and whose holder is dead, is swept. */
const LOCK_IDLE_MS = 2 * LOCK_UPDATE_MS;

export interface Manifest {
  key: string;
  createdAt: string;
  files: Record<string, { size: number; sha256: string }>;
  meta: Record<string, unknown>;
}

export interface Entry {
  dir: string;
  hit: boolean;
  manifest: Manifest;
}

export class Store {
  private swept = false;

  constructor(readonly root: string) {}

  entryDir(key: string): string {
    return join(this.root, key);
  }

  /**
   * Returns the entry if present and intact, else null. Intact means every file hashes to its
   * manifest — or, once that was checked, that no file changed since: each file's size, mtime,
   * ctime and inode match what `verified.json` recorded then (git's index does the same). An
   * edit in place, even one that restores the mtime, moves ctime and is hashed again.
   */
  async lookup(key: string): Promise<Manifest | null> {
    const dir = this.entryDir(key);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    } catch {
      return null;
    }
    const files = Object.keys(manifest.files);
    const stamps = files.map((file) => statStamp(join(dir, file)));
    const verified = (await readFile(join(dir, verifiedFile), 'utf8').then((t) => JSON.parse(t) as Record<string, string>, () => null)) ?? {};
    if (files.every((file, i) => stamps[i] !== null && verified[file] === stamps[i])) return manifest;
    for (const [i, file] of files.entries()) {
      const want = manifest.files[file]!;
      const ok = stamps[i] !== null && Number(stamps[i]!.split(':')[0]) === want.size && (await sha256File(join(dir, file)).catch(() => null)) === want.sha256;
      if (!ok) {
        log().warn({ key, file }, 'damaged cache entry');
        return null;
      }
    }
    // Recorded only after every hash matched; a reader that loses a race to write it just hashes again.
    const tmp = join(dir, `.${verifiedFile}.${ownerTag()}`);
    await writeFile(tmp, JSON.stringify(Object.fromEntries(files.map((file, i) => [file, stamps[i]!]))))
      .then(() => rename(tmp, join(dir, verifiedFile)))
      .catch(() => rm(tmp, { force: true }));
    return manifest;
  }

  /**
   * Returns the entry for key, building it with `build` (which fills a fresh directory and
   * returns metadata) if it is missing or damaged.
   */
  async get(key: string, build: (dir: string) => Promise<Record<string, unknown>>): Promise<Entry> {
    if (!this.swept) {
      this.swept = true;
      await this.sweep();
    }
    const hit = await this.lookup(key);
    if (hit) return { dir: this.entryDir(key), hit: true, manifest: hit };
    await mkdir(this.root, { recursive: true });
    const lockPath = join(this.root, `${key}.lock`);
    const release = await lockfile.lock(this.entryDir(key), {
      realpath: false,
      lockfilePath: lockPath,
      stale: 30_000,
      update: LOCK_UPDATE_MS,
      retries: { retries: 100_000, minTimeout: 500, maxTimeout: 2_000, factor: 1.2 },
      onCompromised: (err) => log().error({ err }, 'cache lock compromised'),
    }).catch(async (error: unknown) => {
      throw new Error(`could not lock cache entry ${key}`, { cause: error });
    });
    // Removed before the lock is released: an owner file left behind names a dead holder.
    const ownerFile = `${lockPath}.owner`;
    try {
      await writeFile(ownerFile, ownerTag());
      // Another process may have built it while we waited for the lock.
      const again = await this.lookup(key);
      if (again) return { dir: this.entryDir(key), hit: true, manifest: again };
      const tmp = join(this.root, `.tmp-${key}-${ownerTag()}`);
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      try {
        const meta = await build(tmp);
        const manifest: Manifest = { key, createdAt: new Date().toISOString(), files: await hashTree(tmp), meta };
        await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
        await rm(this.entryDir(key), { recursive: true, force: true });
        await rename(tmp, this.entryDir(key));
        return { dir: this.entryDir(key), hit: false, manifest };
      } catch (error) {
        await rm(tmp, { recursive: true, force: true });
        // A full disk is named by the entry that could not be written, not by a bare "ENOSPC".
        throw asDiskFull(error, tmp);
      }
    } finally {
      await rm(ownerFile, { force: true });
      await release();
    }
  }

  /**
   * Removes what dead processes left: `.tmp-*` entries and locks whose owner is gone. An entry
   * of a live process (a build in another terminal) is never touched. Returns the names removed.
   */
  async sweep(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return [];
    }
    const swept: string[] = [];
    for (const name of names) {
      if (name.startsWith('.tmp-') && tmpOwnerGone(name)) {
        await rm(join(this.root, name), { recursive: true, force: true });
        swept.push(name);
      } else if (name.endsWith('.lock') && (await lockOwnerGone(join(this.root, name)))) {
        await rm(join(this.root, name), { recursive: true, force: true });
        await rm(join(this.root, `${name}.owner`), { force: true });
        swept.push(name);
      }
    }
    if (swept.length) log().info({ root: this.root, swept }, 'swept what dead lab processes left in the store');
    return swept;
  }
}

/** `.tmp-KEY-PID.START` (or an older lab's `.tmp-KEY-PID`) whose process no longer runs. */
function tmpOwnerGone(name: string): boolean {
  const tagged = /-(\d+\.\d+)$/.exec(name);
  const owner = tagged ? parseOwnerTag(tagged[1]!) : undefined;
  if (owner) return !ownerAlive(owner);
  const pid = Number(/-(\d+)$/.exec(name)?.[1]);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processStartTime(pid) === undefined;
}

// The holder refreshes its lock every LOCK_UPDATE_MS; one idle for longer whose owner file
// names a dead process is abandoned. No owner file: a holder between lock and write, or an
// older lab — proper-lockfile's own staleness takes care of it.
async function lockOwnerGone(lockPath: string): Promise<boolean> {
  const tag = await readFile(`${lockPath}.owner`, 'utf8').catch(() => '');
  const owner = parseOwnerTag(tag.trim());
  if (!owner || ownerAlive(owner)) return false;
  const idle = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
  return idle > LOCK_IDLE_MS;
}

/** Not an artifact: the stat stamps of the files as last verified (see Store.lookup). */
const verifiedFile = 'verified.json';

/**
 * size:mtime:ctime:inode in nanoseconds, or null if the file cannot be stat'ed. Synchronous: a
 * kernel entry has ~1000 files, and 1000 promised stats through libuv's pool took ~70 ms of
 * every lookup where the same stats made directly take a few.
 */
export function statStamp(path: string): string | null {
  let s: BigIntStats | undefined;
  try {
    s = statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return null;
  }
  return s?.isFile() ? `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}` : null;
}

async function hashTree(dir: string): Promise<Manifest['files']> {
  const files: Manifest['files'] = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(dir, path)] = { size: (await stat(path)).size, sha256: await sha256File(path) };
  }
  return files;
}

// A content-addressed store of build artifacts. An entry is a directory named by its key
// with a manifest of file hashes. Entries are built under a temporary name and renamed, so
// a reader never sees half an entry; a lock per key makes a second builder wait instead of
// building twice; an entry whose files do not match its manifest is rebuilt.
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import lockfile from 'proper-lockfile';
import { sha256File } from './hash.ts';
import { log } from './log.ts';

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
  constructor(readonly root: string) {}

  entryDir(key: string): string {
    return join(this.root, key);
  }

  /** Returns the entry if present and intact, else null. */
  async lookup(key: string): Promise<Manifest | null> {
    const dir = this.entryDir(key);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    } catch {
      return null;
    }
    for (const [file, want] of Object.entries(manifest.files)) {
      try {
        const s = await stat(join(dir, file));
        if (s.size !== want.size || (await sha256File(join(dir, file))) !== want.sha256) throw new Error('mismatch');
      } catch {
        log().warn({ key, file }, 'damaged cache entry');
        return null;
      }
    }
    return manifest;
  }

  /**
   * Returns the entry for key, building it with `build` (which fills a fresh directory and
   * returns metadata) if it is missing or damaged.
   */
  async get(key: string, build: (dir: string) => Promise<Record<string, unknown>>): Promise<Entry> {
    const hit = await this.lookup(key);
    if (hit) return { dir: this.entryDir(key), hit: true, manifest: hit };
    await mkdir(this.root, { recursive: true });
    const release = await lockfile.lock(this.entryDir(key), {
      realpath: false,
      lockfilePath: join(this.root, `${key}.lock`),
      stale: 30_000,
      update: 5_000,
      retries: { retries: 100_000, minTimeout: 500, maxTimeout: 2_000, factor: 1.2 },
      onCompromised: (err) => log().error({ err }, 'cache lock compromised'),
    }).catch(async (error: unknown) => {
      throw new Error(`could not lock cache entry ${key}`, { cause: error });
    });
    try {
      // Another process may have built it while we waited for the lock.
      const again = await this.lookup(key);
      if (again) return { dir: this.entryDir(key), hit: true, manifest: again };
      const tmp = join(this.root, `.tmp-${key}-${process.pid}`);
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
        throw error;
      }
    } finally {
      await release();
    }
  }
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

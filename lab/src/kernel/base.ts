// The base kernel source: Debian's linux-source tarball by default, or a tarball, an
// unpacked tree, or a git repository (PATH or PATH@REF). Each is turned into a read-only
// tree in the cache (or used in place, for an unpacked tree) plus an identity for cache keys.
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../util/errors.ts';
import { sha256, sha256File } from '../util/hash.ts';

export const defaultBase = '/usr/src/linux-source-6.12.tar.xz';

export type BaseSpec =
  | { kind: 'tarball'; path: string }
  | { kind: 'tree'; path: string }
  | { kind: 'git'; repo: string; ref: string };

export interface ResolvedBase {
  spec: BaseSpec;
  /** Stable identity: tarball checksum, git commit, or a fingerprint of the tree. */
  identity: string;
  /** Human-readable: "linux-source-6.12.tar.xz sha256:ab12…" */
  describe: string;
}

export function parseBaseSpec(spec: string | undefined, cwd = process.cwd()): BaseSpec {
  const raw = spec ?? defaultBase;
  const at = /^(.+)@([^@/]+)$/.exec(raw);
  if (at && existsSync(join(resolve(cwd, at[1]!), '.git'))) return { kind: 'git', repo: resolve(cwd, at[1]!), ref: at[2]! };
  const path = resolve(cwd, raw);
  if (!existsSync(path)) {
    const hint = spec === undefined ? 'install it with `apt-get install linux-source-6.12`, or pass --base' : 'give a kernel tarball, an unpacked tree, or a git repository (PATH or PATH@REF)';
    throw new UsageError(`base ${raw}: no such file or directory`, { hint });
  }
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, '.git'))) return { kind: 'git', repo: path, ref: 'HEAD' };
    if (!existsSync(join(path, 'Makefile')) || !existsSync(join(path, 'Kconfig'))) {
      throw new UsageError(`base ${raw} is a directory but not a kernel tree (no Makefile and Kconfig at its top)`);
    }
    return { kind: 'tree', path };
  }
  if (!/\.tar(\.(xz|gz|bz2|zst))?$|\.tgz$/.test(path)) throw new UsageError(`base ${raw} is a file but not a tarball (.tar, .tar.xz, .tar.gz)`);
  return { kind: 'tarball', path };
}

export async function resolveBase(spec: BaseSpec, cacheDir: string): Promise<ResolvedBase> {
  switch (spec.kind) {
    case 'tarball': {
      const sum = await memoizedFileHash(spec.path, join(cacheDir, 'hashes'));
      return { spec, identity: `tarball:${sum}`, describe: `${spec.path} sha256:${sum.slice(0, 16)}` };
    }
    case 'git': {
      const out = await execa('git', ['-C', spec.repo, 'rev-parse', '--verify', `${spec.ref}^{commit}`], { reject: false });
      if (out.exitCode !== 0) throw new UsageError(`base ${spec.repo}@${spec.ref}: not a commit (${out.stderr.trim()})`);
      return { spec, identity: `git:${out.stdout.trim()}`, describe: `${spec.repo}@${spec.ref} (${out.stdout.trim().slice(0, 12)})` };
    }
    case 'tree': {
      const fp = await treeFingerprint(spec.path);
      return { spec, identity: `tree:${fp}`, describe: `${spec.path} (fingerprint ${fp.slice(0, 12)})` };
    }
  }
}

/** A tarball's checksum, remembered by path, size and mtime so a cache hit stays fast. */
async function memoizedFileHash(path: string, dir: string): Promise<string> {
  const s = await stat(path);
  const memo = join(dir, sha256(path, String(s.size), String(s.mtimeMs)));
  try {
    return (await readFile(memo, 'utf8')).trim();
  } catch {
    const sum = await sha256File(path);
    await mkdir(dir, { recursive: true });
    await writeFile(memo, sum);
    return sum;
  }
}

/** Paths, sizes and mtimes of every file: changes when any file of the tree changes. */
async function treeFingerprint(root: string): Promise<string> {
  const parts: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    parts.push(`${path}\t${s.size}\t${s.mtimeMs}`);
  }
  return sha256(parts.sort().join('\n'));
}

/**
 * A read-only source tree for the base: unpacked once into the cache (tarball, git), or the
 * user's own tree (never written to: builds work on a hard-linked copy).
 */
export async function materializeBase(base: ResolvedBase, cacheDir: string): Promise<string> {
  if (base.spec.kind === 'tree') return base.spec.path;
  const dir = join(cacheDir, 'src', sha256(base.identity).slice(0, 24));
  if (existsSync(join(dir, '.lab-complete'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    if (base.spec.kind === 'tarball') {
      await execa('tar', ['-xf', base.spec.path, '-C', tmp, '--strip-components=1']);
    } else {
      await execa({ shell: false })`git -C ${base.spec.repo} archive --format=tar ${base.identity.slice(4)}`.pipe`tar -x -C ${tmp}`;
    }
    if (!existsSync(join(tmp, 'Makefile'))) throw new UsageError(`base ${base.describe} does not unpack to a kernel tree`);
    await writeFile(join(tmp, '.lab-complete'), base.identity);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return dir;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

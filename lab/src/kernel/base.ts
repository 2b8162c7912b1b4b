// The base kernel source: Debian's linux-source tarball by default, or a tarball, an
// unpacked tree, or a git repository (PATH or PATH@REF). Each is turned into a read-only
// tree in the cache (or used in place, for an unpacked tree) plus an identity for cache keys.
// The unpack is locked per base, like a kernel build, so two cold runs share one unpack.
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import lockfile from 'proper-lockfile';
import { LabError, UsageError } from '../util/errors.ts';
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

/** A work tree's .git (directory or file), or a bare repository. */
const isRepo = (path: string) => existsSync(join(path, '.git')) || (existsSync(join(path, 'HEAD')) && existsSync(join(path, 'objects')));

export function parseBaseSpec(spec: string | undefined, cwd = process.cwd()): BaseSpec {
  const raw = spec ?? defaultBase;
  // The ref may hold slashes (origin/master, refs/tags/v6.12): the repository decides the split.
  const at = /^(.+)@([^@]+)$/.exec(raw);
  if (at && isRepo(resolve(cwd, at[1]!))) return { kind: 'git', repo: resolve(cwd, at[1]!), ref: gitRevision(`base ${raw}`, at[2]!) };
  const path = resolve(cwd, raw);
  if (!existsSync(path)) {
    const hint = spec === undefined ? 'install it with `apt-get install linux-source-6.12`, or pass --base' : 'give a kernel tarball, an unpacked tree, or a git repository (PATH or PATH@REF)';
    throw new UsageError(`base ${raw}: no such file or directory`, { hint });
  }
  if (statSync(path).isDirectory()) {
    if (isRepo(path)) return { kind: 'git', repo: path, ref: 'HEAD' };
    if (!existsSync(join(path, 'Makefile')) || !existsSync(join(path, 'Kconfig'))) {
      throw new UsageError(`base ${raw} is a directory but not a kernel tree (no Makefile and Kconfig at its top)`);
    }
    return { kind: 'tree', path };
  }
  if (!/\.tar(\.(xz|gz|bz2|zst))?$|\.tgz$/.test(path)) throw new UsageError(`base ${raw} is a file but not a tarball (.tar, .tar.xz, .tar.gz)`);
  return { kind: 'tarball', path };
}

/**
 * A ref or range the user gave, before it reaches git: one that starts with "-" would be read
 * as an option (`--output=FILE` makes format-patch write that file), so it is refused, named.
 * The git calls pass --end-of-options before it as well, for a spec made some other way.
 */
export function gitRevision(what: string, revision: string): string {
  if (!revision.startsWith('-')) return revision;
  throw new UsageError(`${what}: the git ref or range "${revision}" starts with "-", which git would read as an option`, {
    hint: 'name a commit, branch or tag: PATH@REF for a base, REPO:A..B for a series',
  });
}

export async function resolveBase(spec: BaseSpec, cacheDir: string): Promise<ResolvedBase> {
  switch (spec.kind) {
    case 'tarball': {
      const sum = await memoizedFileHash(spec.path, join(cacheDir, 'hashes'));
      return { spec, identity: `tarball:${sum}`, describe: `${spec.path} sha256:${sum.slice(0, 16)}` };
    }
    case 'git': {
      const out = await execa('git', ['-C', spec.repo, 'rev-parse', '--verify', '--end-of-options', `${spec.ref}^{commit}`], { reject: false });
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
 * user's own tree (never written to: builds work on a hard-linked copy). An unpack that fails
 * is a LabError naming the base and the directory, never a bare tool error.
 */
export async function materializeBase(base: ResolvedBase, cacheDir: string, signal?: AbortSignal): Promise<string> {
  if (base.spec.kind === 'tree') return base.spec.path;
  const dir = join(cacheDir, 'src', sha256(base.identity).slice(0, 24));
  if (existsSync(join(dir, '.lab-complete'))) return dir;
  await mkdir(dirname(dir), { recursive: true });
  const release = await lockfile
    .lock(dir, {
      realpath: false,
      lockfilePath: `${dir}.lock`,
      stale: 30_000,
      update: 5_000,
      retries: { retries: 100_000, minTimeout: 500, maxTimeout: 2_000, factor: 1.2 },
    })
    .catch((error: unknown) => {
      throw new LabError(`could not lock the base tree ${dir}: ${oneLine(error)}`, { hint: 'check that the cache directory is writable', cause: error });
    });
  try {
    // Another run may have unpacked it while we waited for the lock.
    if (existsSync(join(dir, '.lab-complete'))) return dir;
    await sweepDeadTemps(dir);
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    try {
      if (base.spec.kind === 'tarball') await execa('tar', ['-xf', base.spec.path, '-C', tmp, '--strip-components=1'], { cancelSignal: signal });
      else await gitArchive(base.spec.repo, base.identity.slice('git:'.length), tmp, signal);
      if (!existsSync(join(tmp, 'Makefile'))) throw new UsageError(`base ${base.describe} does not unpack to a kernel tree (no Makefile at its top)`);
      await writeFile(join(tmp, '.lab-complete'), base.identity);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      return dir;
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      if (error instanceof LabError) throw error;
      const why = oneLine(error);
      throw new LabError(`could not unpack the base ${base.describe} into ${dir}: ${why}`, {
        hint: why.startsWith('git archive')
          ? `git could not read that commit: \`git -C '${base.spec.kind === 'git' ? base.spec.repo : ''}' fsck\` names what is damaged or missing`
          : `check the free space of ${cacheDir} (a kernel tree takes about 1.5 GB); the next run unpacks it again`,
        cause: error,
      });
    }
  } finally {
    await release().catch(() => undefined);
  }
}

/**
 * `git archive | tar -x`, streamed: the kernel's archive is ~1.4 GB, far more than execa
 * buffers between piped commands (100 MB), which cut it short ("tar: Unexpected EOF").
 */
async function gitArchive(repo: string, commit: string, into: string, signal?: AbortSignal): Promise<void> {
  const git = execa('git', ['-C', repo, 'archive', '--format=tar', commit], { buffer: { stdout: false }, stdin: 'ignore', reject: false, cancelSignal: signal });
  const tar = execa('tar', ['-x', '-C', into], { stdin: 'pipe', reject: false, cancelSignal: signal });
  // tar may close its input after the end-of-archive blocks, before git's padding: the pipe
  // then reports a premature close although both succeeded. Their exit codes are the verdict.
  const [, g, t] = await Promise.allSettled([pipeline(git.stdout, tar.stdin), git, tar]);
  const gitOut = g.status === 'fulfilled' ? g.value : undefined;
  const tarOut = t.status === 'fulfilled' ? t.value : undefined;
  const said = (r: typeof gitOut | typeof tarOut) => String(r?.stderr ?? '').trim().split('\n').slice(-3).join(' / ') || r?.shortMessage || 'no output';
  // A tar that died first makes git die of a broken pipe: then tar has the reason, else git.
  const brokenPipe = gitOut?.signal === 'SIGPIPE' || /broken pipe/i.test(String(gitOut?.stderr ?? ''));
  if (gitOut?.exitCode !== 0 && !(brokenPipe && tarOut?.exitCode !== 0)) throw new Error(`git archive ${commit} in ${repo} failed: ${said(gitOut)}`);
  if (tarOut?.exitCode !== 0) throw new Error(`unpacking git archive ${commit} of ${repo} failed: ${said(tarOut)}`);
}

/** Half-unpacked trees of runs that died (their pid is gone) are removed. */
async function sweepDeadTemps(dir: string): Promise<void> {
  const prefix = `${basename(dir)}.tmp-`;
  for (const name of await readdir(dirname(dir))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (pid > 0 && pid !== process.pid && alive(pid)) continue;
    await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function oneLine(error: unknown): string {
  const e = error as { shortMessage?: string; stderr?: unknown; message?: string };
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim().split('\n').slice(-2).join(' / ') : '';
  return [e.shortMessage ?? e.message ?? String(error), stderr].filter(Boolean).join(': ');
}

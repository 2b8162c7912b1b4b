import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { materializeBase, parseBaseSpec, resolveBase } from '../../../src/kernel/base.ts';
import { LabError, UsageError } from '../../../src/util/errors.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'base-'));

test('a tarball, a tree, a git repository and PATH@REF are told apart', (t) => {
  const tarball = join(dir(), 'linux.tar.xz');
  writeFileSync(tarball, '');
  t.deepEqual(parseBaseSpec(tarball), { kind: 'tarball', path: tarball });

  const tree = dir();
  writeFileSync(join(tree, 'Makefile'), '');
  writeFileSync(join(tree, 'Kconfig'), '');
  t.deepEqual(parseBaseSpec(tree), { kind: 'tree', path: tree });

  const repo = dir();
  mkdirSync(join(repo, '.git'));
  t.deepEqual(parseBaseSpec(repo), { kind: 'git', repo, ref: 'HEAD' });
  t.deepEqual(parseBaseSpec(`${repo}@v6.12`), { kind: 'git', repo, ref: 'v6.12' });
});

test('bad bases are usage errors that say what a base can be', (t) => {
  t.throws(() => parseBaseSpec('/nonexistent/linux'), { instanceOf: UsageError, message: /no such file or directory/ });
  t.throws(() => parseBaseSpec(dir()), { instanceOf: UsageError, message: /not a kernel tree/ });
  const notTar = join(dir(), 'notes.txt');
  writeFileSync(notTar, '');
  t.throws(() => parseBaseSpec(notTar), { instanceOf: UsageError, message: /not a tarball/ });
});

const git = (repo: string, ...args: string[]) => execa('git', ['-C', repo, '-c', 'user.name=Lab', '-c', 'user.email=lab@example.org', ...args]);

async function kernelLikeRepo(files: Record<string, string> = {}): Promise<string> {
  const repo = join(dir(), 'a repo');
  mkdirSync(repo);
  writeFileSync(join(repo, 'Makefile'), 'all:\n');
  writeFileSync(join(repo, 'Kconfig'), '# lab\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(repo, name), text);
  await git(repo, 'init', '-q');
  return repo;
}

test('a ref with slashes is a ref of the repository (PATH@origin/x)', (t) => {
  const repo = dir();
  mkdirSync(join(repo, '.git'));
  t.deepEqual(parseBaseSpec(`${repo}@origin/linux-6.12.y`), { kind: 'git', repo, ref: 'origin/linux-6.12.y' });
});

test('a base ref that starts with "-" is refused before git sees it, and named', (t) => {
  const repo = dir();
  mkdirSync(join(repo, '.git'));
  for (const ref of ['--output=/tmp/x', '-p']) {
    const error = t.throws(() => parseBaseSpec(`${repo}@${ref}`), { instanceOf: UsageError });
    t.is(error.message, `base ${repo}@${ref}: the git ref or range "${ref}" starts with "-", which git would read as an option`);
  }
});

test('a git base larger than execa buffers (100 MB) is streamed whole', async (t) => {
  t.timeout(90_000);
  const repo = await kernelLikeRepo();
  const size = 120 * 1024 * 1024;
  writeFileSync(join(repo, 'big.bin'), '');
  truncateSync(join(repo, 'big.bin'), size); // zeros: a tiny object, a 120 MB archive
  await git(repo, 'add', '.');
  await git(repo, 'commit', '-q', '-m', 'big');
  const cache = dir();
  const base = await resolveBase(parseBaseSpec(`${repo}@HEAD`), cache);
  const tree = await materializeBase(base, cache);
  t.is(statSync(join(tree, 'big.bin')).size, size);
  t.true(existsSync(join(tree, 'Kconfig')));
});

test('two unpacks of one base at once share it: both succeed, nothing half left', async (t) => {
  const top = dir();
  mkdirSync(join(top, 'linux'));
  for (let i = 0; i < 200; i++) writeFileSync(join(top, 'linux', `f${i}.c`), `int f${i};\n`.repeat(500));
  writeFileSync(join(top, 'linux', 'Makefile'), 'all:\n');
  const tarball = join(dir(), 'linux.tar.gz');
  await execa('tar', ['-czf', tarball, '-C', top, 'linux']);
  const cache = dir();
  const base = await resolveBase(parseBaseSpec(tarball), cache);
  const trees = await Promise.all([1, 2, 3].map(() => materializeBase(base, cache)));
  t.is(new Set(trees).size, 1);
  t.true(existsSync(join(trees[0]!, 'f199.c')));
  t.deepEqual(readdirSync(join(cache, 'src')).filter((n) => n.includes('.tmp-')), []);
});

test('a git base that cannot be unpacked is a LabError naming git and the base', async (t) => {
  const repo = await kernelLikeRepo();
  await git(repo, 'add', '.');
  await git(repo, 'commit', '-q', '-m', 'x');
  const blob = (await git(repo, 'rev-parse', 'HEAD:Kconfig')).stdout.trim();
  rmSync(join(repo, '.git/objects', blob.slice(0, 2), blob.slice(2))); // a lost object
  const cache = dir();
  const base = await resolveBase(parseBaseSpec(repo), cache);
  const error = await t.throwsAsync(materializeBase(base, cache), { instanceOf: LabError });
  t.regex(error.message, /^could not unpack the base .*a repo@HEAD .* git archive [0-9a-f]{40} in .*a repo failed: .*(cannot read|fatal)/);
  t.deepEqual(readdirSync(join(cache, 'src')).filter((n) => n.includes('.tmp-')), []);
});

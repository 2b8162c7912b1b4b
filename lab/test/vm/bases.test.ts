// Real bases against a real kernel repository: a `git init` of the Debian 6.12 tree (its
// .gitignore ignores the top level, hence `git add -f`), made once with fixed dates so its
// commits — and so the lab's cache keys — are the same every time. Each base kind builds a
// kernel and boots it; a Latin-1 patch goes in byte for byte. The paths hold spaces on purpose.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { defaultBase } from '../../src/kernel/base.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { debianRelease, fixtures, releasePattern } from './harness.ts';

const labw = join(repoRoot, 'labw');
const root = join(tmpdir(), 'iommufd-lab bases test');
const repo = join(root, 'linux repo');
const tree = join(root, 'linux tree');
const when = '2026-01-01T00:00:00Z';
const gitEnv = { GIT_AUTHOR_NAME: 'Lab', GIT_AUTHOR_EMAIL: 'lab@example.org', GIT_COMMITTER_NAME: 'Lab', GIT_COMMITTER_EMAIL: 'lab@example.org', GIT_AUTHOR_DATE: when, GIT_COMMITTER_DATE: when, GIT_CONFIG_NOSYSTEM: '1' };
const git = (...args: string[]) => execa('git', ['-C', repo, ...args], { env: gitEnv });

test.before(async () => {
  const marker = join(root, '.complete');
  if (existsSync(marker)) return;
  await rm(root, { recursive: true, force: true });
  await mkdir(repo, { recursive: true });
  await execa('tar', ['-xf', defaultBase, '-C', repo, '--strip-components=1']);
  await git('init', '-q', '-b', 'main');
  await git('add', '-f', '.');
  await git('commit', '-q', '-m', 'Debian linux-source-6.12');
  await git('tag', 'base');
  // One commit on a branch, for the REPO:A..B series.
  await git('checkout', '-q', '-b', 'tip');
  const makefile = join(repo, 'Makefile');
  await writeFile(makefile, (await readFile(makefile, 'utf8')).replace(/^EXTRAVERSION =.*$/m, 'EXTRAVERSION = -bases-range'));
  await git('commit', '-q', '-am', 'Makefile: EXTRAVERSION for the lab range test');
  await git('checkout', '-q', 'main');
  // An unpacked tree (no .git): hard links, so it costs no space.
  await execa('cp', ['-al', repo, tree]);
  await rm(join(tree, '.git'), { recursive: true, force: true });
  await writeFile(marker, '');
});

const exec = (args: string[], command: string) =>
  execa(labw, ['exec', ...args, '--', 'sh', '-c', command], { reject: false, env: { LAB_NO_BOOTSTRAP: '1' }, all: true, timeout: 25 * 60_000 });

/** No JavaScript stack frame ever reaches the user. */
const noStack = (text: string) => !/^\s+at .+[(:]\d+/m.test(text);

test.serial('two cold runs at once on one git base (REPO@REF), different series, both boot; the Latin-1 patch goes in byte for byte', async (t) => {
  t.timeout(40 * 60_000);
  const base = ['--base', `${repo}@base`];
  const [plain, latin1] = await Promise.all([
    exec([...base, '--series', join(fixtures, 'series/extraversion.mbox')], 'cat /proc/version'),
    exec([...base, '--series', join(fixtures, 'series/latin1.mbox')], 'dmesg | grep lab-latin1 | grep -o "caf.)" | od -An -tx1'),
  ]);
  t.is(plain.exitCode, 0, plain.all);
  t.regex(plain.stdout, new RegExp(`^Linux version ${releasePattern(await debianRelease())}-labseries `, 'm'));
  t.is(latin1.exitCode, 0, latin1.all);
  // "caf" then 0xE9 (short enough for one line of od) — read as text it would be EF BF BD (U+FFFD).
  t.regex(latin1.stdout, /^\s*63 61 66 e9 29 0a\s*$/);
  t.notRegex(latin1.stdout, /ef bf bd/);
});

/** Each base kind: build (a cache hit when warm), boot, and the release the guest reports. */
const boots: [title: string, args: () => string[], localversion: string][] = [
  ['--base REPO (its HEAD) builds and boots', () => ['--base', repo], ''],
  ['a REPO:A..B series on REPO@A builds and boots the commit it names', () => ['--base', `${repo}@base`, '--series', `${repo}:base..tip`], '-bases-range'],
  ['an unpacked tree builds and boots in place', () => ['--base', tree], ''],
];
for (const [title, args, localversion] of boots) {
  test.serial(title, async (t) => {
    t.timeout(30 * 60_000);
    const r = await exec(args(), 'cat /proc/version');
    t.is(r.exitCode, 0, r.all);
    t.regex(r.stdout, new RegExp(`^Linux version ${releasePattern(await debianRelease())}${localversion} `, 'm'));
  });
}

test.serial('a git base that cannot be unpacked is one paragraph naming git, not a stack trace', async (t) => {
  // A real fault: a repository that lost an object (as after a bad disk or an interrupted fetch).
  const broken = join(root, 'broken repo');
  await rm(broken, { recursive: true, force: true });
  await mkdir(broken, { recursive: true });
  const g = (...args: string[]) => execa('git', ['-C', broken, ...args], { env: gitEnv });
  await g('init', '-q');
  await writeFile(join(broken, 'Makefile'), 'all:\n');
  await writeFile(join(broken, 'Kconfig'), '# lost\n');
  await g('add', '.');
  await g('commit', '-q', '-m', 'x');
  const blob = (await g('rev-parse', 'HEAD:Kconfig')).stdout.trim();
  await rm(join(broken, '.git/objects', blob.slice(0, 2), blob.slice(2)));
  const r = await execa(labw, ['kernel', 'build', '--base', broken], { reject: false, env: { LAB_NO_BOOTSTRAP: '1' }, all: true, timeout: 120_000 });
  t.is(r.exitCode, 2, r.all);
  t.regex(r.all, /could not unpack the base .*broken repo.*git archive .* failed: .*(cannot read|fatal)/);
  t.regex(r.all, /hint: git could not read that commit: .*fsck/);
  t.true(noStack(r.all), r.all);
});

import { existsSync, mkdtempSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { execa } from 'execa';
import { applySeries } from '../../../src/kernel/apply.ts';
import { parseMessages } from '../../../src/kernel/mbox.ts';
import { planMbox } from '../../../src/kernel/order.ts';
import { loadSeries, orderPatchFiles, parseSeriesSpec } from '../../../src/kernel/series.ts';
import { amThread, b4Failure, unfoldHeaders } from '../../../src/kernel/thread.ts';
import { LabError, UsageError } from '../../../src/util/errors.ts';

test('a series file orders a folder, comments and options ignored', (t) => {
  t.deepEqual(orderPatchFiles(['b.patch', 'a.patch', 'series'], '# quilt\nb.patch -p1\n\na.patch\n'), ['b.patch', 'a.patch']);
});

test('without a series file, patch files sort by name', (t) => {
  t.deepEqual(orderPatchFiles(['0002-b.patch', 'notes.txt', '0001-a.patch'], undefined), ['0001-a.patch', '0002-b.patch']);
});

test('a folder of patches loads in order with subjects', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'series-'));
  writeFileSync(join(dir, '0002-second.patch'), 'Subject: [PATCH 2/2] second\n\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n');
  writeFileSync(join(dir, '0001-first.patch'), 'diff --git a/y b/y\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n');
  const patches = await loadSeries(parseSeriesSpec(dir));
  t.deepEqual(patches.map((p) => [p.index, p.subject]), [[1, '0001-first.patch'], [2, 'second']]);
});

test('an mbox without patches is a usage error naming the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'series-'));
  const file = join(dir, 'cover.mbox');
  writeFileSync(file, 'From x Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/1] cover\n\nnothing\n');
  const error = await t.throwsAsync(loadSeries(parseSeriesSpec(file)), { instanceOf: UsageError });
  t.regex(error.message, /cover\.mbox contains no patches/);
});

test('a missing series path is a usage error', (t) => {
  t.throws(() => parseSeriesSpec('/nonexistent/series.mbox'), { instanceOf: UsageError, message: /no such file/ });
});

test('REPO:A..B is a git range when REPO exists', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'repo-'));
  mkdirSync(join(dir, '.git'));
  t.deepEqual(parseSeriesSpec(`${dir}:v1..v2`), { kind: 'git-range', repo: dir, range: 'v1..v2' });
});

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/series/${name}`, import.meta.url));

test('a Latin-1 patch applies byte for byte, and so does its quoted-printable mail', async (t) => {
  for (const name of ['latin1-context.mbox', 'quoted-printable.mbox']) {
    const tree = mkdtempSync(join(tmpdir(), 'tree-'));
    writeFileSync(join(tree, 'notes.txt'), Buffer.from('caf\xe9\nna\xefve\n', 'latin1'));
    await applySeries(await loadSeries(parseSeriesSpec(fixture(name))), tree, mkdtempSync(join(tmpdir(), 'scratch-')));
    t.true(readFileSync(join(tree, 'notes.txt')).equals(Buffer.from('caf\xe9\nna\xefve M\xfcller\n', 'latin1')), name);
  }
});

test('a git range keeps the bytes of a Latin-1 commit', async (t) => {
  const repo = mkdtempSync(join(tmpdir(), 'repo with space-'));
  const git = (...args: string[]) => execa('git', ['-C', repo, '-c', 'user.name=Lab', '-c', 'user.email=lab@example.org', ...args]);
  writeFileSync(join(repo, 'notes.txt'), 'cafe\n');
  await git('init', '-q');
  await git('add', '.');
  await git('commit', '-q', '-m', 'one');
  writeFileSync(join(repo, 'notes.txt'), Buffer.from('caf\xe9\n', 'latin1'));
  await git('commit', '-q', '-am', 'two');
  const [patch] = await loadSeries(parseSeriesSpec(`${repo}:HEAD~1..HEAD`));
  t.true(patch!.bytes.includes(Buffer.from('+caf\xe9\n', 'latin1')));
});

/** A scratch repository with commits one, two, three, each changing notes.txt. */
async function threeCommits(): Promise<string> {
  const repo = mkdtempSync(join(tmpdir(), 'repo-'));
  const git = (...args: string[]) => execa('git', ['-C', repo, '-c', 'user.name=Lab', '-c', 'user.email=lab@example.org', ...args]);
  await git('init', '-q');
  for (const subject of ['one', 'two', 'three']) {
    writeFileSync(join(repo, 'notes.txt'), `${subject}\n`);
    await git('add', '.');
    await git('commit', '-q', '-m', subject);
  }
  return repo;
}

test('a git range that starts with "-" is refused before git sees it, and named', async (t) => {
  const repo = await threeCommits();
  const written = join(mkdtempSync(join(tmpdir(), 'out-')), 'x');
  for (const range of [`--output=${written}..HEAD`, '-p..HEAD']) {
    const error = t.throws(() => parseSeriesSpec(`${repo}:${range}`), { instanceOf: UsageError });
    t.is(error.message, `series ${repo}:${range}: the git ref or range "${range}" starts with "-", which git would read as an option`);
  }
  t.false(existsSync(written));
});

test('a range made past the parser reaches git as a revision, never as an option', async (t) => {
  const repo = await threeCommits();
  const written = join(mkdtempSync(join(tmpdir(), 'out-')), 'x');
  // Read as an option, format-patch creates the file before it finds --stdout conflicting.
  await t.throwsAsync(loadSeries({ kind: 'git-range', repo, range: `--output=${written}` }), { instanceOf: UsageError });
  t.false(existsSync(written));
});

test('an ordinary git range still resolves to its commits in order', async (t) => {
  const repo = await threeCommits();
  const patches = await loadSeries(parseSeriesSpec(`${repo}:HEAD~2..HEAD`));
  t.deepEqual(patches.map((p) => [p.index, p.subject]), [[1, 'two'], [2, 'three']]);
});

test.serial('patches out of [n/m] order are applied in n order, without b4', async (t) => {
  const patches = await withoutB4(() => loadSeries(parseSeriesSpec(fixture('out-of-order.mbox'))));
  t.deepEqual(patches.map((p) => [p.index, p.number, p.subject]), [[1, 1, 'first'], [2, 2, 'second']]);
});

test('two revisions in one file are an error naming both', async (t) => {
  const error = await t.throwsAsync(loadSeries(parseSeriesSpec(fixture('two-revisions.mbox'))), { instanceOf: UsageError });
  t.regex(error.message, /holds 2 revisions of the series: v1 \(1\/2, 2\/2\) and v2 \(1\/2, 2\/2\)/);
});

test('a series with a patch missing or twice is an error, not a partial kernel', (t) => {
  const m = (s: string, d = 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n') => `From x Mon Sep 17 00:00:00 2001\nSubject: ${s}\n\n${d}`;
  t.throws(() => planMbox(parseMessages(m('[PATCH 1/3] a') + m('[PATCH 3/3] c')), 's'), { message: /lacks patch 2\/3/ });
  t.throws(() => planMbox(parseMessages(m('[PATCH 1/2] a') + m('[PATCH 1/2] b') + m('[PATCH 2/2] c')), 's'), { message: /patch 1\/2 twice/ });
});

test('a thread goes to b4: replies skipped, trailers added, [n/m] order', async (t) => {
  const patches = await loadSeries(parseSeriesSpec(fixture('thread.mbox')));
  t.deepEqual(patches.map((p) => [p.number, p.subject]), [[1, 'one'], [2, 'two'], [3, 'three']]);
  t.regex(patches[1]!.text, /^Reviewed-by: Rev Iewer <rev@example\.org>$/m);
  t.false(patches.some((p) => p.text.includes('+bee')), 'the reviewer\'s diff is not a patch of the series');
});

test('a thread with folded headers is unfolded before b4 sees it', async (t) => {
  // As sent, this file makes b4 0.12 die in Python's email policy (see the next test).
  const patches = await loadSeries(parseSeriesSpec(fixture('thread-folded.mbox')));
  t.is(patches[1]!.subject, 'two, with a subject long enough that the mailer folded it');
  t.is(patches.length, 3);
});

test('b4 failing is a LabError naming b4 and what it said, not its traceback', async (t) => {
  const raw = await execa('b4', ['am', '-C', '-m', fixture('thread-folded.mbox'), '-o', mkdtempSync(join(tmpdir(), 'b4-')), 'cover@example.org'], { reject: false });
  t.not(raw.exitCode, 0); // b4 itself, handed the folded headers
  t.is(b4Failure(raw.stderr), 'ValueError: Header values may not contain linefeed or carriage return characters');
  const error = await t.throwsAsync(amThread(readFileSync(fixture('thread.mbox')), 'thread.mbox', 'a reply', '<nosuch@example.org>'), { instanceOf: LabError });
  t.regex(error.message, /^b4 am could not make a series of the thread thread\.mbox \(exit 1\): CRITICAL: Could not find nosuch@example\.org/);
  t.notRegex(error.message, /Traceback|File "/);
});

test.serial('a thread without b4 installed says so', async (t) => {
  const error = await t.throwsAsync(withoutB4(() => loadSeries(parseSeriesSpec(fixture('thread.mbox')))), { instanceOf: LabError });
  t.regex(error.message, /is a thread \(message #5 "Re: \[PATCH 2\/3\] two" is a reply\).*b4, which is not installed/);
});

/** Runs fn with a PATH on which there is no b4 (git stays reachable); only from test.serial. */
async function withoutB4<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  const bin = mkdtempSync(join(tmpdir(), 'path-'));
  symlinkSync('/usr/bin/git', join(bin, 'git'));
  process.env.PATH = bin;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

test('unfolding touches header blocks only, never a body', (t) => {
  const mbox = 'From a@b Mon Nov 23 10:00:00 2026\nSubject: [PATCH] a\n long subject\n\nFrom the body: not a separator\n context line\n';
  t.is(unfoldHeaders(Buffer.from(mbox)).toString(), 'From a@b Mon Nov 23 10:00:00 2026\nSubject: [PATCH] a long subject\n\nFrom the body: not a separator\n context line\n');
});

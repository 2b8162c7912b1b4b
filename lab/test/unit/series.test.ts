import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadSeries, orderPatchFiles, parseSeriesSpec } from '../../src/kernel/series.ts';
import { UsageError } from '../../src/util/errors.ts';

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

// lab validate as a series author would use it: the first patch that breaks the build is named
// with its compiler error; a series that breaks a contract shows up as a regression.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { repoRoot } from '../../src/util/paths.ts';
import { fixtures } from './harness.ts';

const labw = join(repoRoot, 'labw');
const env = { LAB_NO_BOOTSTRAP: '1', CI: '1' };

test.serial('--each names patch 2/3 of a series whose second patch does not build, with its error', async (t) => {
  const r = await execa(labw, ['validate', '--each', '--series', join(fixtures, 'series/second-patch-breaks-build.mbox'), 'parked-fd'], { reject: false, env });
  t.is(r.exitCode, 1, r.stderr.slice(-1500));
  t.regex(r.stdout, /^build patch 1\/3 "localversion: mark kernels built from the validate test series" .*: ok/m);
  t.regex(r.stdout, /^build patch 2\/3 "vfio: check for a parked FD through a helper that was never added" .*: BROKEN — the first patch that does not build$/m);
  t.regex(r.stdout, /vfio_main\.c:\d+:\d+: error: implicit declaration of function ‘vfio_df_is_parked’/);
  t.notRegex(r.stdout, /^build patch 3\/3/m);
});

test.serial('the RFC-style model is reported as a regression of the parked-FD scenarios', async (t) => {
  const model = join(repoRoot, 'kernel-patches/regressions/0001-rfc-ioctls-reach-parked-fd.patch');
  const r = await execa(labw, ['validate', '--series', model, 'cdev/'], { reject: false, env });
  t.is(r.exitCode, 1, r.stderr.slice(-1500));
  t.regex(r.stdout, /^cdev\/parked-fd-blocks-every-op\s+passed\s+failed\s+REGRESSION$/m);
  t.regex(r.stdout, /^cdev\/group-and-cdev-exclude-each-other\s+passed\s+passed\s+still-passing$/m);
  t.regex(r.stdout, /^\d+ regression\(s\)(?: — .*)?: .*cdev\/parked-fd-blocks-every-op/m);
});

test.serial('--each-runtime names the patch of a series that first breaks each scenario', async (t) => {
  const model = join(repoRoot, 'kernel-patches/regressions/0001-rfc-ioctls-reach-parked-fd.patch');
  const r = await execa(labw, ['validate', '--each-runtime', '--series', join(fixtures, 'series/extraversion.mbox'), '--series', model, 'parked-fd'], { reject: false, env });
  t.is(r.exitCode, 1, r.stderr.slice(-1500));
  // Only what the bisection needs is built: no pass over every prefix.
  t.notRegex(r.stdout, /^build patch /m);
  t.regex(r.stdout, /^cdev\/parked-fd-blocks-every-op: first broken by patch 3\/3 "REGRESSION MODEL: vfio: let ioctls through on a parked device FD"/m);
  t.regex(r.stdout, /^\(bisected: [12] of 2 prefixes run\)$/m);
});

test.serial('--each-runtime steps around a prefix that does not build and still names the breaking patch', async (t) => {
  // 1-2 harmless, 3 calls a helper only 4 adds (prefix 3 does not build), 5 the RFC model.
  const model = join(repoRoot, 'kernel-patches/regressions/0001-rfc-ioctls-reach-parked-fd.patch');
  const series = ['series/extraversion.mbox', 'series/build-break-then-fix.mbox'].flatMap((f) => ['--series', join(fixtures, f)]);
  const r = await execa(labw, ['validate', '--each-runtime', ...series, '--series', model, 'parked-fd'], { reject: false, env });
  t.is(r.exitCode, 1, r.stderr.slice(-1500));
  t.regex(r.stdout, /^prefix 3 \(patch 3\/5 "vfio: note the device cdev interface at init, through a helper the next patch adds".*\) does not build: skipped by the bisection$/m);
  t.regex(r.stdout, /error: implicit declaration of function ‘vfio_note_cdev_interface’/);
  t.regex(r.stdout, /^ {2}log: \S+\/build-\w+\.log$/m);
  t.regex(r.stdout, /^cdev\/parked-fd-blocks-every-op: first broken by patch 5\/5 "REGRESSION MODEL: vfio: let ioctls through on a parked device FD"/m);
  const verdict = JSON.parse(readFileSync(join(/validate results: (\S+)/.exec(r.stderr)?.[1] ?? '', 'validate.json'), 'utf8')) as { grid: { patch: number; build?: string }[] };
  t.deepEqual(verdict.grid.map((g) => `${g.patch}:${g.build ?? 'ran'}`), ['2:ran', '3:failed', '4:ran', '5:ran']);
});

test.serial('--resume keeps the finished sessions and scenarios of an interrupted validate', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'lab-validate-')), 'v');
  const model = join(repoRoot, 'kernel-patches/regressions/0001-rfc-ioctls-reach-parked-fd.patch');
  const args = ['validate', '--series', model, 'parked-fd', 'grant-is-per-fd'];
  await execa(labw, [...args, '--out', dir], { reject: false, env });
  // Stand-in for an interruption: the tip session had finished only one of its two scenarios.
  const tipReport = join(dir, 'tip', 'report.json');
  const report = JSON.parse(readFileSync(tipReport, 'utf8')) as { results: { scenario: { id: string } }[] };
  report.results = report.results.filter((r) => r.scenario.id !== 'cdev/parked-fd-blocks-every-op');
  writeFileSync(tipReport, JSON.stringify(report));
  const resumed = await execa(labw, [...args, '--resume', dir], { reject: false, env });
  // The baseline is not run again: it finished (kept) or an earlier validate of the same kernel
  // by this lab commit remembered it (reused); the tip runs only the scenario it had not finished.
  t.regex(resumed.stderr, /validate: baseline: (?:0 scenarios \(2 kept from the interrupted run\)|2 scenarios, results reused)/);
  t.regex(resumed.stderr, /validate: tip: 1 scenarios \(1 kept from the interrupted run\)/);
  t.notRegex(resumed.stderr, /RUN run baseline:/);
  t.regex(resumed.stderr, /START cdev\/parked-fd-blocks-every-op/);
  t.notRegex(resumed.stderr, /START cdev\/grant-is-per-fd-and-bind-is-single/);
  t.regex(resumed.stdout, /^cdev\/parked-fd-blocks-every-op\s+passed\s+failed\s+REGRESSION$/m);
  t.is(resumed.exitCode, 1);
});

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { Outcome } from '../../../src/scenario/compare.ts';
import { loadScenarios } from '../../../src/scenario/loader.ts';
import { labScenariosOnly, plan } from '../../../src/scenario/planner.ts';
import { judgeModel, parseModelHeader, requireKnownCatches, teethTable } from '../../../src/scenario/teeth.ts';
import { UsageError } from '../../../src/util/errors.ts';
import { repoRoot } from '../../../src/util/paths.ts';

test('reads the trailers of the repository’s RFC model', (t) => {
  const file = 'kernel-patches/regressions/0001-rfc-ioctls-reach-parked-fd.patch';
  const header = parseModelHeader(readFileSync(`${repoRoot}/${file}`, 'utf8'), file);
  t.is(header.subject, 'REGRESSION MODEL: vfio: let ioctls through on a parked device FD');
  t.deepEqual(header.catches[0], { id: 'cdev/parked-fd-blocks-every-op', expectation: 'VFIO_DEVICE_GET_INFO' });
  t.deepEqual(header.catches[1], { id: 'cdev/grant-is-per-fd-and-bind-is-single' });
  t.truthy(header.reference);
});

const runs = (o: Record<string, Outcome['status'] | Outcome>) => new Map(Object.entries(o).map(([id, v]) => [id, typeof v === 'string' ? { status: v } : v]));

test('a model is caught only if every named scenario passed on the baseline and failed under it; other changes are reported', (t) => {
  const baseline = runs({ 'a/x': 'passed', 'a/y': 'passed', 'a/z': 'passed' });
  const model = { file: 'm.patch', subject: 'm', catches: [{ id: 'a/x' }] };
  const caught = judgeModel(model, baseline, runs({ 'a/x': 'failed', 'a/y': 'passed', 'a/z': 'errored' }));
  t.true(caught.caught);
  t.deepEqual(caught.changed, [{ id: 'a/z', baseline: 'passed', now: 'errored' }]);
  const missed = judgeModel(model, baseline, runs({ 'a/x': 'passed', 'a/y': 'passed', 'a/z': 'passed' }));
  t.false(missed.caught);
  t.deepEqual(missed.missed.map((m) => m.id), ['a/x']);
  // Errored is not caught: the model broke the lab's view, not the contract the scenario checks.
  t.false(judgeModel(model, baseline, runs({ 'a/x': 'errored' })).caught);
  // A scenario that already failed on the baseline proves nothing by failing again.
  const brokenBase = judgeModel(model, runs({ 'a/x': 'failed' }), runs({ 'a/x': 'failed' }));
  t.false(brokenBase.caught);
  t.regex(brokenBase.missed[0]!.why, /did not pass on the baseline/);
  const unknown = judgeModel({ ...model, catches: [{ id: 'a/nope' }] }, baseline, baseline);
  t.false(unknown.caught);
  t.regex(teethTable([caught, missed], baseline), /detection rate: 1\/2 models caught/);
});

test('a claim that names an expectation holds only when that expectation is among the failures', (t) => {
  const baseline = runs({ 'a/x': 'passed' });
  const model = { file: 'm.patch', subject: 'm', catches: [{ id: 'a/x', expectation: 'VFIO_DEVICE_GET_INFO' }] };
  t.true(judgeModel(model, baseline, runs({ 'a/x': { status: 'failed', failures: ['nvme VFIO_DEVICE_GET_INFO: expected EINVAL, got ok (ret 0)'] } })).caught);
  const other = judgeModel(model, baseline, runs({ 'a/x': { status: 'failed', failures: ['nvme read-bar0: expected EINVAL, got ENODEV'] } }));
  t.false(other.caught);
  t.is(other.missed[0]!.why, 'it failed, but not on "VFIO_DEVICE_GET_INFO"');
});

test('a failure only a reused guest showed is flaky: not caught, not changed, and said so', (t) => {
  const baseline = runs({ 'a/x': 'passed', 'a/y': 'passed' });
  const model = { file: 'm.patch', subject: 'm', catches: [{ id: 'a/x', expectation: 'GET_INFO' }] };
  const reusedOnly = (why: string): Outcome => ({ status: 'failed', reusedOnly: true, failures: [`fails in a reused guest, passes fresh: ${why}`] });
  const v = judgeModel(model, baseline, runs({ 'a/x': reusedOnly('GET_INFO: expected EINVAL, got ok'), 'a/y': reusedOnly('the guest is clean') }));
  t.false(v.caught);
  t.deepEqual(v.flaky, ['a/x', 'a/y']);
  t.deepEqual(v.missed, []);
  t.deepEqual(v.changed, []);
  t.deepEqual(v.cells, { 'a/x': 'flaky', 'a/y': 'flaky' });
  const table = teethTable([v], baseline);
  t.regex(table, /^a\/x +passed +FLAKY/m);
  t.regex(table, /^M1 m\.patch: NOT CAUGHT — m$/m);
  t.regex(table, /^ {3}a\/x: flaky: fails in a reused guest, passes fresh \(not counted as caught\)$/m);
  t.regex(table, /^ {3}a\/y: flaky: fails in a reused guest, passes fresh$/m);
  t.regex(table, /detection rate: 0\/1 models caught \(2 flaky result\(s\): fail in a reused guest, pass fresh\)/);
  // The same failure, reproduced in a fresh guest, is a catch.
  t.true(judgeModel(model, baseline, runs({ 'a/x': { status: 'failed', failures: ['GET_INFO: expected EINVAL, got ok'] }, 'a/y': 'passed' })).caught);
});

test('a model naming a scenario that does not exist, or none, is refused before anything runs', (t) => {
  const ids = new Set(['a/x', 'a/y@pt']);
  t.notThrows(() => requireKnownCatches([{ file: 'ok.patch', subject: 's', catches: [{ id: 'a/x' }, { id: 'a/y@pt', expectation: 'e' }] }], ids));
  const error = t.throws(() => requireKnownCatches([
    { file: 'typo.patch', subject: 's', catches: [{ id: 'a/x' }, { id: 'a/z' }] },
    { file: 'variant.patch', subject: 's', catches: [{ id: 'a/y@caching-mode' }] },
    { file: 'silent.patch', subject: 's', catches: [] },
  ], ids), { instanceOf: UsageError });
  t.is(error.message, 'regression models with claims nothing can check: typo.patch names a/z, which is no scenario; variant.patch names a/y@caching-mode, which is no scenario; silent.patch names no scenario (no Lab-Catches: line)');
});

test('every regression model in the repository names only scenarios teeth runs', async (t) => {
  const dir = join(repoRoot, 'kernel-patches/regressions');
  const models = readdirSync(dir).filter((f) => f.endsWith('.patch')).map((f) => parseModelHeader(readFileSync(join(dir, f), 'utf8'), f));
  const jobs = labScenariosOnly(plan(await loadScenarios(join(repoRoot, 'scenarios'), repoRoot), { patterns: [] }));
  t.true(models.length > 0);
  t.notThrows(() => requireKnownCatches(models, new Set(jobs.map((j) => j.id))));
});

test('Lab-Needs: sanitize marks a model only the detectors see; any other need is refused', (t) => {
  const model = (trailer: string) => `Subject: [PATCH] REGRESSION MODEL: x\n\nLab-Catches: a/x: KASAN\n${trailer}\n---\n diff\n`;
  t.is(parseModelHeader(model('Lab-Needs: sanitize'), 'm.patch').needs, 'sanitize');
  t.false('needs' in parseModelHeader(model(''), 'm.patch'));
  t.throws(() => parseModelHeader(model('Lab-Needs: kasan'), 'm.patch'), { instanceOf: UsageError, message: /m\.patch: Lab-Needs: kasan is not known/ });
});


test('trailers: the subject without its [PATCH] tag, claims with and without an expectation, nothing read below the ---', (t) => {
  const text = [
    'From 1 Mon Sep 17 00:00:00 2001',
    'Subject: [PATCH 1/1] iommufd: drop a check',
    '',
    'Lab-Catches: cdev/a',
    'Lab-Catches: dma/b@pt: IOMMU_IOAS_MAP of a read-only area',
    'Lab-Reference: https://lore.kernel.org/x',
    '---',
    'Lab-Catches: cdev/not-a-trailer',
    'Lab-Needs: something',
  ].join('\n');
  t.deepEqual(parseModelHeader(text, 'm.patch'), {
    file: 'm.patch',
    subject: 'iommufd: drop a check',
    catches: [{ id: 'cdev/a' }, { id: 'dma/b@pt', expectation: 'IOMMU_IOAS_MAP of a read-only area' }],
    reference: 'https://lore.kernel.org/x',
  });
  t.is(parseModelHeader('no subject here\n', 'n.patch').subject, 'n.patch');
  t.is(parseModelHeader('Subject: plain\n', 'p.patch').subject, 'plain');
});

test('why a claim does not hold: baseline not passing, errored with its first line, not run, passed', (t) => {
  const model = { file: 'm.patch', subject: 's', catches: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }] };
  const v = judgeModel(
    model,
    runs({ a: { status: 'failed' }, b: { status: 'passed' }, c: { status: 'passed' }, d: { status: 'passed' } }),
    runs({ a: { status: 'failed' }, b: { status: 'errored', error: { phase: 'boot', message: 'the guest kernel panicked\nserial …' } }, d: { status: 'passed' } }),
  );
  t.false(v.caught);
  t.deepEqual(v.missed, [
    { id: 'a', why: 'it did not pass on the baseline (failed): a failure under the model proves nothing' },
    { id: 'b', why: 'it errored under the model (the guest kernel panicked)' },
    { id: 'c', why: 'it did not run under the model' },
    { id: 'd', why: 'it passed under the model' },
  ]);
  t.deepEqual(v.cells, { a: 'missed', b: 'missed', c: 'missed', d: 'missed' });
  t.deepEqual(v.changed, []);
  const noError = judgeModel({ ...model, catches: [{ id: 'b' }] }, runs({ b: { status: 'passed' } }), runs({ b: { status: 'errored' } }));
  t.deepEqual(noError.missed, [{ id: 'b', why: 'it errored under the model (no verdict)' }]);
});

test('a model that claims nothing is never caught; a scenario gone under the model is a change to "absent"', (t) => {
  const v = judgeModel({ file: 'm', subject: 's', catches: [] }, runs({ a: { status: 'passed' } }), runs({ b: { status: 'passed' } }));
  t.false(v.caught);
  t.deepEqual(v.changed, [{ id: 'a', baseline: 'passed', now: 'absent' }, { id: 'b', baseline: 'absent', now: 'passed' }]);
  t.deepEqual(v.cells, { a: 'changed', b: 'changed' });
});

test('the teeth table: a column per model, a row per baseline scenario, then each model\'s story and the rate', (t) => {
  const baseline = runs({ 'cdev/a': { status: 'passed' }, 'dma/b': { status: 'passed' }, 'dma/c': { status: 'passed' } });
  const caught = judgeModel({ file: 'm1.patch', subject: 'breaks a', catches: [{ id: 'cdev/a' }] }, baseline, runs({ 'cdev/a': { status: 'failed' }, 'dma/b': { status: 'failed' }, 'dma/c': { status: 'passed' } }));
  const missed = judgeModel(
    { file: 'm2.patch', subject: 'breaks c', catches: [{ id: 'dma/c' }, { id: 'gone/x' }] },
    baseline,
    runs({ 'cdev/a': { status: 'passed' }, 'dma/b': { status: 'failed', reusedOnly: true }, 'dma/c': { status: 'passed' } }),
  );
  t.is(
    teethTable([caught, missed], baseline),
    [
      'scenario  baseline  M1       M2      ',
      'cdev/a    passed    CAUGHT   ·       ',
      'dma/b     passed    CHANGED  FLAKY   ',
      'dma/c     passed    ·        MISSED  ',
      '',
      'M1 m1.patch: caught — breaks a',
      '   also changed: dma/b passed → failed',
      'M2 m2.patch: NOT CAUGHT — breaks c',
      '   names scenarios that do not exist: gone/x',
      '   not caught by dma/c: it passed under the model',
      '   dma/b: flaky: fails in a reused guest, passes fresh',
      '',
      'detection rate: 1/2 models caught (1 flaky result(s): fail in a reused guest, pass fresh)',
    ].join('\n'),
  );
  t.regex(teethTable([caught], baseline), /\ndetection rate: 1\/1 models caught$/);
});

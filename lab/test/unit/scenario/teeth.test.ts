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

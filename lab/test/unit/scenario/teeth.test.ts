import { readFileSync } from 'node:fs';
import test from 'ava';
import type { Outcome } from '../../../src/scenario/compare.ts';
import { judgeModel, parseModelHeader, teethTable } from '../../../src/scenario/teeth.ts';
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

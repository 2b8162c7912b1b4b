import { readFileSync } from 'node:fs';
import test from 'ava';
import { judgeModel, parseModelHeader, teethTable } from '../../src/scenario/teeth.ts';
import { repoRoot } from '../../src/util/paths.ts';

test('reads the trailers of the repository’s RFC model', (t) => {
  const file = 'kernel-patches/regressions/0001-rfc-ioctls-reach-parked-fd.patch';
  const header = parseModelHeader(readFileSync(`${repoRoot}/${file}`, 'utf8'), file);
  t.is(header.subject, 'REGRESSION MODEL: vfio: let ioctls through on a parked device FD');
  t.true(header.catches.includes('cdev/parked-fd-blocks-every-op'));
  t.truthy(header.reference);
});

test('a model is caught only if every named scenario fails; other changes are reported', (t) => {
  const baseline = new Map([['a/x', 'passed' as const], ['a/y', 'passed' as const], ['a/z', 'passed' as const]]);
  const model = { file: 'm.patch', subject: 'm', catches: ['a/x'] };
  const caught = judgeModel(model, baseline, new Map([['a/x', 'failed' as const], ['a/y', 'passed' as const], ['a/z', 'errored' as const]]));
  t.true(caught.caught);
  t.deepEqual(caught.changed, [{ id: 'a/z', baseline: 'passed', now: 'errored' }]);
  const missed = judgeModel(model, baseline, new Map([['a/x', 'passed' as const], ['a/y', 'passed' as const], ['a/z', 'passed' as const]]));
  t.false(missed.caught);
  t.deepEqual(missed.missed, ['a/x']);
  const unknown = judgeModel({ ...model, catches: ['a/nope'] }, baseline, baseline);
  t.false(unknown.caught);
  t.regex(teethTable([caught, missed], baseline), /detection rate: 1\/2 models caught/);
});

import test from 'ava';
import { classify, compareRuns, firstBreakingPatch, newWarnings, warnings } from '../../src/scenario/compare.ts';
import type { Status } from '../../src/report/events.ts';

const m = (o: Record<string, Status>) => new Map(Object.entries(o));

test('classifies each scenario between baseline and tip', (t) => {
  t.is(classify('passed', 'passed'), 'still-passing');
  t.is(classify('passed', 'failed'), 'regression');
  t.is(classify('failed', 'passed'), 'fix');
  t.is(classify('failed', 'failed'), 'still-failing');
  t.is(classify('passed', 'errored'), 'errored');
  t.is(classify(undefined, 'failed'), 'regression');
  t.is(classify('passed', 'skipped'), 'skipped');
});

test('lists the regressions of a comparison', (t) => {
  const c = compareRuns(m({ a: 'passed', b: 'passed', c: 'failed' }), m({ a: 'passed', b: 'failed', c: 'passed' }));
  t.deepEqual(c.regressions, ['b']);
  t.deepEqual(c.rows.map((r) => r.change), ['still-passing', 'regression', 'fix']);
});

test('names the first patch at which each scenario regressed', (t) => {
  const base = m({ a: 'passed', b: 'passed' });
  const first = firstBreakingPatch(base, [m({ a: 'passed', b: 'passed' }), m({ a: 'failed', b: 'passed' }), m({ a: 'failed', b: 'failed' })]);
  t.deepEqual([...first], [['a', 2], ['b', 3]]);
});

test('finds the warnings a patch added', (t) => {
  const before = warnings('../src/drivers/vfio/vfio_main.c:10:5: warning: unused variable ‘x’ [-Wunused-variable]\n');
  const after = warnings(['../src/drivers/vfio/vfio_main.c:12:5: warning: unused variable ‘x’ [-Wunused-variable]', '../src/drivers/vfio/device_cdev.c:3:1: warning: no previous prototype [-Wmissing-prototypes]'].join('\n'));
  t.deepEqual(newWarnings(before, after), ['drivers/vfio/device_cdev.c: no previous prototype [-Wmissing-prototypes]']);
});

import test from 'ava';
import { bisectFirstBreaking, brokenBaseline, classify, compareRuns, newWarnings, verdictLine, warnings, type Outcome } from '../../../src/scenario/compare.ts';
import type { Status } from '../../../src/report/events.ts';

const m = (o: Record<string, Status>) => new Map(Object.entries(o));

test('classifies each scenario between baseline and tip', (t) => {
  t.is(classify('passed', 'passed'), 'still-passing');
  t.is(classify('passed', 'failed'), 'regression');
  t.is(classify('failed', 'passed'), 'fix');
  t.is(classify('failed', 'failed'), 'still-failing');
  // A tip that does not boot, or kills the probe, errors its scenarios: that is a regression.
  t.is(classify('passed', 'errored'), 'regression');
  t.is(classify('passed', 'skipped'), 'regression');
  t.is(classify('passed', undefined), 'regression');
  t.is(classify(undefined, 'failed'), 'regression');
  t.is(classify('skipped', 'skipped'), 'skipped');
  t.is(classify('passed', 'interrupted'), 'interrupted');
});

test('a baseline that does not pass is named, not compared', (t) => {
  t.deepEqual(brokenBaseline(m({ a: 'passed', b: 'errored', c: 'skipped', d: 'failed' })), ['b', 'd']);
});

test('regressions that share a cause lead with it; "no regressions" only when all baseline passes still pass', (t) => {
  const oops = { kind: 'oops', title: 'BUG: kernel NULL pointer dereference in vfio_df_ioctl_bind_iommufd' };
  const killed = (id: string): [string, Outcome] => [id, { status: 'failed', findings: [oops], error: { phase: 'scenario', message: 'probe killed by SIGKILL' } }];
  const base = m({ a: 'passed', b: 'passed', c: 'passed' });
  const bind = compareRuns(base, new Map<string, Outcome>([killed('a'), killed('b'), ['c', { status: 'passed' }]]));
  t.is(verdictLine(bind), `2 regression(s) — all 2 regressions share one cause: ${oops.title}: a, b`);
  t.deepEqual(bind.findings, [{ title: oops.title, scenarios: ['a', 'b'], onBaseline: false }]);
  const panic = { kind: 'panic', title: 'Kernel panic: Attempted to kill init!' };
  const noBoot = compareRuns(base, new Map<string, Outcome>(['a', 'b', 'c'].map((id) => [id, { status: 'failed', findings: [{ kind: 'oops', title: 'BUG: kernel NULL pointer dereference in vfio_init' }, panic], error: { phase: 'boot', message: 'the guest kernel panicked' } }])));
  t.is(noBoot.cause, 'tip kernel does not boot: BUG: kernel NULL pointer dereference in vfio_init');
  t.is(verdictLine(compareRuns(base, base)), 'no regressions');
  t.is(verdictLine(compareRuns(base, m({ a: 'passed', b: 'passed', c: 'errored' }))), '1 regression(s) — errored: c');
});

test('bisection names the first breaking patch in O(log n) probes per regression', async (t) => {
  const breaksAt: Record<string, number> = { a: 7, b: 20, c: 1 };
  const asked = new Set<string>();
  const first = await bisectFirstBreaking(['a', 'b', 'c'], 20, async (k, id) => {
    asked.add(`${id}@${k}`);
    return k >= breaksAt[id]!;
  });
  t.deepEqual([...first], [['a', { from: 7, to: 7 }], ['b', { from: 20, to: 20 }], ['c', { from: 1, to: 1 }]]);
  t.true(asked.size <= 3 * Math.ceil(Math.log2(20)));
});

test('bisection steps around prefixes that do not build, and asks each of them once', async (t) => {
  const unbuildable = new Set([5, 6, 10]);
  const asked: number[] = [];
  const first = await bisectFirstBreaking(['a', 'b'], 20, async (k, id) => {
    asked.push(k);
    if (unbuildable.has(k)) return 'untestable';
    return k >= ({ a: 8, b: 3 } as Record<string, number>)[id]!;
  });
  // Prefix 8 builds, so a's first breaking patch is exact though its neighbours 5, 6 and 10 do not.
  t.deepEqual(first.get('a'), { from: 8, to: 8 });
  t.deepEqual(first.get('b'), { from: 3, to: 3 });
  for (const k of unbuildable) t.true(asked.filter((a) => a === k).length <= 1, `prefix ${k} asked ${asked.filter((a) => a === k).length} times`);
});

test('when the prefixes around the break do not build, bisection names the range, not a guess', async (t) => {
  // Patch 5 breaks the scenario; prefixes 4 and 5 do not build, so 4, 5 and 6 are all candidates.
  const first = await bisectFirstBreaking(['a'], 8, async (k) => ([4, 5].includes(k) ? 'untestable' : k >= 5));
  t.deepEqual(first.get('a'), { from: 4, to: 6 });
});

test('lists the regressions of a comparison', (t) => {
  const c = compareRuns(m({ a: 'passed', b: 'passed', c: 'failed' }), m({ a: 'passed', b: 'failed', c: 'passed' }));
  t.deepEqual(c.regressions, ['b']);
  t.deepEqual(c.rows.map((r) => r.change), ['still-passing', 'regression', 'fix']);
});

test('finds the warnings a patch added', (t) => {
  const before = warnings('../src/drivers/vfio/vfio_main.c:10:5: warning: unused variable ‘x’ [-Wunused-variable]\n');
  const after = warnings(['../src/drivers/vfio/vfio_main.c:12:5: warning: unused variable ‘x’ [-Wunused-variable]', '../src/drivers/vfio/device_cdev.c:3:1: warning: no previous prototype [-Wmissing-prototypes]'].join('\n'));
  t.deepEqual(newWarnings(before, after), ['drivers/vfio/device_cdev.c: no previous prototype [-Wmissing-prototypes]']);
});

import test from 'ava';
import { bisectFirstBreaking, brokenBaseline, causeOf, classify, compareRuns, comparisonTable, findingsDiff, firstBreakingPatch, newWarnings, sharedCause, verdictLine, warnings, type Outcome } from '../../../src/scenario/compare.ts';
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

test('every pair of statuses has one change, and an interruption on either side is never a verdict', (t) => {
  const statuses: (Status | undefined)[] = ['passed', 'failed', 'errored', 'skipped', 'interrupted', undefined];
  const table = statuses.map((b) => statuses.map((a) => classify(b, a)).join(' '));
  t.deepEqual(table, [
    'still-passing regression regression regression interrupted regression',
    'fix still-failing still-failing still-failing interrupted still-failing',
    'fix still-failing still-failing still-failing interrupted still-failing',
    'still-passing regression regression skipped interrupted skipped',
    'interrupted interrupted interrupted interrupted interrupted interrupted',
    'still-passing regression regression skipped interrupted skipped',
  ]);
});

test('a baseline with an interrupted scenario is broken too, and the list is sorted', (t) => {
  t.deepEqual(brokenBaseline(new Map<string, Outcome | Status>([['z', 'interrupted'], ['b', { status: 'failed' }], ['a', 'passed']])), ['b', 'z']);
});

test('rows cover both sides, sorted; a scenario only one side has reads "-" on the other', (t) => {
  const c = compareRuns(m({ b: 'passed', z: 'passed' }), new Map<string, Outcome | Status>([['a', { status: 'passed' }], ['b', 'passed']]));
  t.deepEqual(c.rows, [
    { id: 'a', baseline: undefined, tip: 'passed', change: 'still-passing' },
    { id: 'b', baseline: 'passed', tip: 'passed', change: 'still-passing' },
    { id: 'z', baseline: 'passed', tip: undefined, change: 'regression' },
  ]);
  t.is(c.cause, 'skipped', 'a scenario the tip never ran regressed as skipped');
  t.is(
    comparisonTable(c),
    ['scenario  baseline     tip          change', 'a         -            passed       still-passing', 'b         passed       passed       still-passing', 'z         passed       -            REGRESSION'].join('\n'),
  );
});

test('the table is as wide as the longest id and lists the tip\'s kernel reports, new ones first', (t) => {
  const warn = { kind: 'warn', title: 'WARNING in iommufd_hwpt_alloc' };
  const oops = { kind: 'oops', title: 'BUG: unable to handle page fault in vfio_df_open' };
  const c = compareRuns(
    new Map<string, Outcome>([['cdev/a-long-scenario-id', { status: 'passed', findings: [warn] }], ['b', { status: 'passed' }]]),
    new Map<string, Outcome>([['cdev/a-long-scenario-id', { status: 'passed', findings: [warn] }], ['b', { status: 'failed', findings: [oops, warn] }]]),
  );
  t.deepEqual(c.findings, [
    { title: oops.title, scenarios: ['b'], onBaseline: false },
    { title: warn.title, scenarios: ['b', 'cdev/a-long-scenario-id'], onBaseline: true },
  ]);
  t.is(
    comparisonTable(c),
    [
      'scenario                 baseline     tip          change',
      'b                        passed       failed       REGRESSION',
      'cdev/a-long-scenario-id  passed       passed       still-passing',
      '',
      'kernel reports on the tip:',
      `  NEW: ${oops.title} (1 scenario: b)`,
      `  also on the baseline: ${warn.title} (2 scenarios: b, cdev/a-long-scenario-id)`,
    ].join('\n'),
  );
  t.false(comparisonTable(compareRuns(m({ a: 'passed' }), m({ a: 'passed' }))).includes('kernel reports'));
});

test('a scenario that reports the same crash twice is listed once under it', (t) => {
  const f = { kind: 'warn', title: 'WARNING in x' };
  t.deepEqual(findingsDiff([], [['a', { status: 'failed', findings: [f, f] }]]), [{ title: 'WARNING in x', scenarios: ['a'], onBaseline: false }]);
  t.deepEqual(findingsDiff([['a', { status: 'passed' }]], [['b', { status: 'passed' }]]), []);
});

test('the cause of one failure: boot first, then the first report (and the panic it led to), the error, the failure, the status', (t) => {
  const oops = { kind: 'oops', title: 'BUG: kernel NULL pointer dereference in vfio_df_open' };
  const panic = { kind: 'panic', title: 'Kernel panic: Fatal exception' };
  t.is(causeOf({ status: 'failed', findings: [oops, panic] }), `${oops.title}, then ${panic.title}`);
  t.is(causeOf({ status: 'failed', findings: [panic, oops] }), panic.title);
  t.is(causeOf({ status: 'failed', findings: [oops] }), oops.title);
  t.is(causeOf({ status: 'errored', error: { phase: 'boot', message: '  no login prompt in 60 s  \nserial tail …' } }), 'tip kernel does not boot: no login prompt in 60 s');
  t.is(causeOf({ status: 'errored', error: { phase: 'scenario', message: ' probe killed by SIGKILL \nmore' }, failures: ['x'] }), 'probe killed by SIGKILL');
  t.is(causeOf({ status: 'failed', failures: ['GET_INFO on a parked FD returned 0', 'second'] }), 'GET_INFO on a parked FD returned 0');
  t.is(causeOf({ status: 'failed' }), 'failed');
});

test('a shared cause needs every regression to share it; one regression is its own cause', (t) => {
  t.is(sharedCause([]), undefined);
  t.is(sharedCause([{ status: 'failed', failures: ['a'] }, { status: 'failed', failures: ['b'] }]), undefined);
  t.is(sharedCause([{ status: 'failed', failures: ['a'] }]), 'a');
  t.is(sharedCause([{ status: 'failed', failures: ['a'] }, { status: 'failed', failures: ['a'] }]), 'all 2 regressions share one cause: a');
  const noBoot: Outcome = { status: 'errored', error: { phase: 'boot', message: 'panic' } };
  t.is(sharedCause([noBoot, noBoot, noBoot]), 'tip kernel does not boot: panic');
});

test('the first breaking prefix of each scenario is the first that regresses it, counted from 1', (t) => {
  const base = m({ a: 'passed', b: 'passed', c: 'failed' });
  const first = firstBreakingPatch(base, [m({ a: 'passed', b: 'passed', c: 'failed' }), m({ a: 'failed', b: 'passed', c: 'failed' }), m({ a: 'passed', b: 'errored', c: 'failed' }), m({ a: 'failed', b: 'failed', c: 'failed' })]);
  t.deepEqual([...first].sort(), [['a', 2], ['b', 3]]);
});

test('bisection of a single-patch series asks nothing; a break at every position is found exactly', async (t) => {
  t.deepEqual(await bisectFirstBreaking(['a'], 1, async () => t.fail('asked') as never), new Map([['a', { from: 1, to: 1 }]]));
  for (const n of [2, 3, 7, 16]) {
    for (let at = 1; at <= n; at++) {
      const asked: number[] = [];
      const first = await bisectFirstBreaking(['a'], n, async (k) => (asked.push(k), k >= at));
      t.deepEqual(first.get('a'), { from: at, to: at }, `n=${n} at=${at}`);
      t.true(asked.every((k) => k >= 1 && k < n), `n=${n} asked ${asked.join(',')} (prefix n is known broken, 0 known good)`);
      t.true(asked.length <= Math.ceil(Math.log2(n)), `n=${n} at=${at}: ${asked.length} probes`);
    }
  }
});

test('bisection around unbuildable prefixes asks the nearest buildable one to the middle, above it first', async (t) => {
  const asked: number[] = [];
  // 1..9, broken from 9: the middle of 1..8 is 4; 4 does not build, so 5 is asked, then 3.
  await bisectFirstBreaking(['a'], 9, async (k) => (asked.push(k), k === 4 ? 'untestable' : k >= 9));
  t.deepEqual(asked.slice(0, 2), [4, 5]);
  const all: number[] = [];
  const first = await bisectFirstBreaking(['a'], 6, async (k) => (all.push(k), k < 6 ? 'untestable' : true));
  t.deepEqual(first.get('a'), { from: 1, to: 6 });
  t.deepEqual(all.sort(), [1, 2, 3, 4, 5], 'every prefix below the tip asked once, none twice, none outside 1..n-1');
});

test('warnings are normalised: line numbers, the source prefix and surrounding space do not matter; non-warnings are dropped', (t) => {
  const log = [
    '  ../src/drivers/iommu/iommufd/main.c:10:5: warning: unused variable ‘y’ [-Wunused-variable]  ',
    '/work/cache/src/drivers/iommu/iommufd/main.c:99:1: warning: unused variable ‘y’ [-Wunused-variable]',
    'drivers/vfio/group.c:1:2: warning: a',
    'drivers/vfio/group.c:1:2: error: b',
    'include/x.h:3:4: warning: c',
    'drivers/vfio/group.o: warning: objtool: d',
    'drivers/vfio/group.c:12: warning: no column',
  ].join('\n');
  t.deepEqual(warnings(log), ['drivers/iommu/iommufd/main.c: unused variable ‘y’ [-Wunused-variable]', 'drivers/vfio/group.c: a', 'include/x.h: c']);
  t.deepEqual(newWarnings(['x: a', 'y: b'], ['y: b', 'z: c', 'x: a']), ['z: c']);
});

test('the verdict line: interrupted anywhere gives no verdict, even beside regressions', (t) => {
  t.is(verdictLine(compareRuns(m({ a: 'passed', b: 'passed' }), m({ a: 'failed', b: 'interrupted' }))), 'interrupted: no verdict');
  t.is(verdictLine(compareRuns(m({ a: 'passed', b: 'passed' }), m({ a: 'failed', b: 'failed' }))), '2 regression(s) — all 2 regressions share one cause: failed: a, b');
  t.is(verdictLine(compareRuns(m({ a: 'passed', b: 'passed' }), new Map<string, Outcome>([['a', { status: 'failed', failures: ['x'] }], ['b', { status: 'failed', failures: ['y'] }]]))), '2 regression(s): a, b');
});

import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TapReporter } from '../../../src/report/tap.ts';
import { feed, interruptedEvents, outsideEvents } from './report-fixture.ts';

async function tap(t: ExecutionContext): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-report-tap-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'report.tap');
  await feed(new TapReporter(path));
  const text = await readFile(path, 'utf8');
  t.true(text.endsWith('\n'));
  return text.trimEnd().split('\n');
}

/** The YAML block lines under test point n, without the "  ---"/"  ..." fences. */
function block(lines: string[], point: string): string[] {
  const at = lines.indexOf(point);
  if (at < 0 || lines[at + 1] !== '  ---') return [];
  const end = lines.indexOf('  ...', at);
  return lines.slice(at + 2, end);
}

test('version, plan and one test point per scenario with skip directive', async (t) => {
  const lines = await tap(t);
  t.is(lines[0], 'TAP version 14');
  t.is(lines[1], '1..5');
  const points = lines.filter((l) => /^(not )?ok \d+ - /.test(l));
  t.deepEqual(points, [
    'ok 1 - cdev/parked-fd',
    'not ok 2 - cdev/double-bind',
    'not ok 3 - iommufd/ioas-map',
    'ok 4 - iommufd/nested-s2 # SKIP needs "nested" \\#VT-d & KVM',
    // Skipped on its only machine: a point of its own that does not pass.
    'not ok 5 - not judged: iommufd/nested-s2',
  ]);
  t.true(block(lines, 'not ok 5 - not judged: iommufd/nested-s2').some((l) => /- "iommufd\/nested-s2: needs/.test(l)));
  // Only the not-ok points have a diagnostics block.
  t.deepEqual(block(lines, 'ok 1 - cdev/parked-fd'), []);
  t.is(lines.filter((l) => l === '  ---').length, 3);
});

test('diagnostics carry status, failures, observations, error and duration, indented', async (t) => {
  const lines = await tap(t);
  const failed = block(lines, 'not ok 2 - cdev/double-bind');
  t.true(failed.every((l) => l.startsWith('  ')));
  t.true(failed.includes('  status: failed'));
  t.true(failed.includes('  duration_ms: 1500'));
  t.true(failed.includes('    - "second BIND returned 0, expected <EBUSY> & nothing else"'));
  t.true(failed.includes('    - op: "VFIO_DEVICE_BIND_IOMMUFD#2"'));

  const errored = block(lines, 'not ok 3 - iommufd/ioas-map');
  t.true(errored.includes('  status: errored'));
  t.true(errored.includes('  duration_ms: 90500'));
  t.true(errored.includes('    phase: boot'));
  t.true(errored.includes('    message: guest did not reach sshd within 90.0 s'));
  // The serial tail is a literal block, cleaned of CR, escape sequences and the bell.
  const tail = errored.indexOf('    serial_tail: |-');
  t.deepEqual(errored.slice(tail + 1), ['      [    1.000] pci 0000:00:03.0: <&> "quoted" bell', '      [    1.200] Kernel panic - not syncing ]]>']);
  t.false(errored.join('\n').includes('\x07'));
});

test('an interrupted run keeps the planned count: the interrupted scenario and each one never started are not ok', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-report-tap-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'report.tap');
  await feed(new TapReporter(path), interruptedEvents());
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  t.is(lines[1], '1..6');
  t.deepEqual(lines.filter((l) => /^(not )?ok \d+ - /.test(l)), [
    'ok 1 - cdev/parked-fd',
    'not ok 2 - cdev/double-bind',
    'not ok 3 - cdev/parked',
    'not ok 4 - not run',
    'not ok 5 - not run',
    'not ok 6 - not run',
  ]);
  t.true(block(lines, 'not ok 3 - cdev/parked').includes('  status: interrupted'));
  t.true(block(lines, 'not ok 4 - not run').includes('  status: not-run'));
  t.is(lines.at(-1), '# 1 passed, 1 failed, 0 errored, 0 skipped, 1 interrupted, 3 not run');
});

test('a finding outside every scenario is a test point of its own, counted in the plan', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-report-tap-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await feed(new TapReporter(join(dir, 'report.tap')), outsideEvents());
  const lines = (await readFile(join(dir, 'report.tap'), 'utf8')).trimEnd().split('\n');
  t.is(lines[1], '1..6');
  const point = 'not ok 5 - kernel log between cdev/parked-fd and cdev/double-bind';
  t.true(lines.includes(point), lines.join('\n'));
  t.true(block(lines, point).some((l) => /title: WARNING in iommufd_fops_release/.test(l)));
  t.regex(lines.at(-1)!, /1 kernel-log finding outside the scenarios, 1 not judged/);
});

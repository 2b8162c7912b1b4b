import test from 'ava';
import { scenario } from '../../../src/scenario/define.ts';
import { bindScript } from '../../../src/scenario/devices.ts';
import { createExpect, describeSyscall } from '../../../src/scenario/expect.ts';
import type { LoadedScenario } from '../../../src/scenario/loader.ts';
import { groupByKernel, labScenariosOnly, plan } from '../../../src/scenario/planner.ts';
import { exitCodeFor } from '../../../src/scenario/session.ts';

const loaded = (area: string, name: string, machine = 'default', tags: string[] = [], flavour = 'lab'): LoadedScenario => ({
  id: `${area}/${name}`,
  area,
  file: `scenarios/${area}/${name}.scenario.ts`,
  scenario: scenario(name, { devices: ['nvme'], machine, tags, flavour, concern: { text: 't', ref: 'r' } }, async () => {}),
});

test('soft expectations collect every failure and keep errno observations', (t) => {
  const expect = createExpect();
  t.true(expect(1, 'one').toBe(1));
  t.false(expect({ a: 1, b: 2 }, 'obj').toMatchObject({ a: 2 }));
  t.true(expect.errno({ ret: -1, errno: 22, errname: 'EINVAL' }, 'EINVAL', 'GET_INFO'));
  t.false(expect.errno({ ret: 0, errno: 0, errname: null }, 'EINVAL', 'RESET'));
  t.false(expect.errno(undefined, 'ok', 'missing'));
  t.deepEqual(expect.failures, ['obj: expected to match { a: 2 }, got { a: 1, b: 2 }', 'RESET: expected EINVAL, got ok (ret 0)', 'missing: expected ok, got not run']);
  t.deepEqual(expect.observations.map((o) => [o.op, o.ok]), [['GET_INFO', true], ['RESET', false], ['missing', false]]);
});

test('syscall outcomes read as ok, an errno name, or the probe’s isolation verdicts', (t) => {
  t.is(describeSyscall({ ret: 3, errno: 0, errname: null }), 'ok (ret 3)');
  t.is(describeSyscall({ ret: -1, errno: 100001, errname: 'KILLED' }), 'KILLED');
});

test('the planner filters by id substring or tag and groups by kernel then machine', (t) => {
  const all = [loaded('cdev', 'b'), loaded('cdev', 'a', 'shared-slot'), loaded('dma', 'c', 'pt', ['dma']), loaded('peer', 'self', 'default', [], 'selftest')];
  t.deepEqual(plan(all, { patterns: [] }).map((j) => j.id), ['cdev/b', 'dma/c', 'cdev/a', 'peer/self']);
  t.deepEqual(plan(all, { patterns: ['tag:dma', 'cdev/a'] }).map((j) => j.id), ['dma/c', 'cdev/a']);
  t.deepEqual(plan(all, { patterns: [], machine: 'pt' }).map((j) => j.machine), ['pt', 'pt', 'pt', 'pt']);
  t.deepEqual([...groupByKernel(plan(all, { patterns: [] })).keys()], ['lab', 'selftest']);
});

test('"id@variant" selects that instance only, beside a pattern without "@" for another scenario', (t) => {
  const multi = (area: string, name: string): LoadedScenario => ({
    id: `${area}/${name}`,
    area,
    file: `scenarios/${area}/${name}.scenario.ts`,
    scenario: scenario(name, { devices: ['nvme'], machines: ['default', 'pt'], concern: { text: 't', ref: 'r' } }, async () => {}),
  });
  const all = [multi('cdev', 'a'), multi('dma', 'b')];
  t.deepEqual(plan(all, { patterns: ['cdev/a', 'dma/b@pt'] }).map((j) => j.id), ['cdev/a', 'cdev/a@pt', 'dma/b@pt']);
  t.deepEqual(plan(all, { patterns: ['dma/b@pt'] }).map((j) => j.id), ['dma/b@pt']);
  t.deepEqual(plan(all, { patterns: ['@pt'] }).map((j) => j.id), ['cdev/a@pt', 'dma/b@pt']);
});

test('teeth and validate judge the lab scenarios, not the peer pack, whatever kernel it is on', (t) => {
  const all = [loaded('cdev', 'b'), loaded('peer', 'self', 'selftest', ['peer', 'selftest']), loaded('dma', 'c', 'pt', ['dma'])];
  t.deepEqual(labScenariosOnly(plan(all, { patterns: [] })).map((j) => j.id), ['cdev/b', 'dma/c']);
});

test('scenario names are checked', (t) => {
  t.throws(() => scenario('Bad Name', { devices: [], concern: { text: '', ref: '' } }, async () => {}), { message: /lower-case words/ });
});

test('exit codes: failed beats errored beats passed', (t) => {
  const s = { passed: 1, failed: 0, errored: 0, skipped: 1, interrupted: 0, ms: 1 };
  t.is(exitCodeFor(s), 0);
  t.is(exitCodeFor({ ...s, errored: 1 }), 2);
  t.is(exitCodeFor({ ...s, errored: 1, failed: 1 }), 1);
  // An interrupted run has no verdict, even with failures among what finished.
  t.is(exitCodeFor({ ...s, interrupted: 1, failed: 1 }), 130);
  // A kernel report outside every scenario fails a run whose scenarios all passed.
  t.is(exitCodeFor({ ...s, outside: 1 }), 1);
  t.is(exitCodeFor({ ...s, errored: 1, outside: 1 }), 1);
  // A contract skipped on every machine was not judged: no answer, like an error; a failure still wins.
  t.is(exitCodeFor({ ...s, notJudged: ['cdev/shared-group'] }), 2);
  t.is(exitCodeFor({ ...s, notJudged: ['cdev/shared-group'], failed: 1 }), 1);
});

test('the vfio-pci bind script quotes the BDF and waits for the cdev', (t) => {
  const script = bindScript('0000:00:03.0');
  t.true(script.includes('echo vfio-pci > "$d/driver_override"'));
  t.true(script.includes('echo 0000:00:03.0 > /sys/bus/pci/drivers_probe'));
  t.regex(script, /vfio-dev/);
});

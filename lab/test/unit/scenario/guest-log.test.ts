import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Reporter, RunEvent } from '../../../src/report/events.ts';
import { describeOutside, judgeOutside, OutsideLogs } from '../../../src/scenario/guest-log.ts';

const log = (name: string) => readFile(new URL(`../../fixtures/kernel-logs/${name}`, import.meta.url), 'utf8');
const fault = '[   12.345678] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x7f000 [fault reason 0x05] PTE Write access is not set';

test('where a part of the log lies, in the words the report uses', (t) => {
  t.is(describeOutside({ between: ['cdev/a', 'cdev/b'] }), 'between cdev/a and cdev/b');
  t.is(describeOutside({ after: 'cdev/b' }), 'after cdev/b, the last scenario in its guest');
  t.is(describeOutside({ unused: 'cdev/c' }), 'in a guest booted ahead for cdev/c and never used');
});

test('a WARN and a DMAR fault outside the scenarios are both found; every fault there is unexpected', async (t) => {
  const { findings, dmar } = judgeOutside(`${await log('lkdtm-warning.serial.log')}\n${fault}\n`);
  t.deepEqual(findings.map((f) => f.kind), ['WARN']);
  t.deepEqual(dmar, [{ access: 'write', device: '00:03.0', address: '0x7f000', reason: '0x05 PTE Write access is not set' }]);
});

function recorder(): Reporter & { events: RunEvent[] } {
  const events: RunEvent[] = [];
  return { name: 'rec', events, onEvent: (e) => void events.push(e) };
}

test('only the judged range of a console log counts; a finding there is reported, kept and its part written', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-outside-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const warn = await log('lkdtm-warning.serial.log');
  const clean = 'IOMMUFD-LAB-READY\n[ 3.0] vfio-pci 0000:00:03.0: enabling device\n';
  const serial = join(dir, 'guests', 'g1', 'serial.log');
  await mkdir(join(dir, 'guests', 'g1'), { recursive: true });
  // A WARN inside the judged part (a scenario's), then a clean gap, then a fault after the last one.
  await writeFile(serial, `${warn}${clean}${fault}\n`);
  const rec = recorder();
  const outside = new OutsideLogs(dir, rec);
  await outside.judge(serial, warn.length, { between: ['cdev/a', 'cdev/b'] }, warn.length + clean.length);
  t.deepEqual(outside.found, [], 'the gap between the two scenarios is clean');
  await outside.judge(serial, warn.length + clean.length, { after: 'cdev/b' });
  t.is(outside.found.length, 1);
  const [g] = outside.found;
  t.is(g!.where, 'after cdev/b, the last scenario in its guest');
  t.deepEqual(g!.findings, []);
  t.is(g!.dmar[0]!.address, '0x7f000');
  t.is(g!.log, join('guests', 'g1', 'outside-1.log'));
  t.is(await readFile(join(dir, g!.log), 'utf8'), `${fault}\n`);
  t.deepEqual(rec.events, [{ type: 'guest-log', finding: g }]);
});

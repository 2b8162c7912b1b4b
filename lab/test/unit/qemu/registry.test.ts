import test from 'ava';
import { execa } from 'execa';
import { existsSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listVms, ownerRunning, registerVm, sweepDeadRecords, type VmRecord } from '../../../src/qemu/registry.ts';
import { processStartTime } from '../../../src/util/owner.ts';

const cache = () => mkdtempSync(join(tmpdir(), 'registry-'));

async function exitedPid(): Promise<number> {
  const child = execa('true');
  await child;
  return child.pid!;
}

function writeRecord(dir: string, record: VmRecord): void {
  mkdirSync(join(dir, 'vms'), { recursive: true });
  writeFileSync(join(dir, 'vms', `${record.id}.json`), JSON.stringify(record));
}

test('a record names its owner by pid and start time; only that very process counts as running', async (t) => {
  const c = cache();
  await registerVm(c, { id: 'lab-1-a', pid: await exitedPid(), dir: '/x', sshPort: 1, kept: false, meta: {} });
  const [record] = await listVms(c);
  t.deepEqual(record!.owner, { pid: process.pid, startTime: processStartTime(process.pid)! });
  t.true(ownerRunning(record!));
  // The same pid with another start time is a later process that reused the number.
  t.false(ownerRunning({ ...record!, owner: { pid: process.pid, startTime: 1 } }));
  t.false(ownerRunning({ ...record!, owner: undefined }));
});

test('start-up sweep: records whose owner and QEMU are gone go; kept guests and live owners stay', async (t) => {
  const c = cache();
  const deadQemu = await exitedPid();
  const deadOwner = { pid: await exitedPid(), startTime: 42 };
  const qmpDir = mkdtempSync(join(tmpdir(), 'lab-qmp-'));
  writeRecord(c, { id: 'lab-dead', pid: deadQemu, dir: '/a', sshPort: 1, kept: false, owner: deadOwner, qmpDir, meta: {} });
  writeRecord(c, { id: 'lab-kept', pid: deadQemu, dir: '/b', sshPort: 2, kept: true, owner: deadOwner, meta: {} });
  writeRecord(c, { id: 'lab-live-owner', pid: deadQemu, dir: '/c', sshPort: 3, kept: false, owner: { pid: process.pid, startTime: processStartTime(process.pid)! }, meta: {} });
  const swept = await sweepDeadRecords(c);
  t.deepEqual(swept.map((r) => r.id), ['lab-dead']);
  t.deepEqual((await listVms(c)).map((r) => r.id).sort(), ['lab-kept', 'lab-live-owner']);
  t.false(existsSync(qmpDir), 'the QMP socket directory goes with its record');
});

import test from 'ava';
import { execa } from 'execa';
import { dmarMessagesMayBeSuppressed, dmarStatusesWithoutRecord, dmarTokenTimes, failureMayComeFromDroppedMessages, logSeconds, paceSeconds, timestampedDmesg, uptimeSeconds } from '../../../src/scenario/ratelimit.ts';
import { judgeScenario } from '../../../src/scenario/verdict.ts';
import { parseDmarFaults, scanKernelLog } from '../../../src/scenario/watchdog.ts';

const marker = 'IOMMUFD-LAB-BEGIN dma/b#2';
const at = (s: number, text: string) => `[${s.toFixed(6).padStart(12)}] ${text}`;
/** One NVMe fault as dmar_fault() prints it: two lines, three of its ratelimit tokens. */
const fault = (s: number, addr = '0x200000') => [
  at(s, 'DMAR: DRHD: handling fault status reg 2'),
  at(s + 0.0001, `DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr ${addr} [fault reason 0x05] PTE Write access is not set`),
];
const log = (...parts: (string | string[])[]) => parts.flat().join('\n');

test('timestamps are read from dmesg lines, absent ones are null', (t) => {
  t.is(logSeconds('[   12.345678] DMAR: x'), 12.345678);
  t.is(logSeconds('DMAR: x'), null);
});

test('each fault costs three tokens: the status line, the record, and the loop pass that finds no more', (t) => {
  t.deepEqual(dmarTokenTimes(fault(10), 0), [10, 10.0001, 10.0001]);
  // Two records in one call: one pass each, and the one that ends the loop.
  const two = [...fault(10), at(10.0002, 'DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set')];
  t.deepEqual(dmarTokenTimes(two, 0), [10, 10.0001, 10.0002, 10.0002]);
  // A status without a pending primary fault (PPF) runs no loop.
  t.deepEqual(dmarTokenTimes([at(3, 'DMAR: DRHD: handling fault status reg 1')], 0), [3]);
});

test('a scenario after a few faults of the one before has enough of its window: nothing suppressed', (t) => {
  // 3 faults are 9 of the 10 tokens.
  const text = log(at(1, 'boot'), fault(10), fault(10.5), at(11, marker), fault(11.5));
  t.is(dmarMessagesMayBeSuppressed(text, marker), null);
  // A fourth within the window is where the real guest lost its record line.
  t.truthy(dmarMessagesMayBeSuppressed(log(text, fault(12)), marker));
});

test('faults of the scenario before that fill the window it starts in: flagged, naming how many were before', (t) => {
  // 6 faults = 12 tokens from 10.0 s; the window holds until ~15 s and this scenario starts at 12 s.
  const before = [0, 0.2, 0.4, 0.6, 0.8, 1].flatMap((d) => fault(10 + d));
  const reason = dmarMessagesMayBeSuppressed(log(before, at(12, marker), fault(12.5)), marker);
  t.truthy(reason);
  t.regex(reason!, /^the kernel's DMAR message rate limit \(10 per 5 s\) was reached from 10\.000 s, 18 of its calls before this scenario began at 12\.000 s/);
});

test('a full window that closed before the scenario began is no concern', (t) => {
  const before = [0, 0.2, 0.4, 0.6, 0.8, 1].flatMap((d) => fault(10 + d));
  t.is(dmarMessagesMayBeSuppressed(log(before, at(16, marker), fault(16.5)), marker), null);
});

test('a window the earlier faults and the scenario\'s own fill together is flagged', (t) => {
  const before = [0, 0.5].flatMap((d) => fault(10 + d));
  const own = [0, 0.3].flatMap((d) => fault(12 + d));
  t.truthy(dmarMessagesMayBeSuppressed(log(before, at(11.5, marker), own), marker));
  // The same faults spread over more than one interval fit their windows.
  const spread = [0, 0.5].flatMap((d) => fault(4 + d));
  t.is(dmarMessagesMayBeSuppressed(log(spread, at(11.5, marker), own), marker), null);
});

test('a status line without its record is a record the kernel dropped: flagged even where the window model sees room', (t) => {
  // A reused guest under load (3 workers on 2 cores): three faults, then the 4th's record gone
  // at 5.84 s of log time after the first, past the 5 s window by the log's clock.
  const status = (s: number) => at(s, 'DMAR: DRHD: handling fault status reg 2');
  const seen = log(fault(4.330901), fault(6.11968), fault(7.525295), at(8.9, marker), status(10.17495));
  t.deepEqual(dmarStatusesWithoutRecord(seen.split('\n')), [10.17495]);
  t.regex(dmarMessagesMayBeSuppressed(seen, marker)!, /^the kernel printed a DMAR fault status at 10\.175 s without its record/);
  // The same faults with the record line: the window model alone decides, and sees it closed.
  t.is(dmarMessagesMayBeSuppressed(log(seen, at(10.17517, 'DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x174c000 [fault reason 0x05] PTE Write access is not set')), marker), null);
  // An orphan followed by another status is still an orphan; one with no pending fault (reg 1) runs no record loop.
  t.deepEqual(dmarStatusesWithoutRecord([status(1), ...fault(2), at(3, 'DMAR: DRHD: handling fault status reg 1')]), [1]);
  // Long before the marker (more than two windows) it says nothing of this scenario.
  t.is(dmarMessagesMayBeSuppressed(log(status(1), at(20, marker), fault(20.5)), marker), null);
  t.truthy(dmarMessagesMayBeSuppressed(log(status(12), at(20, marker), fault(20.5)), marker));
});

test('the kernel saying it dropped dmar_fault messages after the marker is always flagged', (t) => {
  const text = log(at(11, marker), at(17, 'dmar_fault: 3 callbacks suppressed'), fault(17));
  t.regex(dmarMessagesMayBeSuppressed(text, marker)!, /dropped 3 DMAR fault message\(s\)/);
});

test('without the marker or without timestamps nothing can be told: flagged rather than trusted', (t) => {
  t.regex(dmarMessagesMayBeSuppressed(log(fault(1)), marker)!, /marker is not in the kernel log/);
  t.regex(dmarMessagesMayBeSuppressed(log(marker, 'DMAR: DRHD: handling fault status reg 2'), marker)!, /no timestamps/);
});

test('the timestamped log still parses: faults and findings are the same as without timestamps', (t) => {
  const plain = ['DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x200000 [fault reason 0x05] PTE Write access is not set', 'WARNING: CPU: 0 PID: 9 at drivers/iommu/iommufd/main.c:1 iommufd_fops_release+0x1/0x2'];
  const stamped = plain.map((l, i) => at(3 + i, l));
  t.deepEqual(parseDmarFaults(stamped.join('\n')), parseDmarFaults(plain.join('\n')));
  t.deepEqual(scanKernelLog(stamped.join('\n')).map((f) => f.title), scanKernelLog(plain.join('\n')).map((f) => f.title));
});

test('the dmesg command restores printk.time and keeps dmesg\'s exit status', async (t) => {
  // Run against a fake sysfs file and a fake dmesg: the script's own logic, in a real shell.
  const dir = (await execa('mktemp', ['-d'])).stdout;
  await execa('sh', ['-c', `printf 'N\\n' > ${dir}/time; printf '#!/bin/sh\\necho "[ 1.0] t=$(cat ${dir}/time)"; exit 3\\n' > ${dir}/dmesg; chmod +x ${dir}/dmesg`]);
  const script = timestampedDmesg.replace('/sys/module/printk/parameters/time', `${dir}/time`);
  const r = await execa('sh', ['-c', script], { reject: false, env: { PATH: `${dir}:${process.env.PATH}` } });
  t.is(r.stdout, '[ 1.0] t=Y');
  t.is(r.exitCode, 3);
  // The guest's clock for pacing comes on stderr, out of the log.
  t.true((uptimeSeconds(r.stderr) ?? 0) > 0, r.stderr);
  t.is((await execa('cat', [`${dir}/time`])).stdout, 'N');
});

/** The verdict of a body that recorded `failures`, over a kernel log, as the runner judges it. */
const judged = (failures: string[], dmesg = '', error?: string) => judgeScenario({ phase: 'watchdog', failures, dmesg, serial: '', expectedFaults: [], devices: { nvme: '0000:00:04.0' }, ...(error ? { error: { message: error } } : {}) });
const warn = '[    3.1] WARNING: CPU: 0 PID: 90 at drivers/iommu/iommufd/main.c:100 iommufd_fops_release+0x10/0x20';
const undeclared = '[    3.1] DMAR: [DMA Write NO_PASID] Request device [00:04.0] fault addr 0x1000 [fault reason 0x05] PTE Write access is not set';

test('dropped messages can explain a failure only the body recorded after it first read the log', (t) => {
  const own = 'DMAR faults in this scenario\'s log: expected 2, got 0';
  t.true(failureMayComeFromDroppedMessages(judged([own]), 1, 0));
  // Recorded before the first read: it does not depend on the log.
  t.false(failureMayComeFromDroppedMessages(judged(['the guest is clean', own]), 2, 1));
  // The body never read the log.
  t.false(failureMayComeFromDroppedMessages(judged(['the guest is clean']), 1, undefined));
  // What the lab judged itself: an undeclared fault is a line that was there; a kernel finding.
  t.false(failureMayComeFromDroppedMessages(judged([own], undeclared), 1, 0));
  t.false(failureMayComeFromDroppedMessages(judged([own], warn), 1, 0));
  // An error that ended the body; a pass.
  t.false(failureMayComeFromDroppedMessages(judged([own], '', 'guest probe failed (exit 1)'), 1, 0));
  t.false(failureMayComeFromDroppedMessages(judged([]), 0, 0));
});

test('uptime is read from /proc/uptime\'s first field, null without one', (t) => {
  t.is(uptimeSeconds('12.34 20.01\n'), 12.34);
  t.is(uptimeSeconds('cat: /proc/uptime: No such file\n'), null);
});

test('a scenario in a reused guest waits only as long as earlier faults would leave it under a fault of room', (t) => {
  const tokens = (...faultsAt: number[]) => dmarTokenTimes(faultsAt.flatMap((s) => fault(s)), 0);
  // Two earlier faults (6 tokens) leave 4: no wait.
  t.is(paceSeconds(tokens(10, 11), 12), 0);
  // Three (9): the first must leave the window (5.5 s) before the next scenario begins.
  const w = paceSeconds(tokens(10, 11, 12), 13);
  t.true(Math.abs(w - (10.0001 + 5.5 - 13 + 0.05)) < 1e-6, String(w));
  // Old faults do not count.
  t.is(paceSeconds(tokens(1, 2, 3, 4), 13), 0);
  // The wait it asks for is enough: the check then finds no window the earlier faults filled with the next scenario's one fault.
  const start = 13 + w;
  const marker = 'IOMMUFD-LAB-BEGIN x#1';
  const after = log(fault(10), fault(11), fault(12), at(start, marker), fault(start + 0.5));
  t.is(dmarMessagesMayBeSuppressed(after, marker), null);
  // Without the wait it would not be trusted.
  t.not(dmarMessagesMayBeSuppressed(log(fault(10), fault(11), fault(12), at(13, marker), fault(13.5)), marker), null);
});

test('dropped messages can explain a declared fault that never came, and only with nothing else failed', (t) => {
  const declaring = (failures: string[]) => judgeScenario({ phase: 'watchdog', failures, dmesg: '', serial: '', expectedFaults: [{ device: 'nvme', access: 'write', address: '0x50000000' }], devices: { nvme: '0000:00:04.0' } });
  // The body never read the log and recorded nothing: the missing record is all that failed.
  t.true(failureMayComeFromDroppedMessages(declaring([]), 0, undefined));
  // A failure of the body's own that it recorded before any read still stands.
  t.false(failureMayComeFromDroppedMessages(declaring(['the guest is clean']), 1, undefined));
  // Beside a line that was there (an undeclared fault), it does not.
  t.false(failureMayComeFromDroppedMessages(judgeScenario({ phase: 'watchdog', failures: [], dmesg: undeclared, serial: '', expectedFaults: [{ device: 'nvme', access: 'write', address: '0x50000000' }], devices: { nvme: '0000:00:04.0' } }), 0, undefined));
});

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { RunEvent } from '../../../src/report/events.ts';
import { JsonReporter, renderJson } from '../../../src/report/json.ts';
import { PlainReporter } from '../../../src/report/plain.ts';
import { phaseTimings } from '../../../src/scenario/body.ts';
import { mayFault, unwind } from '../../../src/scenario/guest-pool.ts';
import { CleanupStack } from '../../../src/util/cleanup.ts';
import { results, run, sink } from '../report/report-fixture.ts';

test('each phase lasts until the next begins, the last until now', (t) => {
  const began = [{ phase: 'boot' as const, at: 1000 }, { phase: 'setup' as const, at: 3900 }, { phase: 'scenario' as const, at: 4200 }, { phase: 'verdict' as const, at: 5400 }];
  t.deepEqual(phaseTimings(began, 5800), [{ phase: 'boot', ms: 2900 }, { phase: 'setup', ms: 300 }, { phase: 'scenario', ms: 1200 }, { phase: 'verdict', ms: 400 }]);
});

test('an attempt that never began a phase has no timings', (t) => {
  t.deepEqual(phaseTimings([], 5000), []);
});

test('only a scenario that does DMA or declares a fault waits for room in the DMAR rate limit', (t) => {
  t.true(mayFault({ tags: ['dma', 'S6'] }));
  t.true(mayFault({ tags: ['reuse'], expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }] }));
  t.false(mayFault({ tags: ['cdev', 'S1'] }));
  t.false(mayFault({ tags: ['iommufd'], expectedFaults: [] }));
});

test('a teardown that fails is a teardown event the reporters keep, and the rest of the teardown still runs', async (t) => {
  const ran: string[] = [];
  const stack = new CleanupStack();
  stack.push('ssh', () => void ran.push('ssh'));
  stack.push('qemu lab-1', () => {
    throw new Error('QEMU lab-1 (pid 4242) did not exit within 4 s of SIGTERM and SIGKILL; it is still registered for ./labw clean');
  });
  const stream = sink();
  const plain = new PlainReporter({ stream, now: () => new Date('2025-01-01T12:34:56Z') });
  const path = join(mkdtempSync(join(tmpdir(), 'lab-teardown-')), 'report.json');
  const json = new JsonReporter(path);
  const both = { name: 'both', onEvent: async (e: RunEvent) => { plain.onEvent(e); await json.onEvent(e); } };
  await both.onEvent({ type: 'run-start', run });
  await unwind(stack, 'of the guest of cdev/parked-fd', both);
  await json.close();
  t.deepEqual(ran, ['ssh']);
  t.regex(stream.text(), /^\[12:34:56\] WARN teardown of the guest of cdev\/parked-fd: teardown of qemu lab-1 failed: QEMU lab-1 \(pid 4242\) did not exit/m);
  const report = JSON.parse(readFileSync(path, 'utf8')) as { teardown?: { where: string; error: string }[] };
  t.deepEqual(report.teardown?.map((x) => x.where), ['of the guest of cdev/parked-fd']);
  // No failed teardown, no key: the report a clean run writes is unchanged.
  t.false('teardown' in JSON.parse(renderJson({ run, summary: { passed: 1, failed: 0, errored: 0, skipped: 0, interrupted: 0, ms: 1 }, results })));
});

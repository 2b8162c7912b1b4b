import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { WedgedError, watchForWedge, wedgingReport } from '../../../src/scenario/wedge.ts';

const logs = join(import.meta.dirname, '../../fixtures/kernel-logs');
const log = (name: string) => readFileSync(join(logs, name), 'utf8');

test('a recursive fault is a wedge, named by the oops that started it', (t) => {
  // Seen under the later-opener regression model: the parked sweep of an unparked FD oopsed in
  // the driver, the dying task oopsed again, and its command never returned.
  const finding = wedgingReport(log('recursive-fault.serial.log'));
  t.is(finding?.kind, 'oops');
  t.is(finding?.title, 'BUG: kernel NULL pointer dereference in __vfio_pci_memory_enabled');
});

test('an oops that kills its task, a BUG and a WARN are not wedges: their commands return', (t) => {
  for (const name of ['lkdtm-exception.serial.log', 'lkdtm-bug.serial.log', 'lkdtm-warning.serial.log']) t.is(wedgingReport(log(name)), undefined, name);
});

test('a soft lockup is a wedge', (t) => {
  const serial = ['watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [vfio-probe:90]', 'CPU: 0 UID: 0 PID: 90 Comm: vfio-probe', 'RIP: 0010:vfio_pci_core_ioctl+0x10/0x20'].join('\n');
  t.is(wedgingReport(serial)?.kind, 'soft-lockup');
});

test('the watch ends the scenario a grace after the report, and not before', async (t) => {
  let text = 'IOMMUFD-LAB-BEGIN x\n';
  const controller = new AbortController();
  const t0 = Date.now();
  const watch = watchForWedge({ serial: async () => text, graceMs: 300, pollMs: 20, signal: controller.signal });
  setTimeout(() => (text += log('recursive-fault.serial.log')), 200);
  const error = await t.throwsAsync(watch, { instanceOf: WedgedError });
  const elapsed = Date.now() - t0;
  t.true(elapsed >= 500 && elapsed < 1500, `${elapsed} ms`);
  t.regex(error.message, /stuck in the kernel after "BUG: kernel NULL pointer dereference in __vfio_pci_memory_enabled"/);
});

test('a watch without a report ends when it is told to', async (t) => {
  const controller = new AbortController();
  const watch = watchForWedge({ serial: async () => log('lkdtm-exception.serial.log'), graceMs: 100, pollMs: 20, signal: controller.signal });
  setTimeout(() => controller.abort(new Error('scenario finished')), 300);
  await t.throwsAsync(watch, { message: 'scenario finished' });
});

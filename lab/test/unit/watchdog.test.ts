import test from 'ava';
import { countFaultReports, faultMatches, parseDmarFaults, scanKernelLog, shortBdf, unexpectedFaults } from '../../src/scenario/watchdog.ts';

// Lines as the lab kernel printed them on these machines (DOMAIN.md §4, and the RFC model's oops).
const faults = [
  '[   12.100000] DMAR: DRHD: handling fault status reg 2',
  '[   12.100100] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x20000000 [fault reason 0x05] PTE Write access is not set',
  '[   12.200000] DMAR: DRHD: handling fault status reg 3',
  '[   12.200100] DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr 0x7f000 [fault reason 0x02] Present bit in context entry is clear',
].join('\n');

test('parses DMAR fault lines: device, access, address, reason', (t) => {
  t.deepEqual(parseDmarFaults(faults), [
    { access: 'write', device: '00:03.0', address: '0x20000000', reason: '0x05 PTE Write access is not set' },
    { access: 'read', device: '00:04.0', address: '0x7f000', reason: '0x02 Present bit in context entry is clear' },
  ]);
  t.is(countFaultReports(faults), 2);
});

test('declared faults are matched by device name, access, address and reason', (t) => {
  const [write, read] = parseDmarFaults(faults);
  const devices = { nvme: '0000:00:03.0', e1000: '0000:00:04.0' };
  t.true(faultMatches(write!, { device: 'nvme', access: 'write', address: '0x020000000' }, devices));
  t.false(faultMatches(write!, { device: 'e1000' }, devices));
  t.false(faultMatches(write!, { access: 'read' }, devices));
  t.true(faultMatches(write!, { reason: /Write access/ }, devices));
  t.deepEqual(unexpectedFaults([write!, read!], [{ device: 'nvme', access: 'write' }], devices), [read]);
  t.deepEqual(unexpectedFaults([write!, read!], [], devices), [write, read]);
  t.is(shortBdf('0000:00:1f.3'), '00:1f.3');
});

test('finds oopses, WARNs, lockdep reports and hung tasks, once each', (t) => {
  const log = [
    '[    5.1] BUG: kernel NULL pointer dereference, address: 000000000000003d',
    '[    5.1] Oops: Oops: 0000 [#1] SMP',
    '[    6.0] ------------[ cut here ]------------',
    '[    6.0] WARNING: CPU: 0 PID: 74 at drivers/vfio/iommufd.c:120 vfio_iommufd_physical_attach_ioas+0x40/0x50',
    '[    7.0] WARNING: possible circular locking dependency detected',
    '[    8.0] INFO: task vfio-probe:80 blocked for more than 20 seconds.',
    '[    9.0] rcu: INFO: rcu_sched self-detected stall on CPU',
  ].join('\n');
  t.deepEqual(scanKernelLog(log).map((f) => f.kind), ['BUG', 'oops', 'WARN', 'lockdep', 'hung-task', 'rcu-stall']);
  t.regex(scanKernelLog(log)[0]!.excerpt, /Oops: 0000/);
});

test('a clean boot log has no findings', (t) => {
  const clean = ['DMAR: IOMMU enabled', 'DMAR-IR: Enabled IRQ remapping in xapic mode', 'VFIO - User Level meta-driver version: 0.3', 'e1000 0000:00:04.0 eth1: Intel(R) PRO/1000 Network Connection'].join('\n');
  t.deepEqual(scanKernelLog(clean), []);
  t.deepEqual(parseDmarFaults(clean), []);
});

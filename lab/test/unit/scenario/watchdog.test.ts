import { readFileSync } from 'node:fs';
import test from 'ava';
import { countFaultReports, faultMatches, parseDmarFaults, scanKernelLog, shortBdf, unexpectedFaults } from '../../../src/scenario/watchdog.ts';

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
  // Matched by page: VT-d records the page address of a fault, an offset into it is the same page.
  t.true(faultMatches(write!, { address: '0x20000abc' }, devices));
  t.false(faultMatches(write!, { address: '0x20001000' }, devices));
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
  // The NULL dereference's "BUG:" line and its "Oops:" line are one report.
  t.deepEqual(scanKernelLog(log).map((f) => f.kind), ['oops', 'WARN', 'lockdep', 'hung-task', 'rcu-stall']);
  t.regex(scanKernelLog(log)[0]!.excerpt, /Oops: 0000/);
  t.is(scanKernelLog(log)[1]!.title, 'WARNING in vfio_iommufd_physical_attach_ioas');
});

test('a clean boot log has no findings', (t) => {
  const clean = ['DMAR: IOMMU enabled', 'DMAR-IR: Enabled IRQ remapping in xapic mode', 'VFIO - User Level meta-driver version: 0.3', 'e1000 0000:00:04.0 eth1: Intel(R) PRO/1000 Network Connection'].join('\n');
  t.deepEqual(scanKernelLog(clean), []);
  t.deepEqual(parseDmarFaults(clean), []);
});

test('crash titles strip addresses, PIDs and offsets: the same crash in two runs has one title', (t) => {
  const run = (pid: number, addr: string, off: string) =>
    [`[    5.1] BUG: kernel NULL pointer dereference, address: ${addr}`, '[    5.1] #PF: supervisor read access in kernel mode', `[    5.1] Oops: Oops: 0000 [#1] SMP`, `[    5.1] CPU: 1 UID: 0 PID: ${pid} Comm: vfio-probe Not tainted 6.12.117 #1`, `[    5.1] RIP: 0010:vfio_df_ioctl_bind_iommufd+${off}/0x1a0`].join('\n');
  const a = scanKernelLog(run(80, '0000000000000000', '0x3c'));
  const b = scanKernelLog(run(1234, '0000000000000008', '0x41'));
  t.is(a.length, 1);
  t.is(a[0]!.title, 'BUG: kernel NULL pointer dereference in vfio_df_ioctl_bind_iommufd');
  t.is(a[0]!.title, b[0]!.title);
  t.is(scanKernelLog('[ 1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009')[0]!.title, 'Kernel panic: Attempted to kill init!');
});

// The report shapes of KFENCE (Documentation/dev-tools/kfence.rst) and of DEBUG_LIST with
// BUG_ON_DATA_CORRUPTION (lib/list_debug.c: the corruption line, then a kernel BUG there).
test('a KFENCE report is a finding of its own kind, titled by what and where', (t) => {
  const f = scanKernelLog([
    '[   42.100000] ==================================================================',
    '[   42.100001] BUG: KFENCE: use-after-free read in iommufd_ioas_unmap+0x2c/0x90',
    '[   42.100002] Use-after-free read at 0x00000000a1b2c3d4 (in kfence-#17):',
  ].join('\n'));
  t.deepEqual(f.map((x) => [x.kind, x.title]), [['KFENCE', 'KFENCE: use-after-free read in iommufd_ioas_unmap']]);
});

// Real reports: the sanitize kernel (6.12.118 + kernel-patches/config/sanitize.config) running
// dma/replace under regression model 0008, whose IOMMU_DESTROY reads the freed object. Whole
// reports with their allocation and free stacks, which name other functions the title must not take.
const realLog = (name: string) => readFileSync(new URL(`../../fixtures/kernel-logs/${name}`, import.meta.url), 'utf8');

test('a real KFENCE report (model 0008) is one KFENCE finding in the function that read the freed object', (t) => {
  const f = scanKernelLog(realLog('kfence-uaf.serial.log'));
  t.deepEqual(f.map((x) => [x.kind, x.title]), [['KFENCE', 'KFENCE: use-after-free read in iommufd_object_remove']]);
  t.regex(f[0]!.excerpt, /Use-after-free read at 0x[0-9a-f]+ \(in kfence-#\d+\)/);
});

test('a real KASAN report (model 0008) is one KASAN finding, not a BUG or an oops besides', (t) => {
  const f = scanKernelLog(realLog('kasan-uaf.serial.log'));
  t.deepEqual(f.map((x) => [x.kind, x.title]), [['KASAN', 'KASAN: slab-use-after-free in iommufd_object_remove']]);
  t.regex(f[0]!.line, /^BUG: KASAN: slab-use-after-free in iommufd_object_remove\+0x[0-9a-f]+\/0x[0-9a-f]+$/);
});

test('a list corruption and the BUG it raises are one finding, titled by the list operation and its caller', (t) => {
  const f = scanKernelLog([
    '[    9.000000] list_add corruption. prev->next should be next (ffff888003a1c0d8), but was 0000000000000000. (prev=ffff888003a1c0d8).',
    '[    9.000001] ------------[ cut here ]------------',
    '[    9.000002] kernel BUG at lib/list_debug.c:32!',
    '[    9.000003] Oops: invalid opcode: 0000 [#1] SMP NOPTI',
    '[    9.000004] RIP: 0010:__list_add_valid_or_report+0x5b/0xa0',
    '[    9.000005] Call Trace:',
    '[    9.000006]  <TASK>',
    '[    9.000007]  iopt_area_attach+0x31/0x80',
  ].join('\n'));
  t.deepEqual(f.map((x) => [x.kind, x.title]), [['list-corruption', 'list_add corruption in iopt_area_attach']]);
});

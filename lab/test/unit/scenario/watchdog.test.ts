import { readFileSync } from 'node:fs';
import test from 'ava';
import { countFaultReports, faultMatches, missingFaults, parseDmarFaults, scanKernelLog, shortBdf, stripTimestamp, unexpectedFaults } from '../../../src/scenario/watchdog.ts';

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

test('every kind of kernel report is found, each under its own kind', (t) => {
  const one = (line: string) => scanKernelLog(`[    1.000000] boot ok\n[    2.000000] ${line}\n`).map((f) => f.kind);
  t.deepEqual(one('Kernel panic - not syncing: Fatal exception'), ['panic']);
  t.deepEqual(one('BUG: KASAN: slab-use-after-free in iommufd_object_remove+0x1c/0x90'), ['KASAN']);
  t.deepEqual(one('BUG: KFENCE: use-after-free read in iommufd_object_remove+0x1c/0x90'), ['KFENCE']);
  t.deepEqual(one('list_del corruption, ffff888003c0a000->next is LIST_POISON1 (dead000000000100)'), ['list-corruption']);
  t.deepEqual(one('UBSAN: shift-out-of-bounds in drivers/iommu/iommufd/io_pagetable.c:12:3'), ['UBSAN']);
  t.deepEqual(one('general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP'), ['oops']);
  t.deepEqual(one('Oops: 0000 [#1] SMP NOPTI'), ['oops']);
  t.deepEqual(one('BUG: unable to handle page fault for address: ffffffffc0000000'), ['oops']);
  t.deepEqual(one('watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [vfio-probe:123]'), ['soft-lockup']);
  t.deepEqual(one('kernel BUG at drivers/vfio/vfio_main.c:123!'), ['BUG']);
  t.deepEqual(one('BUG: sleeping function called from invalid context at mm/slab.h:1'), ['BUG']);
  t.deepEqual(one('WARNING: CPU: 0 PID: 77 at drivers/iommu/iommufd/main.c:10 iommufd_fops_release+0x1/0x2'), ['WARN']);
  t.deepEqual(one('WARNING: possible circular locking dependency detected'), ['lockdep']);
  t.deepEqual(one('WARNING: suspicious RCU usage'), ['lockdep']);
  t.deepEqual(one('inconsistent lock state'), ['lockdep']);
  t.deepEqual(one('possible recursive locking detected'), ['lockdep']);
  t.deepEqual(one('rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:'), ['rcu-stall']);
  t.deepEqual(one('rcu: INFO: rcu_sched self-detected stall on CPU'), ['rcu-stall']);
  t.deepEqual(one('INFO: task vfio-probe:88 blocked for more than 10 seconds.'), ['hung-task']);
  t.deepEqual(one('a BUGGY driver said hello, and WARNINGS: none'), []);
});

test('a "cut here" banner is part of the report below it; alone, it is a WARN of its own', (t) => {
  const banner = '------------[ cut here ]------------';
  const warn = 'WARNING: CPU: 0 PID: 1 at drivers/vfio/vfio_main.c:1 vfio_x+0x1/0x2';
  t.deepEqual(scanKernelLog(`${banner}\n${warn}\n`).map((f) => f.line), [warn]);
  t.deepEqual(scanKernelLog(`${banner}\nsomething else\n`).map((f) => [f.kind, f.line]), [['WARN', banner]]);
});

test('an oops a few lines into an open report is its continuation; after the report\'s end, or 8 lines on, it is a new one', (t) => {
  const bug = 'BUG: kernel NULL pointer dereference, address: 0000000000000008';
  const oops = 'Oops: 0002 [#1] SMP NOPTI';
  t.deepEqual(scanKernelLog(`${bug}\n#PF: supervisor write access\n${oops}\n`).map((f) => f.kind), ['oops']);
  t.deepEqual(scanKernelLog(`${bug}\n---[ end trace 0000000000000000 ]---\n${oops}\n`).length, 2);
  t.deepEqual(scanKernelLog(`${bug}\n${'filler\n'.repeat(8)}${oops}\n`).length, 2);
  // A WARN is never a continuation: a second report inside the first's window is its own.
  t.deepEqual(scanKernelLog(`${bug}\nWARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n`).map((f) => f.kind), ['oops', 'WARN']);
});

test('a report\'s excerpt ends at its end marker, and stops at 14 lines', (t) => {
  const warn = 'WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2';
  const [short] = scanKernelLog(`[    1.000000] ${warn}\nline a\n---[ end trace 0 ]---\nafter\n`);
  t.is(short!.excerpt, `${warn}\nline a\n---[ end trace 0 ]---`);
  const [long] = scanKernelLog(`${warn}\n${Array.from({ length: 30 }, (_, i) => `l${i}`).join('\n')}\n`);
  t.is(long!.excerpt.split('\n').length, 14);
});

test('timestamps and a console\'s CR are stripped, so a line from dmesg and from the console compare equal', (t) => {
  t.is(stripTimestamp('[   12.345678] DMAR: x\r'), 'DMAR: x');
  t.is(stripTimestamp('[12.3] y'), 'y');
  t.is(stripTimestamp('no stamp [1.0] here'), 'no stamp [1.0] here');
  t.is(stripTimestamp('[1.0]x'), 'x');
  t.is(stripTimestamp('[1.0]  y'), ' y');
  t.is(stripTimestamp('a\rb\r'), 'a\rb');
  const warn = 'WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2';
  t.is(scanKernelLog(`[    1.000000] ${warn}\n[    1.000000] ${warn}\r\n`).length, 1);
});

test('DMAR fault lines: read and write, with or without NO_PASID or a PASID, behind a timestamp; other lines are not faults', (t) => {
  const text = [
    '[    3.100000] DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set',
    'DMAR: [DMA Write] Request device [0a:1f.7] PASID 1 fault addr 0xfff000 [fault reason 0x05]',
    'DMAR: [DMA Write] Request device [00:03.0] fault addr 1000 [fault reason 0x05]',
    'DMAR: DRHD: handling fault status reg 2',
  ].join('\n');
  t.deepEqual(parseDmarFaults(text), [
    { access: 'read', device: '00:04.0', address: '0x1000', reason: '0x06 PTE Read access is not set' },
    { access: 'write', device: '0a:1f.7', address: '0xfff000', reason: '0x05' },
  ]);
  t.is(countFaultReports(`${text}\nDMAR: DRHD: handling fault status reg 3\n`), 2);
  t.is(countFaultReports(''), 0);
});

test('a fault matches its declaration by page, direction, device (name or BDF) and reason (text or pattern)', (t) => {
  const f = { access: 'write' as const, device: '00:03.0', address: '0x200fff', reason: '0x05 PTE Write access is not set' };
  const devices = { nvme: '0000:00:03.0', e1000: '0000:00:04.0' };
  t.true(faultMatches(f, { address: '0x200000' }, devices), 'same 4 KiB page');
  t.false(faultMatches(f, { address: '0x201000' }, devices), 'the next page');
  t.false(faultMatches(f, { address: '0x1ff000' }, devices), 'the page before');
  t.true(faultMatches(f, { device: 'nvme' }, devices));
  t.false(faultMatches(f, { device: 'e1000' }, devices));
  t.true(faultMatches(f, { device: '0000:00:03.0' as never }, devices), 'a BDF not in the device map is compared as a BDF');
  t.false(faultMatches(f, { access: 'read' }, devices));
  t.true(faultMatches(f, { reason: '0x05' }, devices));
  t.false(faultMatches(f, { reason: '0x06' }, devices));
  t.true(faultMatches(f, { reason: /Write access/ }, devices));
  t.false(faultMatches(f, { reason: /Read access/ }, devices));
  t.true(faultMatches(f, {}, devices));
  t.deepEqual(missingFaults([f], [{ device: 'nvme', access: 'write', address: '0x200000' }, { device: 'nvme', access: 'read', address: '0x200000' }], devices), [{ device: 'nvme', access: 'read', address: '0x200000' }]);
  t.deepEqual(unexpectedFaults([f], [{ device: 'e1000', access: 'write', address: '0x200000' }], devices), [f]);
  t.is(shortBdf('0000:00:03.0'), '00:03.0');
  t.is(shortBdf('00:03.0'), '00:03.0');
});

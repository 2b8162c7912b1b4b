// Crash titles, report shape by report shape: the same crash must get the same title in two
// runs (validate's "new on the tip" depends on it), and two different crashes different ones.
import test from 'ava';
import { crashTitle } from '../../../src/scenario/fingerprint.ts';

const trace = (...fns: string[]) => ['Call Trace:', ' <TASK>', ...fns.map((f) => ` ${f}+0x1c/0x90`)];

test('a WARN is named by the function in its header, else by its RIP, else by the scrubbed text', (t) => {
  t.is(crashTitle('WARN', ['WARNING: CPU: 1 PID: 77 at drivers/iommu/iommufd/main.c:120 iommufd_fops_release+0x40/0x50']), 'WARNING in iommufd_fops_release');
  t.is(crashTitle('WARN', ['WARNING: CPU: 0 PID: 1 at kernel/x.c:9 some text', 'RIP: 0010:vfio_x+0x3/0x9']), 'WARNING in vfio_x');
  t.is(crashTitle('WARN', ['WARNING: CPU: 0 PID: 1 at kernel/x.c:9 at 0xffff0000 pid 12:34']), 'WARNING in at ADDR pid 12');
  t.is(crashTitle('WARN', ['------------[ cut here ]------------', 'WARNING: CPU: 0 PID: 5 at a.c:1 vfio_df_open+0x1/0x2']), 'WARNING in vfio_df_open');
});

test('a panic is named by its reason without exit codes or trailing colons', (t) => {
  t.is(crashTitle('panic', ['Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b']), 'Kernel panic: Attempted to kill init!');
  t.is(crashTitle('panic', ['Kernel panic - not syncing: Fatal exception:']), 'Kernel panic: Fatal exception');
  t.is(crashTitle('panic', ['Kernel panic - not syncing: sysrq triggered crash']), 'Kernel panic: sysrq triggered crash');
});

test('a kernel BUG is named by its RIP, else by the file it names', (t) => {
  t.is(crashTitle('BUG', ['kernel BUG at drivers/vfio/vfio_main.c:42!', 'RIP: 0010:vfio_unregister_group_dev+0x9/0x10']), 'kernel BUG in vfio_unregister_group_dev');
  t.is(crashTitle('BUG', ['kernel BUG at drivers/vfio/vfio_main.c:42!']), 'kernel BUG in drivers/vfio/vfio_main.c');
});

test('a hung task and an RCU stall are named by the first frame past the scheduler', (t) => {
  t.is(crashTitle('hung-task', ['INFO: task vfio-probe:88 blocked for more than 10 seconds.', ...trace('__schedule', 'schedule', 'schedule_timeout', 'wait_for_completion', 'vfio_unregister_group_dev')]), 'INFO: task hung in vfio_unregister_group_dev');
  t.is(crashTitle('hung-task', ['INFO: task vfio-probe:88 blocked for more than 10 seconds.']), 'INFO: task hung in vfio-probe');
  t.is(crashTitle('rcu-stall', ['rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:', ...trace('__wait_rcu_gp', 'iopt_unmap_iova')]), 'INFO: rcu detected stall in iopt_unmap_iova');
  t.is(crashTitle('rcu-stall', ['rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:']), 'INFO: rcu detected stall');
});

test('a soft lockup by its RIP; lockdep by its own words', (t) => {
  t.is(crashTitle('soft-lockup', ['watchdog: BUG: soft lockup - CPU#0 stuck for 22s!', 'RIP: 0010:iopt_area_fill+0x1/0x2']), 'BUG: soft lockup in iopt_area_fill');
  t.is(crashTitle('soft-lockup', ['watchdog: BUG: soft lockup - CPU#0 stuck for 22s!']), 'BUG: soft lockup');
  t.is(crashTitle('lockdep', ['WARNING: possible circular locking dependency detected']), 'lockdep: possible circular locking dependency detected');
});

test('KASAN and KFENCE by what and the function; list corruption by the operation and the caller (the first frame of the trace), not the checker in RIP', (t) => {
  t.is(crashTitle('KASAN', ['BUG: KASAN: slab-use-after-free in iommufd_object_remove+0x1c/0x90']), 'KASAN: slab-use-after-free in iommufd_object_remove');
  t.is(crashTitle('KASAN', ['BUG: KASAN: null-ptr-deref in somewhere']), 'KASAN: null-ptr-deref in somewhere');
  t.is(crashTitle('KFENCE', ['BUG: KFENCE: out-of-bounds write in iopt_map_pages+0x2/0x4']), 'KFENCE: out-of-bounds write in iopt_map_pages');
  t.is(crashTitle('list-corruption', ['list_del corruption, ffff->next is NULL', 'RIP: 0010:__list_del_entry_valid_or_report+0x1/0x2', ...trace('iommufd_device_detach', 'iommufd_fops_release')]), 'list_del corruption in iommufd_device_detach');
  t.is(crashTitle('list-corruption', ['list_add corruption. next->prev should be prev', 'RIP: 0010:lkdtm_CORRUPT_LIST_ADD+0x1/0x2']), 'list_add corruption in lkdtm_CORRUPT_LIST_ADD');
  t.is(crashTitle('list-corruption', ['list_add corruption. next->prev should be prev']), 'list_add corruption');
});

test('an oops or GPF: its wording up to the first comma, then where', (t) => {
  t.is(crashTitle('oops', ['BUG: kernel NULL pointer dereference, address: 0000000000000008', 'RIP: 0010:vfio_df_open+0x3c/0x1a0']), 'BUG: kernel NULL pointer dereference in vfio_df_open');
  t.is(crashTitle('oops', ['general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP']), 'general protection fault');
  t.is(crashTitle('oops', ['Oops: Oops: 0000 [#1] SMP NOPTI', 'RIP: 0010:f+0x1/0x2']), 'Oops 0000 SMP NOPTI in f');
  t.is(crashTitle('oops', ['BUG: unable to handle page fault for address: ffffffffc0000000']), 'BUG: unable to handle page fault for address: ADDR');
  t.is(crashTitle('oops', []), '');
});

test('only a RIP line names the faulting function: frames of the call trace do not, and a RIP without a symbol is passed over', (t) => {
  t.is(crashTitle('BUG', ['BUG: sleeping function called from invalid context', ...trace('vfio_x')]), 'BUG: sleeping function called from invalid context');
  t.is(crashTitle('BUG', ['BUG: bad thing', 'RIP: 0010:0x0', 'RIP: 0010:vfio_y+0x1/0x2']), 'BUG: bad thing in vfio_y');
});

test('a report that is not a "cut here" banner is not retitled by a WARNING further down', (t) => {
  t.is(crashTitle('BUG', ['kernel BUG at drivers/a.c:1!', 'WARNING: CPU: 0 PID: 1 at b.c:2 g+0x1/0x2']), 'kernel BUG in drivers/a.c');
});

test('the call trace starts at its "Call Trace:" line, even as the first line, and skips every scheduler and wait frame', (t) => {
  t.is(crashTitle('hung-task', ['INFO: task probe:1 blocked for more than 5 seconds.', ' vfio_not_a_trace+0x1/0x2']), 'INFO: task hung in probe');
  t.is(crashTitle('rcu-stall', ['Call Trace:', ' iopt_unmap_iova+0x1/0x2']), 'INFO: rcu detected stall in iopt_unmap_iova');
  const waits = ['__switch_to_asm', '__schedule', 'schedule_preempt_disabled', 'io_schedule', 'io_schedule_timeout', 'schedule_timeout', '__wait_for_common', 'wait_for_completion_killable', 'do_wait_common'];
  t.is(crashTitle('hung-task', ['INFO: task probe:1 blocked for more than 5 seconds.', ...trace(...waits, 'vfio_unregister_group_dev')]), 'INFO: task hung in vfio_unregister_group_dev');
});

test('volatile numbers leave the title: PIDs, CPUs, report counters, addresses, line numbers', (t) => {
  t.is(crashTitle('BUG', ['BUG: scheduling while atomic: vfio-probe/0x00000002 CPU: 12 PID: 345 at lib/x.c:77']), 'BUG: scheduling while atomic: vfio-probe/ADDR CPU: N PID: N at lib/x.c');
  t.is(crashTitle('oops', ['Oops: 0000 [#12] SMP']), 'Oops 0000 SMP');
  t.is(crashTitle('BUG', ['BUG: a   b\tc']), 'BUG: a b c');
});

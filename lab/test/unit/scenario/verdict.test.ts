import { readFileSync } from 'node:fs';
import test from 'ava';
import { causeOf } from '../../../src/scenario/compare.ts';
import { judgeScenario, lastConsoleLine, killedBy, type Observed } from '../../../src/scenario/verdict.ts';

// Serial logs of the lab kernel under real faults, provoked with LKDTM in a real guest
// (echo EXCEPTION|WARNING|BUG > /sys/kernel/debug/provoke-crash/DIRECT).
const log = (name: string) => readFileSync(new URL(`../../fixtures/kernel-logs/${name}`, import.meta.url), 'utf8');
const clean = log('lkdtm-warning.serial.log').split('lkdtm: Performing direct entry')[0]!;

const base: Observed = { phase: 'watchdog', failures: [], dmesg: clean, serial: clean, expectedFaults: [], devices: { nvme: '0000:00:03.0' } };

test('a clean run with every expectation holding passes', (t) => {
  const v = judgeScenario(base);
  t.is(v.status, 'passed');
  t.deepEqual(v.findings, []);
});

test('a probe killed by an oops fails the scenario, naming the signal and the crash', (t) => {
  const serial = log('lkdtm-exception.serial.log');
  const v = judgeScenario({ ...base, phase: 'scenario', dmesg: serial, serial, error: { message: 'guest probe failed (exit 137): vfio-probe run …' } });
  t.is(v.status, 'failed');
  t.is(v.failures[0], 'probe killed by SIGKILL after an oops in the kernel: BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION');
  t.deepEqual(v.findings.map((f) => f.title), ['BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION']);
});

test('a WARN fails the scenario even when the probe survived and every expectation held', (t) => {
  const serial = log('lkdtm-warning.serial.log');
  const v = judgeScenario({ ...base, dmesg: serial, serial });
  t.is(v.status, 'failed');
  t.deepEqual(v.failures, ['kernel log: WARNING in lkdtm_WARNING (WARNING: CPU: 0 PID: 61 at ../src/drivers/misc/lkdtm/bugs.c:112 lkdtm_WARNING+0xc/0xf)']);
});

test('the kernel log is judged when dmesg could not be read: the serial console is enough', (t) => {
  const serial = log('lkdtm-bug.serial.log');
  const v = judgeScenario({ ...base, phase: 'scenario', dmesg: null, serial, qemuExit: 'QEMU exited (signal 9)', error: { message: 'exec: no answer within 120.0 s' } });
  t.is(v.status, 'failed');
  t.deepEqual(v.findings.map((f) => f.title), ['kernel BUG in lkdtm_BUG']);
  t.regex(v.failures[0]!, /^QEMU exited \(signal 9\) during scenario after kernel BUG in lkdtm_BUG$/);
});

test('a guest that stops answering, with a clean log, is errored with its last console line', (t) => {
  const v = judgeScenario({ ...base, phase: 'scenario', dmesg: null, error: { message: 'exec: no answer from the guest for 15 s' } });
  t.is(v.status, 'errored');
  t.is(v.error?.message, `exec: no answer from the guest for 15 s; last console line: ${lastConsoleLine(clean)}`);
});

test('a QEMU that exited with a clean log is errored and says how it exited', (t) => {
  const v = judgeScenario({ ...base, phase: 'setup', dmesg: null, qemuExit: 'QEMU exited (status 1)', error: { message: 'ssh: connection reset' } });
  t.is(v.status, 'errored');
  t.is(v.error?.message, 'QEMU exited (status 1) during setup');
});

test('an interrupted scenario has no verdict, whatever its log says', (t) => {
  const serial = log('lkdtm-warning.serial.log');
  t.is(judgeScenario({ ...base, dmesg: serial, serial, interrupted: true, error: { message: 'interrupted by SIGINT' } }).status, 'interrupted');
});

test('undeclared DMAR faults fail a finished scenario; declared ones do not', (t) => {
  const fault = `${clean}\nDMAR: DRHD: handling fault status reg 2\nDMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x200000 [fault reason 0x05] PTE Write access is not set\n`;
  t.is(judgeScenario({ ...base, dmesg: fault }).status, 'failed');
  t.is(judgeScenario({ ...base, dmesg: fault, expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }] }).status, 'passed');
});

test('exit codes of a shell map to the signal that killed the probe', (t) => {
  t.deepEqual(killedBy('guest probe failed (exit 137): x'), { who: 'probe', signal: 'SIGKILL' });
  t.deepEqual(killedBy('guest command failed (exit 139): x'), { who: 'guest command', signal: 'SIGSEGV' });
  t.is(killedBy('guest probe failed (exit 1): x'), undefined);
});

test('a kernel that oopses in an initcall and panics at boot: the oops leads, the panic follows', (t) => {
  // The serial log of the initcall-null-deref.mbox series' kernel, booted by validate in CI.
  const serial = log('initcall-null-deref.serial.log');
  const v = judgeScenario({ ...base, phase: 'boot', dmesg: null, serial, qemuExit: 'QEMU exited (status 0)', error: { message: 'the guest kernel panicked', phase: 'boot' } });
  t.is(v.status, 'failed');
  t.deepEqual(v.findings.map((f) => f.title), ['BUG: kernel NULL pointer dereference in vfio_init', 'Kernel panic: Attempted to kill init!']);
  t.is(causeOf({ status: v.status, findings: v.findings, error: v.error }), 'tip kernel does not boot: BUG: kernel NULL pointer dereference in vfio_init');
});

test('a guest that stops answering after the body cannot pass: failed, with the last console line', (t) => {
  // The body returned normally, but the log read after it got no answer (collectDmesg: null).
  const v = judgeScenario({ ...base, phase: 'watchdog', dmesg: null });
  t.is(v.status, 'failed');
  t.is(v.error?.phase, 'watchdog');
  t.is(v.failures[0], `guest stopped answering after the body: its kernel log could not be read; last console line: ${lastConsoleLine(clean)}`);
});

test('a QEMU that ends after the body cannot pass: failed, saying how it ended', (t) => {
  const v = judgeScenario({ ...base, phase: 'watchdog', dmesg: null, qemuExit: 'QEMU exited (signal 15)' });
  t.is(v.status, 'failed');
  t.regex(v.failures[0]!, /^QEMU exited \(signal 15\) after the body: its kernel log could not be read/);
});

test('expectations that failed before the body threw: failed, naming the error and the expectations', (t) => {
  const v = judgeScenario({ ...base, phase: 'scenario', failures: ['BIND: expected ok, got EINVAL'], error: { message: 'guest probe failed (exit 1): bad step' } });
  t.is(v.status, 'failed');
  t.deepEqual(v.failures, ['guest probe failed (exit 1): bad step', 'BIND: expected ok, got EINVAL']);
  t.is(v.error?.message, 'guest probe failed (exit 1): bad step');
});

const writeFault = (address: string) => `DMAR: DRHD: handling fault status reg 2\nDMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr ${address} [fault reason 0x05] PTE Write access is not set\n`;

test('a declared fault that never came fails the scenario, naming the IOVA, the direction and the device', (t) => {
  const v = judgeScenario({ ...base, expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }] });
  t.is(v.status, 'failed');
  t.deepEqual(v.failures, ['DMA was expected to fault at IOVA 0x200000 (write by nvme) and did not']);
});

test('a declared fault is matched by address and direction: a fault elsewhere neither satisfies it nor passes', (t) => {
  const v = judgeScenario({ ...base, dmesg: `${clean}\n${writeFault('0x300000')}`, expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }] });
  t.is(v.status, 'failed');
  t.deepEqual(v.failures, ['undeclared DMAR fault: write by 00:03.0 at 0x300000 (0x05 PTE Write access is not set)', 'DMA was expected to fault at IOVA 0x200000 (write by nvme) and did not']);
  const read = judgeScenario({ ...base, dmesg: `${clean}\n${writeFault('0x200000')}`, expectedFaults: [{ device: 'nvme', access: 'read', address: '0x200000' }] });
  t.true(read.failures.includes('DMA was expected to fault at IOVA 0x200000 (read by nvme) and did not'), JSON.stringify(read.failures));
  t.is(judgeScenario({ ...base, dmesg: `${clean}\n${writeFault('0x200000')}`, expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }] }).status, 'passed');
});

test('a declared fault whose record the rate limit may have dropped is not checked, and says so: errored, not passed', (t) => {
  // Two status lines, one record: the second fault's details were dropped by the kernel.
  const dmesg = `${clean}\n${writeFault('0x200000')}DMAR: DRHD: handling fault status reg 2\n`;
  const v = judgeScenario({ ...base, dmesg, expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }, { device: 'nvme', access: 'write', address: '0x201000' }] });
  t.is(v.status, 'errored');
  t.regex(v.error!.message, /^DMA was expected to fault at IOVA 0x201000 \(write by nvme\) and did not: 1 fault report\(s\) lost their details to the kernel's DMAR rate limit/);
});

test('a body that skipped itself with a clean window is skipped, with its reason', (t) => {
  const v = judgeScenario({ ...base, skipped: 'no shared group on this machine' });
  t.is(v.status, 'skipped');
  t.is(v.skipReason, 'no shared group on this machine');
  t.deepEqual(v.failures, []);
});

test('a WARN in a skipped scenario\'s window fails it: a skip is judged too', (t) => {
  const serial = log('lkdtm-warning.serial.log');
  const v = judgeScenario({ ...base, dmesg: serial, serial, skipped: 'needs two devices' });
  t.is(v.status, 'failed');
  t.is(v.skipReason, undefined);
  t.regex(v.failures[0]!, /^kernel log: WARNING in lkdtm_WARNING/);
  t.is(v.failures.at(-1), '(the scenario skipped itself: needs two devices)');
});

test('a skipped scenario whose guest stopped answering is failed, not skipped', (t) => {
  const v = judgeScenario({ ...base, dmesg: null, skipped: 'no KVM' });
  t.is(v.status, 'failed');
  t.regex(v.failures[0]!, /^guest stopped answering after the body/);
});

test('a skipped scenario does not owe its declared faults: it never did the DMA', (t) => {
  const v = judgeScenario({ ...base, skipped: 'no shared group', expectedFaults: [{ device: 'nvme', access: 'write', address: '0x1000' }] });
  t.is(v.status, 'skipped');
  t.deepEqual(v.dmar.missing, []);
});

test('every signal a shell reports as 128+N is named; 128 itself and 160 on are not signals', (t) => {
  const named: [number, string][] = [[1, 'SIGHUP'], [2, 'SIGINT'], [4, 'SIGILL'], [6, 'SIGABRT'], [7, 'SIGBUS'], [8, 'SIGFPE'], [9, 'SIGKILL'], [11, 'SIGSEGV'], [13, 'SIGPIPE'], [15, 'SIGTERM']];
  for (const [n, name] of named) t.deepEqual(killedBy(`guest probe failed (exit ${128 + n}): x`), { who: 'probe', signal: name }, `exit ${128 + n}`);
  t.deepEqual(killedBy('guest command failed (exit 159): x'), { who: 'guest command', signal: 'signal 31' });
  t.deepEqual(killedBy('guest probe failed (exit 131): x'), { who: 'probe', signal: 'signal 3' });
  t.is(killedBy('guest probe failed (exit 128): x'), undefined);
  t.is(killedBy('guest probe failed (exit 160): x'), undefined);
  t.is(killedBy('probe failed (exit 137)'), undefined);
});

test('the last console line: timestamps and blank lines dropped, spaces trimmed; none on an empty console', (t) => {
  t.is(lastConsoleLine('[    1.000000] first\n[    2.500000]   the last one  \n\n   \n'), 'the last one');
  t.is(lastConsoleLine('plain\nline two'), 'line two');
  t.is(lastConsoleLine('\n \n'), undefined);
});

test('a command killed with a clean log names the signal only; an oops before it is named with its article', (t) => {
  const v = judgeScenario({ ...base, phase: 'scenario', error: { message: 'guest command failed (exit 143): x' } });
  t.is(v.status, 'errored');
  t.is(v.error?.message, 'guest command killed by SIGTERM');
  const serial = log('lkdtm-warning.serial.log');
  const w = judgeScenario({ ...base, phase: 'scenario', dmesg: serial, serial, error: { message: 'guest probe failed (exit 137): x' } });
  t.is(w.failures[0], 'probe killed by SIGKILL after a WARN in the kernel: WARNING in lkdtm_WARNING');
});

test('"no answer" errors carry the last console line once, and other errors are kept as they are', (t) => {
  const serial = `${clean}\n[    9.000000] the guest's last words\n`;
  for (const message of ['exec: no answer from the guest for 13 s', 'ssh: the guest did not answer', 'scenario x: within 12.5 s']) {
    const v = judgeScenario({ ...base, phase: 'scenario', serial, error: { message } });
    t.is(v.error?.message, `${message}; last console line: the guest's last words`);
  }
  const already = 'exec: no answer from the guest for 13 s; last console line: before';
  t.is(judgeScenario({ ...base, phase: 'scenario', serial, error: { message: already } }).error?.message, already);
  t.is(judgeScenario({ ...base, phase: 'scenario', serial, error: { message: 'within a s' } }).error?.message, 'within a s');
  t.is(judgeScenario({ ...base, phase: 'setup', serial, error: { message: 'bind failed' } }).error?.message, 'bind failed');
  t.is(judgeScenario({ ...base, phase: 'setup', serial: '', error: { message: 'exec: no answer' } }).error?.message, 'exec: no answer');
});

test('the error\'s phase is its own when it names one, else the phase the scenario was in', (t) => {
  t.is(judgeScenario({ ...base, phase: 'setup', error: { message: 'x', phase: 'boot' } }).error?.phase, 'boot');
  t.is(judgeScenario({ ...base, phase: 'setup', error: { message: 'x' } }).error?.phase, 'setup');
});

test('an interrupted scenario keeps its failures, and says there is no verdict', (t) => {
  const v = judgeScenario({ ...base, phase: 'scenario', interrupted: true, failures: ['BIND: expected EPERM, got ok'] });
  t.deepEqual(v.failures, ['BIND: expected EPERM, got ok']);
  t.deepEqual(v.error, { phase: 'scenario', message: 'interrupted before the scenario finished: no verdict' });
});

test('declared faults are reported as declared, reason "*" when none is given', (t) => {
  const dmesg = `${clean}\n${writeFault('0x200000')}`;
  const v = judgeScenario({ ...base, dmesg, expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }, { device: 'nvme', access: 'write', address: '0x200000', reason: '0x05' }] });
  t.deepEqual(v.dmar.expected, [{ device: 'nvme', access: 'write', address: '0x200000', reason: '*' }, { device: 'nvme', access: 'write', address: '0x200000', reason: '0x05' }]);
  t.is(v.status, 'passed');
});

test('fault reports whose details were all rate-limited fail a scenario that declared none; one that declared faults is judged on those', (t) => {
  const statusOnly = `${clean}\nDMAR: DRHD: handling fault status reg 2\n`;
  const v = judgeScenario({ ...base, dmesg: statusOnly });
  t.is(v.status, 'failed');
  t.deepEqual(v.failures, ['the IOMMU reported 1 fault(s) (details rate-limited)']);
  // With a record for every report, nothing extra is said.
  t.deepEqual(judgeScenario({ ...base, dmesg: `${clean}\n${writeFault('0x200000')}`, expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }] }).failures, []);
  // With a declared fault and its record dropped, the verdict is the uncheckable one, not this.
  const w = judgeScenario({ ...base, dmesg: statusOnly, expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }] });
  t.false(w.failures.some((f) => /details rate-limited/.test(f)));
});

test('an errored scenario reports only its own failed expectations, not the lab\'s words for the error', (t) => {
  const v = judgeScenario({ ...base, phase: 'scenario', error: { message: 'exec: no answer' } });
  t.is(v.status, 'errored');
  t.deepEqual(v.failures, []);
});

test('a skipped scenario that also failed an expectation is failed, with the skip noted last', (t) => {
  const v = judgeScenario({ ...base, phase: 'watchdog', skipped: 'no shared group', failures: ['OPEN: expected ok, got EBUSY'] });
  t.is(v.status, 'failed');
  t.deepEqual(v.failures, ['OPEN: expected ok, got EBUSY', '(the scenario skipped itself: no shared group)']);
  t.is(v.skipReason, undefined);
});

test('a finding seen on both dmesg and the console counts once, and one only on the console still counts', (t) => {
  const serial = log('lkdtm-warning.serial.log');
  t.is(judgeScenario({ ...base, dmesg: serial, serial }).findings.length, 1);
  t.is(judgeScenario({ ...base, dmesg: clean, serial }).findings.length, 1);
});

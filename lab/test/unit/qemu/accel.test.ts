import test from 'ava';
import { cpuFlags, decideAccel, type AccelFacts } from '../../../src/qemu/accel.ts';
import { UsageError } from '../../../src/util/errors.ts';

// Shaped like real /proc/cpuinfo: two processors, the flags line of each.
const cpuinfo = (flags: string) =>
  [0, 1].map((n) => `processor\t: ${n}\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu vme de pse tsc msr pae ${flags} lm constant_tsc hypervisor\nbogomips\t: 4899.99\n`).join('\n');

const facts = (over: Partial<AccelFacts>): AccelFacts => ({ cpuinfo: cpuinfo('sse2'), kvmOpenable: true, env: {}, ...over });

test('a CPU without vmx or svm means TCG at once, even if /dev/kvm opens', (t) => {
  const d = decideAccel(facts({ cpuinfo: cpuinfo('sse2 avx2 vmmcall'), kvmOpenable: true }));
  t.deepEqual(d, { kind: 'decided', accel: 'tcg', reason: 'the CPU has no vmx/svm flag in /proc/cpuinfo (LAB_ACCEL=kvm overrides)' });
});

test('a /dev/kvm that does not open means TCG at once', (t) => {
  const d = decideAccel(facts({ cpuinfo: cpuinfo('vmx sse2'), kvmOpenable: false }));
  t.is(d.kind, 'decided');
  t.is(d.kind === 'decided' && d.accel, 'tcg');
  t.regex(d.reason, /\/dev\/kvm cannot be opened/);
});

test('vmx or svm and an openable /dev/kvm ask for a smoke boot', (t) => {
  t.deepEqual(decideAccel(facts({ cpuinfo: cpuinfo('vmx sse2') })), { kind: 'smoke', reason: 'the CPU has vmx and /dev/kvm opens' });
  t.deepEqual(decideAccel(facts({ cpuinfo: cpuinfo('svm sse2') })), { kind: 'smoke', reason: 'the CPU has svm and /dev/kvm opens' });
});

test('flags that merely contain vmx/svm as a substring do not count', (t) => {
  t.is(decideAccel(facts({ cpuinfo: cpuinfo('vmxx svm_lock nosvm') })).kind, 'decided');
});

test('unreadable cpuinfo is not evidence against KVM: the smoke boot decides', (t) => {
  t.deepEqual(decideAccel(facts({ cpuinfo: '' })), { kind: 'smoke', reason: '/dev/kvm opens (no CPU flags to read)' });
  t.is(decideAccel(facts({ cpuinfo: '', kvmOpenable: false })).kind, 'decided');
});

test('LAB_ACCEL forces either accelerator over the facts, and rejects anything else', (t) => {
  t.deepEqual(decideAccel(facts({ cpuinfo: cpuinfo('sse2'), env: { LAB_ACCEL: 'kvm' } })), { kind: 'decided', accel: 'kvm', reason: 'forced by LAB_ACCEL' });
  t.deepEqual(decideAccel(facts({ cpuinfo: cpuinfo('vmx'), env: { LAB_ACCEL: ' TCG ' } })), { kind: 'decided', accel: 'tcg', reason: 'forced by LAB_ACCEL' });
  const error = t.throws(() => decideAccel(facts({ env: { LAB_ACCEL: 'hvf' } })), { instanceOf: UsageError });
  t.regex(error!.message, /LAB_ACCEL=hvf: expected kvm or tcg/);
  t.is(decideAccel(facts({ env: { LAB_ACCEL: '' } })).kind, 'decided');
});

test('cpuFlags reads the first flags line', (t) => {
  t.deepEqual([...cpuFlags(cpuinfo('vmx'))!].slice(-4), ['vmx', 'lm', 'constant_tsc', 'hypervisor']);
  t.is(cpuFlags('processor: 0\n'), null);
});

// --qemu 7.2|10: each target's command line (binary, environment, -L, firmware, aw-bits), the
// option's parsing, and every record that tells one run's results from another's naming the QEMU.
import test from 'ava';
import { Command, CommanderError } from 'commander';
import { baselineKey } from '../../../src/cli/baseline-cache.ts';
import { withQemuOption } from '../../../src/cli/context.ts';
import { reproduceArgs } from '../../../src/cli/reproduce.ts';
import { qemu10Layout } from '../../../src/image/qemu10.ts';
import { commandLine, iommuArgs, qemuArgv, qemuEnvFor, type LaunchPaths } from '../../../src/qemu/argv.ts';
import { machineProfile } from '../../../src/qemu/profile.ts';
import { awBitsDefaultOf, parseQemuVersion, qemu10Target, systemQemu, type QemuTarget } from '../../../src/qemu/target.ts';
import { describeRun } from '../../../src/report/format.ts';
import { renderJunit } from '../../../src/report/junit.ts';
import { mergeReports } from '../../../src/report/merge.ts';
import { identityDifferences, recordedIdentity, type RunIdentity } from '../../../src/util/identity-check.ts';
import { results, run } from '../report/report-fixture.ts';

const paths: LaunchPaths = { kernel: '/k/vmlinux', initrd: '/r/initrd.img', serialLog: '/r/serial.log', pidFile: '/r/qemu.pid', qmpSocket: '/r/qmp.sock', sshPort: 40022, name: 'lab-test' };
const v72 = 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)';
const v10 = 'QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)';
const root = '/c/qemu10/9e02/root';
const system: QemuTarget = { ...systemQemu, version: v72, awBitsDefault: awBitsDefaultOf(v72) };
const ten: QemuTarget = { ...qemu10Target(qemu10Layout(root)), version: v10, awBitsDefault: awBitsDefaultOf(v10) };
const intelIommu = (argv: string[]) => argv[argv.indexOf('-device', argv.findIndex((a) => a.startsWith('intel-iommu')) - 1) + 1];

test('7.2: the system binary, its own firmware, no -L, no environment, aw-bits left to its default of 39', (t) => {
  const profile = machineProfile('default', { qemu: system });
  const argv = qemuArgv(profile, 'tcg', paths);
  t.is(argv[0], 'qemu-system-x86_64');
  t.false(argv.includes('-L'));
  t.is(argv[argv.indexOf('-bios') + 1], '/usr/share/qemu/qboot.rom');
  t.is(intelIommu(argv), 'intel-iommu,intremap=on');
  t.deepEqual(qemuEnvFor(profile), {});
  // Naming the resolved system QEMU changes nothing against the unresolved default.
  t.deepEqual(argv, qemuArgv(machineProfile(), 'tcg', paths));
});

test('10: the unpacked binary, -L right after it, its own qboot, QEMU_MODULE_DIR, and aw-bits=39 stated', (t) => {
  const profile = machineProfile('default', { qemu: ten });
  const argv = qemuArgv(profile, 'tcg', paths);
  t.is(argv[0], `${root}/usr/bin/qemu-system-x86_64`);
  t.deepEqual(argv.slice(1, 3), ['-L', `${root}/usr/share/qemu`]);
  t.is(argv[argv.indexOf('-bios') + 1], `${root}/usr/share/qemu/qboot.rom`);
  t.is(intelIommu(argv), 'intel-iommu,intremap=on,aw-bits=39');
  t.deepEqual(qemuEnvFor(profile), { QEMU_MODULE_DIR: `${root}/usr/lib/x86_64-linux-gnu/qemu` });
  t.is(commandLine(argv, qemuEnvFor(profile)).split(' -L ')[0], `QEMU_MODULE_DIR=${root}/usr/lib/x86_64-linux-gnu/qemu ${root}/usr/bin/qemu-system-x86_64`);
  // Past the binary and -L, both targets build the same machine.
  const rest = (a: string[]) => a.filter((x) => !x.includes('qemu-system') && !x.includes('qboot.rom') && x !== '-L' && !x.endsWith('/usr/share/qemu')).map((x) => x.replace(',aw-bits=39', ''));
  t.deepEqual(rest(argv), rest(qemuArgv(machineProfile(), 'tcg', paths)));
});

test('aw-bits is stated whenever the QEMU would not build the profile width by itself', (t) => {
  t.is(awBitsDefaultOf(v72), 39);
  t.is(awBitsDefaultOf('QEMU emulator version 9.1.2'), 39);
  t.is(awBitsDefaultOf('QEMU emulator version 9.2.0'), 48);
  t.is(awBitsDefaultOf(v10), 48);
  t.is(awBitsDefaultOf('qemu-system-x86_64: not a version'), null);
  t.deepEqual(parseQemuVersion(v10), [10, 0]);
  const withIommu = (qemu: QemuTarget, awBits?: 39 | 48) => iommuArgs(machineProfile('default', { qemu, ...(awBits ? { iommu: { intremap: true, cachingMode: false, snoopControl: false, awBits } } : {}) }));
  // A system QEMU of 9.2 or later, or one whose version is unknown, gets the width stated too.
  t.deepEqual(withIommu({ ...systemQemu, version: 'QEMU emulator version 9.2.0', awBitsDefault: 48 }), ['-device', 'intel-iommu,intremap=on,aw-bits=39']);
  t.deepEqual(withIommu({ ...systemQemu, awBitsDefault: null }), ['-device', 'intel-iommu,intremap=on,aw-bits=39']);
  // A profile asking for 48 gets it on both; on 10 that is its default.
  t.deepEqual(withIommu(system, 48), ['-device', 'intel-iommu,intremap=on,aw-bits=48']);
  t.deepEqual(withIommu(ten, 48), ['-device', 'intel-iommu,intremap=on']);
  t.is(machineProfile('caching-mode').iommu.awBits, 39);
  t.throws(() => machineProfile('default', { iommu: { intremap: true, cachingMode: false, snoopControl: false, awBits: 40 as 39 } }));
});

const parse = (args: string[]) => {
  const cmd = withQemuOption(new Command('run')).exitOverride().configureOutput({ writeErr: () => {} });
  cmd.parse(args, { from: 'user' });
  return cmd.opts<{ qemu: string }>().qemu;
};

test('--qemu: 7.2 by default, 10 when asked, anything else refused naming the choices', (t) => {
  t.is(parse([]), '7.2');
  t.is(parse(['--qemu', '10']), '10');
  t.is(parse(['--qemu=7.2']), '7.2');
  const error = t.throws(() => parse(['--qemu', '9.2']), { instanceOf: CommanderError });
  t.is(error?.code, 'commander.invalidArgument');
  t.regex(error?.message ?? '', /Allowed choices are 7\.2, 10/);
});

const identity = (qemuTarget: string | undefined, qemu: string): RunIdentity =>
  recordedIdentity({ labCommit: '0123456789abcdef0123456789abcdef01234567', kernel: { base: 'linux-source-6.12.tar.xz sha256:ab12' }, kernels: [{ flavour: 'lab', key: 'aaaa' }], series: [], fragments: [], qemu, ...(qemuTarget ? { qemuTarget } : {}) }) as RunIdentity;

test('a run on one QEMU is not resumed on the other, nor on another version of it', (t) => {
  const on72 = identity('7.2', v72);
  const on10 = identity('10', v10);
  t.deepEqual(identityDifferences(on72, on72), []);
  t.deepEqual(identityDifferences(on72, on10), ['QEMU: --qemu 7.2 then, --qemu 10 now']);
  t.deepEqual(identityDifferences(on10, on72), ['QEMU: --qemu 10 then, --qemu 7.2 now']);
  t.deepEqual(identityDifferences(on72, identity('7.2', 'QEMU emulator version 7.2.23')), [`QEMU version: ${v72} then, QEMU emulator version 7.2.23 now`]);
  // identity.json from before --qemu: the system QEMU it recorded, so 7.2.
  const old = identity(undefined, v72);
  t.deepEqual(old.qemu, { target: '7.2', version: v72 });
  t.deepEqual(identityDifferences(old, on72), []);
  t.deepEqual(identityDifferences(old, on10), ['QEMU: --qemu 7.2 then, --qemu 10 now']);
  // A version that cannot be told now (QEMU 10 not cached) still compares the target.
  t.deepEqual(identityDifferences(on10, { ...on10, qemu: { target: '10', version: null } }), []);
});

test('the baseline cache keeps 7.2 and 10 apart and remembers nothing for an unknown QEMU', (t) => {
  const commit = '0123456789abcdef0123456789abcdef01234567';
  const k72 = baselineKey('kkkk', commit, ['a', 'b'], v72);
  const k10 = baselineKey('kkkk', commit, ['a', 'b'], v10);
  t.truthy(k72);
  t.truthy(k10);
  t.not(k72, k10);
  t.is(baselineKey('kkkk', commit, ['b', 'a'], v72), k72);
  t.is(baselineKey('kkkk', commit, ['a', 'b'], null), null);
});

test('reproduce.sh repeats the QEMU target', (t) => {
  const flags = { series: [], config: [], baseConfig: 'tinyconfig', reporter: [] };
  t.deepEqual(reproduceArgs(['cdev/'], { ...flags, qemu: '10' }, '/cwd'), ['run', 'cdev/', '--qemu', '10']);
  t.deepEqual(reproduceArgs([], { ...flags, qemu: '7.2' }, '/cwd'), ['run', '--qemu', '7.2']);
});

test('the RUN line names the QEMU; shards of two QEMUs are not merged into one run', (t) => {
  t.regex(describeRun({ ...run, qemu: { target: '10', version: v10 } }), /, accel kvm, QEMU 10\.0\.2$/);
  t.regex(describeRun({ ...run, qemu: { target: '10', version: 'unknown' } }), /, QEMU 10$/);
  t.notRegex(describeRun(run), /QEMU/);
  const report = (runId: string, version: string) => ({ schemaVersion: 1, run: { ...run, runId, qemu: { target: '?', version } }, results: [] });
  t.throws(() => mergeReports([report('a', v72), report('b', v10)], '/m'), { message: /different QEMUs/ });
  t.is(mergeReports([report('a', v10), report('b', v10)], '/m').run.qemu?.version, v10);
});

test('JUnit names the QEMU among the run properties', (t) => {
  const summary = { passed: 0, failed: 0, errored: 0, skipped: 0, interrupted: 0, ms: 0 };
  t.regex(renderJunit({ run: { ...run, qemu: { target: '10', version: v10 } }, summary, results }), /<property name="qemu" value="QEMU emulator version 10\.0\.2 \(Debian [^"]+\)"\/>/);
  t.notRegex(renderJunit({ run, summary, results }), /name="qemu"/);
});

import test from 'ava';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildProgress, etaMs, formatDuration, formatStatus, Heartbeat } from '../../../src/util/build-progress.ts';
import { countObjects, isObjectStep, kbuildStep } from '../../../src/kernel/make.ts';
import { configKey, previousBuild, recordBuild } from '../../../src/kernel/build-counts.ts';
import { buildTimeout, buildTimeoutMs, claimWorkDir, sweepDeadWorkDirs } from '../../../src/kernel/build-guard.ts';
import { TimeoutError, UsageError } from '../../../src/util/errors.ts';
import { ownerTag, processStartTime } from '../../../src/util/owner.ts';
import type { PhaseHandle, Progress } from '../../../src/util/progress.ts';

// Lines as kbuild prints them (6.12, non-verbose), with the noise that surrounds them.
const kbuildOutput = [
  '  HOSTCC  scripts/basic/fixdep',
  '  SYSHDR  arch/x86/include/generated/uapi/asm/unistd_32.h',
  '  CC      kernel/bounds.s',
  '  UPD     include/generated/bounds.h',
  '  CC      kernel/fork.o',
  'kernel/fork.c: In function ‘copy_process’:',
  'kernel/fork.c:12:5: warning: unused variable ‘x’ [-Wunused-variable]',
  '   12 |     int x;',
  '      |         ^',
  '  AS      arch/x86/entry/entry_64.o',
  '  AR      kernel/built-in.a',
  '  CC [M]  drivers/vfio/vfio.o',
  '  LD      vmlinux.o',
  '  HOSTLD  scripts/kconfig/conf',
  '  HDRINST usr/include/linux/iommufd.h',
  '  GEN     Makefile',
  "make[2]: Leaving directory '/w/build'",
  '  Kernel: arch/x86/boot/bzImage is ready  (#1)',
].join('\n');

test('kbuild short-log lines give their tag and target; other lines none', (t) => {
  t.deepEqual(kbuildStep('  CC      kernel/fork.o'), { tag: 'CC', target: 'kernel/fork.o' });
  t.deepEqual(kbuildStep('  CC [M]  drivers/vfio/vfio.o'), { tag: 'CC', target: 'drivers/vfio/vfio.o' });
  t.is(kbuildStep('   12 |     int x;'), null);
  t.is(kbuildStep("make[2]: Leaving directory '/w/build'"), null);
  t.false(isObjectStep(kbuildStep('  HDRINST usr/include/linux/iommufd.h')));
});

test('the object count is the CC/AS/LD/AR/HOSTCC/HOSTLD lines, nothing else', (t) => {
  // HOSTCC, CC bounds.s, CC fork.o, AS, AR, CC [M], LD, HOSTLD.
  t.is(countObjects(kbuildOutput), 8);
  t.is(countObjects(''), 0);
});

test('ETA from the rate so far; before the first object from last time; none past the count', (t) => {
  t.is(etaMs(100, 400, 60_000), 180_000);
  // With history: mostly last time's duration at first, mostly the rate near the end.
  t.is(etaMs(20, 1881, 25_000, 325_000), Math.round((1 - 20 / 1881) * 300_000 + (20 / 1881) * ((25_000 * 1861) / 20)));
  t.is(etaMs(1800, 1881, 300_000, 325_000), Math.round((81 / 1881) * 25_000 + (1800 / 1881) * ((300_000 * 81) / 1800)));
  t.is(etaMs(1881, 1881, 300_000, 325_000), 0);
  t.is(etaMs(400, 400, 60_000), 0);
  t.is(etaMs(0, 400, 10_000, 250_000), 240_000);
  t.is(etaMs(0, 400, 300_000, 250_000), 0);
  t.is(etaMs(0, 400, 10_000), null);
  t.is(etaMs(401, 400, 60_000), null);
  t.is(etaMs(50, undefined, 60_000), null);
});

test('durations read as a person would say them', (t) => {
  t.is(formatDuration(0), '0s');
  t.is(formatDuration(59_400), '59s');
  t.is(formatDuration(250_000), '4m10s');
  t.is(formatDuration(3_720_000), '1h02m');
});

test('the status line: done of expected, percent, elapsed, ETA; "~" for an estimate', (t) => {
  t.is(formatStatus({ unit: 'objects', done: 620, expected: { count: 1870, estimated: false }, elapsedMs: 100_000 }), '620/1870 objects (33%), 1m40s elapsed, ETA 3m22s');
  t.is(formatStatus({ unit: 'objects', done: 620, expected: { count: 1870, estimated: true }, elapsedMs: 100_000 }), '620/~1870 objects (33%), 1m40s elapsed, ETA 3m22s');
  t.is(formatStatus({ unit: 'objects', done: 12, elapsedMs: 5_000 }), '12 objects (no previous build to compare), 5s elapsed');
  t.is(formatStatus({ unit: 'objects', done: 1900, expected: { count: 1870, estimated: false }, elapsedMs: 5_000 }), '1900/1870 objects (100%), 5s elapsed, more than last time');
});

test('the heartbeat is due once per interval, first one interval after the start', (t) => {
  const h = new Heartbeat(30_000, 1_000);
  t.false(h.due(1_000));
  t.false(h.due(30_999));
  t.true(h.due(31_000));
  t.false(h.due(31_001));
  t.false(h.due(60_999));
  t.true(h.due(61_000));
  // A long silence gives one line, not a burst of the missed ones.
  t.true(h.due(200_000));
  t.false(h.due(200_500));
});

function recorder() {
  const info: string[] = [];
  const updates: string[] = [];
  const progress: Progress = { phase: () => phase, info: (m) => info.push(m) };
  const phase: PhaseHandle = { update: (d) => updates.push(d), done: () => {}, fail: () => {} };
  return { info, updates, progress, phase };
}

test('in CI a plain line every 30 s carries the count and the ETA; nothing between', (t) => {
  let now = 0;
  const r = recorder();
  const meter = new BuildProgress(r.progress, r.phase, 'kernel abc: build', { interactive: false, now: () => now });
  t.teardown(() => meter.stop());
  meter.begin('make', { unit: 'objects', expected: { count: 1000, estimated: false } });
  for (let i = 0; i < 250; i++) meter.advance(`CC f${i}.o`);
  now = 29_000;
  meter.tick();
  t.deepEqual(r.info, []);
  now = 30_000;
  meter.tick();
  meter.tick();
  t.deepEqual(r.info, ['kernel abc: build — make: 250/1000 objects (25%), 30s elapsed, ETA 1m30s']);
  now = 60_000;
  for (let i = 0; i < 250; i++) meter.advance();
  meter.tick();
  t.is(r.info[1], 'kernel abc: build — make: 500/1000 objects (50%), 1m00s elapsed, ETA 1m00s');
  t.is(meter.done, 500);
  t.deepEqual(r.updates, []);
});

test('no heartbeat after an interrupt', (t) => {
  let now = 0;
  const r = recorder();
  const interrupt = new AbortController();
  const meter = new BuildProgress(r.progress, r.phase, 'kernel abc: build', { interactive: false, now: () => now, signal: interrupt.signal });
  meter.begin('make', { unit: 'objects' });
  interrupt.abort();
  now = 31_000;
  meter.tick();
  t.deepEqual(r.info, []);
});

test('on a terminal the live detail carries the count, ETA and the current step; no plain lines', (t) => {
  let now = 0;
  const r = recorder();
  const meter = new BuildProgress(r.progress, r.phase, 'kernel abc: build', { interactive: true, now: () => now });
  t.teardown(() => meter.stop());
  meter.detail('copying base tree');
  t.is(r.updates.at(-1), 'copying base tree');
  meter.begin('selftests', { unit: 'programs', expected: { count: 2, estimated: false }, previousMs: 40_000 });
  now = 10_000;
  meter.detail('gcc iommufd.c');
  t.is(r.updates.at(-1), 'selftests: 0/2 programs (0%), 10s elapsed, ETA 30s · gcc iommufd.c');
  now = 31_000;
  meter.tick();
  t.deepEqual(r.info, []);
});

test('counts are found for the same config, then the flavour as an estimate', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'lab-counts-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const a = configKey({ baseIdentity: 'tarball:1', baseConfig: 'tinyconfig', fragments: [{ text: 'CONFIG_A=y\n' }] });
  const b = configKey({ baseIdentity: 'tarball:1', baseConfig: 'tinyconfig', fragments: [{ text: 'CONFIG_A=y\n' }, { text: 'CONFIG_LOCALVERSION="-x"\n' }] });
  t.not(a, b);
  t.is(await previousBuild(cache, a, 'lab'), null);
  await recordBuild(cache, a, 'lab', { objects: 1870, makeMs: 280_000, key: 'k1', recordedAt: 'now' });
  t.deepEqual((await previousBuild(cache, a, 'lab'))?.objects, { count: 1870, estimated: false });
  t.deepEqual((await previousBuild(cache, b, 'lab'))?.objects, { count: 1870, estimated: true });
  t.is(await previousBuild(cache, b, 'selftest'), null);
  t.deepEqual((await readdir(join(cache, 'kernels/counts'))).sort(), [`config-${a}.json`, 'flavour-lab.json']);
});

test('the build deadline: 60 min unless LAB_BUILD_TIMEOUT_MIN says otherwise; nonsense refused', (t) => {
  t.is(buildTimeoutMs({}), 3_600_000);
  t.is(buildTimeoutMs({ LAB_BUILD_TIMEOUT_MIN: '90' }), 5_400_000);
  t.is(buildTimeoutMs({ LAB_BUILD_TIMEOUT_MIN: '0.5' }), 30_000);
  t.throws(() => buildTimeoutMs({ LAB_BUILD_TIMEOUT_MIN: '0' }), { instanceOf: UsageError });
  t.throws(() => buildTimeoutMs({ LAB_BUILD_TIMEOUT_MIN: 'soon' }), { instanceOf: UsageError, message: /LAB_BUILD_TIMEOUT_MIN=soon/ });
});

test('a build past its deadline names the step and the log', (t) => {
  const e = buildTimeout('make vmlinux bzImage', 30_000, '/c/logs/build-k.log');
  t.true(e instanceof TimeoutError);
  t.is(e.phase, 'kernel build (make vmlinux bzImage)');
  t.regex(e.message, /^kernel build \(make vmlinux bzImage\): .*build log: \/c\/logs\/build-k\.log$/);
  t.regex(e.hint!, /LAB_BUILD_TIMEOUT_MIN \(now 0\.5 min\)/);
});

test('work dirs of dead builds are swept; live, own and unowned ones stay', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'lab-work-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  for (const name of ['dead', 'reused', 'live', 'mine', 'unowned']) await mkdir(join(root, name, 'src'), { recursive: true });
  await claimWorkDir(join(root, 'mine'));
  // A pid that is certainly gone (above the kernel's pid_max), and a live pid whose start time
  // is not its own: the process that wrote it is gone too, its pid reused.
  await writeFile(join(root, 'dead', '.lab-owner'), '4194399.1234\n');
  await writeFile(join(root, 'reused', '.lab-owner'), `${process.ppid}.1\n`);
  await writeFile(join(root, 'live', '.lab-owner'), `${ownerTag({ pid: process.ppid, startTime: processStartTime(process.ppid)! })}\n`);
  t.deepEqual((await sweepDeadWorkDirs(root)).sort(), ['dead', 'reused']);
  t.deepEqual((await readdir(root)).sort(), ['live', 'mine', 'unowned']);
  t.deepEqual(await sweepDeadWorkDirs(join(root, 'nowhere')), []);
});

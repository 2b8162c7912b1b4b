// Nothing left behind, nothing stale: the lab killed with SIGKILL mid-scenario leaves no QEMU
// (within 2 s, looked up in /proc, not in the lab's registry); SIGINT and SIGTERM end a run with
// 130 and 143 and reports that say what was interrupted and what never ran; a second Ctrl-C
// still tears down; a full disk as --out is exit 2 naming the path with nothing half-written in
// the cache, and a disk that fills mid-run keeps the results that finished for --resume; `--resume` refuses a directory run with other inputs. Each row drives ./labw as a
// user would, against a real guest.
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa, type ResultPromise } from 'execa';
import { listVms } from '../../src/qemu/registry.ts';
import { sleep } from '../../src/util/deadline.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { cache } from './harness.ts';

const labw = join(repoRoot, 'labw');
const env = { LAB_NO_BOOTSTRAP: '1', CI: '1' };
// Two scenarios, so an interrupt during the first leaves one that never started. The first (in
// plan order) has a body of seconds, and the signal comes as soon as it begins. The second is on
// another machine, so its guest is booting ahead (or up) when the signal comes: it must go too.
const TWO = ['cdev/driver-unbind-waits-for-open-fd', 'dma/unmapped-iova-faults@pt'];

/** QEMU processes (not zombies) started by the lab process labPid: their -name is lab-PID-…. */
async function qemusOf(labPid: number): Promise<number[]> {
  const out: number[] = [];
  for (const p of await processes()) {
    const cmdline = await readFile(`/proc/${p.pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('qemu-system') && cmdline.includes(`lab-${labPid}-`)) out.push(p.pid);
  }
  return out;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** ./labw with args; `./labw` execs node, so the child's pid is the lab's. */
function lab(args: string[]): ResultPromise<{ reject: false; all: true }> {
  return execa(labw, args, { env, reject: false, all: true, cwd: repoRoot });
}

/** Waits until the lab has a guest that reached its ready marker (the scenario body runs). */
async function midScenario(child: { pid?: number }, dir: string): Promise<void> {
  await until('a QEMU of the lab', async () => (await qemusOf(child.pid!)).length > 0, 300_000);
  await until('the guest to be ready', () => serials(dir).some((p) => readFileSync(p, 'utf8').includes('IOMMUFD-LAB-READY')), 120_000);
  await sleep(1000);
}

/** The console logs under dir so far ([] while a directory in it comes or goes mid-walk: the caller polls). */
function serials(dir: string): string[] {
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.endsWith('serial.log')).map((p) => join(dir, p));
  } catch {
    return [];
  }
}

function cacheLeftovers(): string[] {
  return ['kernels', 'images'].flatMap((s) => (existsSync(join(cache, s)) ? readdirSync(join(cache, s)).filter((n) => n.startsWith('.tmp-')).map((n) => `${s}/${n}`) : []));
}

test.serial('SIGKILL of the lab mid-scenario: within 2 s no QEMU of it remains; the next start drops its record', async (t) => {
  const dir = scratch(t, 'lab-hyg-kill-');
  const child = lab(['exec', '--out', dir, '--', 'sleep', '30']);
  await midScenario(child, dir);
  const before = await qemusOf(child.pid!);
  t.is(before.length, 1);
  child.kill('SIGKILL');
  await child;
  const t0 = Date.now();
  await until('the QEMU to die with its lab', async () => (await qemusOf(child.pid!)).length === 0, 2000).catch(() => undefined);
  const ms = Date.now() - t0;
  t.deepEqual(await qemusOf(child.pid!), [], `QEMU ${before.join(', ')} outlived the SIGKILLed lab by ${ms} ms`);
  t.log(`QEMU gone ${ms} ms after the lab's SIGKILL`);
  // The record is the dead lab's; any next start of the lab sweeps it (it was not a kept guest).
  t.true((await listVms(cache)).some((v) => v.owner?.pid === child.pid), 'the SIGKILLed lab could not remove its record');
  t.is((await lab(['list', 'cdev/parked-fd'])).exitCode, 0);
  t.false((await listVms(cache)).some((v) => v.owner?.pid === child.pid), 'the dead lab\'s registry record is still listed');
});

/** A fresh tmpfs of this size (a real disk that fills), unmounted and removed after the test. */
function smallDisk(t: import('ava').ExecutionContext, prefix: string, size: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  execSync(`mount -t tmpfs -o size=${size} tmpfs ${dir}`);
  t.teardown(() => {
    execSync(`umount ${dir}`);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A fresh directory under /tmp, removed after the test (guests leave tens of MB in it). */
function scratch(t: import('ava').ExecutionContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function interruptedRun(t: import('ava').ExecutionContext, signals: NodeJS.Signals[], { stopAGuest = false } = {}) {
  const dir = scratch(t, 'lab-hyg-int-');
  // One guest at a time, so the second scenario is still waiting when the signal comes.
  const child = lab(['run', ...TWO, '--jobs', '1', '--out', dir, '--reporter', 'tap']);
  // The runner writes each scenario's begin marker into the kernel log (and so the console) of
  // a guest it may hand on: once the first one's is there, its body is running.
  await until('the first scenario to begin', () => serials(dir).some((p) => readFileSync(p, 'utf8').includes(`IOMMUFD-LAB-BEGIN ${TWO[0]}#`)), 300_000);
  t.is((await qemusOf(child.pid!)).length, 2, 'the first scenario’s guest and the one booted ahead for the second');
  // A QEMU stopped by SIGSTOP ignores the teardown's SIGTERM, so the teardown waits out its 2 s
  // grace before SIGKILL: the later signals then land inside it for certain. Without this, a
  // teardown of ~30 ms could finish before the second signal came (CI, 2026-12-07).
  if (stopAGuest) process.kill((await qemusOf(child.pid!))[0]!, 'SIGSTOP');
  const t0 = Date.now();
  // Close together, as a user hammering Ctrl-C: the later ones land during the teardown.
  for (const s of signals) {
    child.kill(s);
    await sleep(stopAGuest ? 300 : 30);
  }
  const r = await child;
  const ms = Date.now() - t0;
  t.log(`${signals.join('+')}: exit ${r.exitCode} after ${ms} ms`);
  t.deepEqual(await qemusOf(child.pid!), [], 'a QEMU outlived the interrupted run');
  return { r, dir, ms };
}

test.serial('SIGINT mid-scenario: exit 130, the running scenario is interrupted, the other counted as not run', async (t) => {
  const { r, dir, ms } = await interruptedRun(t, ['SIGINT']);
  t.is(r.exitCode, 130, r.all);
  t.true(ms < 20_000);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { run: { total: number }; results: { status: string }[] };
  t.is(report.run.total, 2);
  t.deepEqual(report.results.map((x) => x.status), ['interrupted']);
  const tap = readFileSync(join(dir, 'report.tap'), 'utf8');
  t.regex(tap, /^1\.\.2$/m);
  t.regex(tap, /^not ok 2 - not run$/m);
  t.regex(tap, /status: interrupted/);
  const xml = readFileSync(join(dir, 'report.xml'), 'utf8');
  t.regex(xml, /<testsuites [^>]*tests="2" failures="0" errors="2"/);
  t.regex(xml, /type="interrupted"/);
});

test.serial('SIGTERM mid-scenario: exit 143', async (t) => {
  const { r } = await interruptedRun(t, ['SIGTERM']);
  t.is(r.exitCode, 143, r.all);
});

test.serial('a second and third Ctrl-C do not skip the teardown: exit 130, no QEMU, the reports written', async (t) => {
  const { r, dir, ms } = await interruptedRun(t, ['SIGINT', 'SIGINT', 'SIGINT'], { stopAGuest: true });
  t.is(r.exitCode, 130, r.all);
  t.regex(r.all, /already stopping/);
  t.true(ms < 20_000);
  t.true(existsSync(join(dir, 'report.json')));
});

test.serial('--resume refuses a directory run with other inputs, naming what differs', async (t) => {
  const dir = scratch(t, 'lab-hyg-resume-');
  // A real identity.json of this lab and kernel, then the base and one input changed in it.
  const first = await lab(['run', 'cdev/parked-fd', '--out', dir]);
  t.is(first.exitCode, 0, first.all);
  const identityPath = join(dir, 'identity.json');
  const identity = JSON.parse(readFileSync(identityPath, 'utf8')) as { kernel: { base: string }; fragments: string[] };
  identity.kernel.base = 'linux-9.9.tar.xz sha256:0000';
  identity.fragments.push('/nowhere/extra.config');
  writeFileSync(identityPath, JSON.stringify(identity));
  const t0 = Date.now();
  const again = await lab(['run', 'cdev/parked-fd', '--resume', dir]);
  t.is(again.exitCode, 2, again.all);
  t.regex(again.all, /--resume .*: that run was made with other inputs/);
  t.regex(again.all, /- base: linux-9\.9\.tar\.xz sha256:0000 then, /);
  t.regex(again.all, /- config fragments: -\/nowhere\/extra\.config/);
  t.true(Date.now() - t0 < 30_000, 'refused only after building or booting');
  t.deepEqual(serials(dir).filter((p) => statSync(p).mtimeMs >= t0), [], 'the refused resume booted a guest');
});

test.serial('a full disk as --out: exit 2 naming the path, and nothing half-written in the cache', async (t) => {
  const dir = smallDisk(t, 'lab-hyg-full-', '200k');
  const child = lab(['run', 'cdev/parked-fd', '--out', dir]);
  const r = await child;
  t.log(r.all.split('\n').filter((l) => /^error|^hint/.test(l)).join('\n'));
  t.is(r.exitCode, 2, r.all);
  t.regex(r.all, new RegExp(`no space left on the device holding ${dir}`));
  t.notRegex(r.all, /\n\s+at .*\.ts:\d+/, 'a stack trace reached the user');
  t.deepEqual(cacheLeftovers(), []);
  t.deepEqual(await qemusOf(child.pid!), []);
});

test.serial('a disk that fills mid-run: exit 2 naming the run directory, report.json keeps what finished, --resume runs the rest', async (t) => {
  const dir = smallDisk(t, 'lab-hyg-fills-', '64m');
  const args = ['run', 'cdev/', '--jobs', '1'];
  const child = lab([...args, '--out', dir]);
  const report = join(dir, 'report.json');
  const finished = (): number => {
    try {
      return (JSON.parse(readFileSync(report, 'utf8')) as { results: unknown[] }).results.length;
    } catch {
      return 0;
    }
  };
  // A real ENOSPC: once the first scenario's result is on disk, the rest of the tmpfs is filled.
  await until('the first result in report.json', () => finished() >= 1, 600_000);
  try {
    execSync(`dd if=/dev/zero of=${join(dir, 'filler')} bs=1M`, { stdio: 'ignore' });
  } catch {
    // dd ends with "No space left on device": that is the point.
  }
  const kept = finished();
  const r = await child;
  t.log(r.all.split('\n').filter((l) => /^error|^hint|no space/.test(l)).join('\n'));
  t.is(r.exitCode, 2, r.all);
  t.regex(r.all, new RegExp(`no space left (in|on the device holding) ${dir}`));
  t.notRegex(r.all, /\n\s+at .*\.ts:\d+/, 'a stack trace reached the user');
  t.deepEqual(await qemusOf(child.pid!), []);
  // What had finished before the disk filled is still there, whole, and counted.
  t.true(finished() >= kept && kept >= 1, `report.json kept ${finished()} result(s), ${kept} were written before the fill`);
  for (const line of readFileSync(join(dir, 'lab.ndjson'), 'utf8').split('\n').filter(Boolean)) JSON.parse(line);
  // Space again: --resume keeps those results and runs only the rest, into the same directory.
  rmSync(join(dir, 'filler'));
  const again = await lab([...args, '--resume', dir]);
  t.is(again.exitCode, 0, again.all);
  const resumed = /resuming .*: (\d+) result\(s\) kept, (\d+) scenario\(s\) to run/.exec(again.all);
  t.truthy(resumed, again.all);
  t.true(Number(resumed![1]) >= 1, again.all);
  const total = (JSON.parse(readFileSync(report, 'utf8')) as { run: { total: number } }).run.total;
  t.true(total > kept, `the run had nothing left to resume (${total} planned)`);
  t.is(Number(resumed![1]) + Number(resumed![2]), total);
  t.is(finished(), total);
});

test.serial('a kept guest outlives its lab and stays listed until `clean`, which stops it', async (t) => {
  const dir = scratch(t, 'lab-hyg-keep-');
  const boot = lab(['boot', '--keep', '--out', dir]);
  const r = await boot;
  t.is(r.exitCode, 0, r.all);
  const kept = await qemusOf(boot.pid!);
  t.is(kept.length, 1, 'the kept guest did not outlive `./labw boot --keep`');
  // A later start sweeps dead records, but not this one: it is kept, and its QEMU runs.
  t.is((await lab(['ssh', 'true'])).exitCode, 0);
  t.true((await listVms(cache)).some((v) => v.kept && v.owner?.pid === boot.pid));
  const clean = await lab(['clean']);
  t.is(clean.exitCode, 0, clean.all);
  t.regex(clean.all, new RegExp(`stopped QEMU pid ${kept[0]} \\(kept guest`));
  t.deepEqual(await qemusOf(boot.pid!), []);
  t.false((await listVms(cache)).some((v) => v.owner?.pid === boot.pid));
});

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  comm: string;
  start: string;
}

async function processes(): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') continue;
    out.push({ pid: Number(e), ppid: Number(f[1]), pgid: Number(f[2]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), start: f[19]! });
  }
  return out;
}

/** Every live process below root (children, grandchildren, …). */
async function descendants(root: number): Promise<Proc[]> {
  const all = await processes();
  const found: Proc[] = [];
  let frontier = [root];
  while (frontier.length) {
    const next = all.filter((p) => frontier.includes(p.ppid));
    found.push(...next);
    frontier = next.map((p) => p.pid);
  }
  return found;
}

/**
 * What is still alive of a snapshot (same pid and start time), or of the process groups the lab
 * made for its children (the build's guard leads one); not the test runner's own group.
 */
async function survivors(snapshot: Proc[]): Promise<Proc[]> {
  const own = (await processes()).find((p) => p.pid === process.pid)?.pgid;
  const groups = new Set(snapshot.map((p) => p.pgid).filter((g) => g !== own));
  return (await processes()).filter((p) => snapshot.some((s) => s.pid === p.pid && s.start === p.start) || groups.has(p.pgid));
}

/**
 * A one-patch series no cache holds: it adds a file nothing builds, so the kernel is the
 * default one but its key is new and a real build (make → gcc) starts.
 */
function freshSeries(dir: string, nonce: string): string {
  const path = join(dir, `${nonce}.patch`);
  writeFileSync(path, [
    'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
    'From: Lab Test <lab@example.invalid>',
    `Subject: [PATCH] Documentation: a note only the hygiene test writes (${nonce})`,
    '',
    '---',
    `diff --git a/Documentation/lab-hygiene-${nonce}.txt b/Documentation/lab-hygiene-${nonce}.txt`,
    'new file mode 100644',
    '--- /dev/null',
    `+++ b/Documentation/lab-hygiene-${nonce}.txt`,
    '@@ -0,0 +1 @@',
    `+${nonce}`,
    '-- ',
    '2.39.5',
    '',
  ].join('\n'));
  return path;
}

/** Starts a kernel build of a fresh series and waits until its compilers run. */
async function midBuild(t: import('ava').ExecutionContext, name: string, extra: string[] = []) {
  const dir = scratch(t, `lab-hyg-${name}-`);
  const nonce = `${name}-${process.pid}-${Date.now()}`;
  const child = lab(['kernel', 'build', '--series', freshSeries(dir, nonce), ...extra]);
  const owner = (n: string) => (existsSync(join(cache, 'work', n, '.lab-owner')) ? readFileSync(join(cache, 'work', n, '.lab-owner'), 'utf8') : '');
  const ours = () => (existsSync(join(cache, 'work')) ? readdirSync(join(cache, 'work')).filter((n) => owner(n).startsWith(`${child.pid}.`)) : []);
  // Past the config steps: the build log has reached `make vmlinux bzImage` and kbuild has
  // compiled a kernel object there. (A process's command line is no proof: kconfig's own compiler
  // probes carry the kernel's flags, and .config is half-written while they run.)
  const pastConfig = () => ours().some((n) => {
    const path = join(cache, 'logs', `build-${n}.log`);
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const make = text.search(/^\$ make .* vmlinux bzImage$/m);
    return make >= 0 && /^ {2}CC {6}\S+\.o$/m.test(text.slice(make));
  });
  const compiling = async () => pastConfig() && (await descendants(child.pid!)).some((p) => p.comm === 'make');
  await until('the build to compile', compiling, 300_000);
  await sleep(1000);
  const running = await descendants(child.pid!);
  const work = ours();
  return { child, running, work };
}

const tmpEntries = () => readdirSync(join(cache, 'kernels')).filter((n) => n.startsWith('.tmp-'));

test.serial('SIGKILL of the lab mid-build: within 2 s no process of the build remains; the next build sweeps what it left', async (t) => {
  const killed = await midBuild(t, 'kill');
  t.teardown(() => void killed.child.kill('SIGKILL'));
  t.true(killed.running.some((p) => p.comm === 'make'), killed.running.map((p) => p.comm).join(' '));
  t.is(killed.work.length, 1);
  killed.child.kill('SIGKILL');
  await killed.child;
  const t0 = Date.now();
  await until('the build to die with its lab', async () => (await survivors(killed.running)).length === 0, 2000).catch(() => undefined);
  const left = await survivors(killed.running);
  t.deepEqual(left.map((p) => `${p.pid} ${p.comm}`), [], `outlived the SIGKILLed lab by ${Date.now() - t0} ms`);
  t.log(`${killed.running.length} processes of the build (make, gcc, …) gone ${Date.now() - t0} ms after the lab's SIGKILL`);
  // SIGKILL leaves its work dir and half entry; the next build (interrupted in turn) sweeps them.
  t.true(existsSync(join(cache, 'work', killed.work[0]!)));
  const next = await midBuild(t, 'after-kill');
  t.teardown(() => void next.child.kill('SIGKILL'));
  t.false(existsSync(join(cache, 'work', killed.work[0]!)), 'the dead build\'s work dir was not swept');
  t.false(tmpEntries().some((n) => n.includes(`-${killed.child.pid}.`)), 'the dead build\'s .tmp entry was not swept');
  next.child.kill('SIGINT');
  t.is((await next.child).exitCode, 130);
});

test.serial('SIGINT mid-build: exit 130, no process, no work dir, no .tmp entry; a fragment at a path with spaces was merged', async (t) => {
  const dir = scratch(t, 'lab-hyg-frag-');
  mkdirSync(join(dir, 'a fragment dir'));
  const fragment = join(dir, 'a fragment dir', 'with sysrq.config');
  // An option the lab fragment does not set, so seeing it in .config proves the merge read the file.
  writeFileSync(fragment, 'CONFIG_MAGIC_SYSRQ=y\n');
  const b = await midBuild(t, 'int', ['--config', fragment]);
  t.teardown(() => void b.child.kill('SIGKILL'));
  t.is(b.work.length, 1);
  t.regex(readFileSync(join(cache, 'work', b.work[0]!, 'build', '.config'), 'utf8'), /^CONFIG_MAGIC_SYSRQ=y$/m);
  const t0 = Date.now();
  b.child.kill('SIGINT');
  const r = await b.child;
  t.log(`SIGINT mid-build: exit ${r.exitCode} after ${Date.now() - t0} ms`);
  t.is(r.exitCode, 130, r.all.slice(-1500));
  t.deepEqual((await survivors(b.running)).map((p) => `${p.pid} ${p.comm}`), []);
  t.false(existsSync(join(cache, 'work', b.work[0]!)), 'the interrupted build left its work dir');
  t.false(tmpEntries().some((n) => n.includes(`-${b.child.pid}.`)), 'the interrupted build left a .tmp entry');
});

test.serial('SIGTERM mid-build: exit 143, no process, no work dir, no .tmp entry', async (t) => {
  const b = await midBuild(t, 'term');
  t.teardown(() => void b.child.kill('SIGKILL'));
  t.is(b.work.length, 1);
  const t0 = Date.now();
  b.child.kill('SIGTERM');
  const r = await b.child;
  t.log(`SIGTERM mid-build: exit ${r.exitCode} after ${Date.now() - t0} ms`);
  t.is(r.exitCode, 143, r.all.slice(-1500));
  t.deepEqual((await survivors(b.running)).map((p) => `${p.pid} ${p.comm}`), []);
  t.false(existsSync(join(cache, 'work', b.work[0]!)), 'the terminated build left its work dir');
  t.false(tmpEntries().some((n) => n.includes(`-${b.child.pid}.`)), 'the terminated build left a .tmp entry');
});

// Nothing left behind, nothing stale: the lab killed with SIGKILL mid-scenario leaves no QEMU
// (within 2 s, looked up in /proc, not in the lab's registry); SIGINT and SIGTERM end a run with
// 130 and 143 and reports that say what was interrupted and what never ran; a second Ctrl-C
// still tears down; a full disk as --out is exit 2 naming the path with nothing half-written in
// the cache; `--resume` refuses a directory run with other inputs. Each row drives ./labw as a
// user would, against a real guest.
import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
// Two scenarios, so an interrupt during the first leaves one that never started.
const TWO = ['cdev/grant-is-per-fd', 'cdev/parked-fd'];

/** QEMU processes (not zombies) started by the lab process labPid: their -name is lab-PID-…. */
async function qemusOf(labPid: number): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cmdline = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state !== 'Z' && cmdline.includes('qemu-system') && cmdline.includes(`lab-${labPid}-`)) out.push(Number(e));
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

function serials(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.endsWith('serial.log')).map((p) => join(dir, p));
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

/** A fresh directory under /tmp, removed after the test (guests leave tens of MB in it). */
function scratch(t: import('ava').ExecutionContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function interruptedRun(t: import('ava').ExecutionContext, signals: NodeJS.Signals[]) {
  const dir = scratch(t, 'lab-hyg-int-');
  // One guest at a time, so the second scenario is still waiting when the signal comes.
  const child = lab(['run', ...TWO, '--jobs', '1', '--out', dir, '--reporter', 'tap']);
  await midScenario(child, dir);
  const t0 = Date.now();
  // Close together, as a user hammering Ctrl-C: the later ones land during the teardown.
  for (const s of signals) {
    child.kill(s);
    await sleep(30);
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
  const { r, dir, ms } = await interruptedRun(t, ['SIGINT', 'SIGINT', 'SIGINT']);
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
  const dir = mkdtempSync(join(tmpdir(), 'lab-hyg-full-'));
  execSync(`mount -t tmpfs -o size=200k tmpfs ${dir}`);
  t.teardown(() => {
    execSync(`umount ${dir}`);
    rmSync(dir, { recursive: true, force: true });
  });
  const child = lab(['run', 'cdev/parked-fd', '--out', dir]);
  const r = await child;
  t.log(r.all.split('\n').filter((l) => /^error|^hint/.test(l)).join('\n'));
  t.is(r.exitCode, 2, r.all);
  t.regex(r.all, new RegExp(`no space left on the device holding ${dir}`));
  t.notRegex(r.all, /\n\s+at .*\.ts:\d+/, 'a stack trace reached the user');
  t.deepEqual(cacheLeftovers(), []);
  t.deepEqual(await qemusOf(child.pid!), []);
});

test.serial('a kept guest outlives its lab and stays listed until `clean`, which stops it', async (t) => {
  const dir = scratch(t, 'lab-hyg-keep-');
  const boot = lab(['boot', '--keep', '--out', dir]);
  const r = await boot;
  t.is(r.exitCode, 0, r.all);
  const kept = await qemusOf(boot.pid!);
  t.is(kept.length, 1, 'the kept guest did not outlive `lab boot --keep`');
  // A later start sweeps dead records, but not this one: it is kept, and its QEMU runs.
  t.is((await lab(['ssh', 'true'])).exitCode, 0);
  t.true((await listVms(cache)).some((v) => v.kept && v.owner?.pid === boot.pid));
  const clean = await lab(['clean']);
  t.is(clean.exitCode, 0, clean.all);
  t.regex(clean.all, new RegExp(`stopped QEMU pid ${kept[0]} \\(kept guest`));
  t.deepEqual(await qemusOf(boot.pid!), []);
  t.false((await listVms(cache)).some((v) => v.owner?.pid === boot.pid));
});

// QEMU 10 as L0: the whole suite passes with `--qemu 10`, every record of the run names QEMU 10,
// and every guest ran on QEMU 10's own binary, modules and firmware with the vIOMMU width the
// machine states (aw-bits=39, as 7.2 builds it; 10.0 alone would build 48). Nested included:
// L1's QEMU 10 is the vmm image's, and L0 is only the emulator it runs on.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { repoRoot } from '../../src/util/paths.ts';

const labw = join(repoRoot, 'labw');
const env = { LAB_NO_BOOTSTRAP: '1', CI: '1' };

interface Report {
  run: { qemu?: { target: string; version: string } };
  results: { scenario: { id: string }; status: string }[];
}

test('the whole suite passes with --qemu 10, and the run says QEMU 10 everywhere', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'lab-qemu10-')), 'run');
  const listed = JSON.parse((await execa(labw, ['list', '--json'], { env })).stdout) as { id: string }[];
  const started = Date.now();
  const r = await execa(labw, ['run', '--qemu', '10', '--out', dir], { env, reject: false });
  t.log(`${listed.length} scenarios in ${((Date.now() - started) / 1000).toFixed(0)} s on QEMU 10`);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
  const notPassed = report.results.filter((x) => x.status !== 'passed').map((x) => `${x.scenario.id}=${x.status}`);
  t.deepEqual(notPassed, [], r.stdout.split('\n').filter((l) => /FAIL|ERROR|SKIP/.test(l)).join('\n'));
  t.is(r.exitCode, 0);
  t.deepEqual(report.results.map((x) => x.scenario.id).sort(), listed.map((s) => s.id).sort());

  // report.json, the RUN line, identity.json and reproduce.sh all name the target.
  t.is(report.run.qemu?.target, '10');
  t.regex(report.run.qemu?.version ?? '', /^QEMU emulator version 10\.0\.\d+ /);
  t.regex(r.stdout, /^.*RUN run .*, accel \w+, QEMU 10\.0\.\d+$/m);
  const identity = JSON.parse(readFileSync(join(dir, 'identity.json'), 'utf8')) as { qemu: string; qemuTarget: string };
  t.is(identity.qemuTarget, '10');
  t.is(identity.qemu, report.run.qemu?.version ?? 'none');
  t.regex(readFileSync(join(dir, 'reproduce.sh'), 'utf8'), /exec \.\/labw run --qemu 10 --out/);

  // Each guest's command line: QEMU 10's binary, modules and qboot, and the stated width.
  const cmdlines = readdirSync(join(dir, 'guests'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('qemu-cmdline.sh'));
  t.true(cmdlines.length > 0);
  for (const f of cmdlines) {
    const text = readFileSync(join(dir, 'guests', f), 'utf8');
    t.regex(text, /^QEMU_MODULE_DIR=\S+\/qemu10\/\S+\/usr\/lib\/x86_64-linux-gnu\/qemu \S+\/qemu10\/\S+\/usr\/bin\/qemu-system-x86_64 -L \S+\/usr\/share\/qemu /m, f);
    t.regex(text, /-bios \S+\/qemu10\/\S+\/qboot\.rom /, f);
    t.regex(text, /intel-iommu,intremap=(on|off)(,[a-z-]+=on)*,aw-bits=39 /, f);
  }

  // A run on QEMU 10 is not resumed on 7.2: refused before anything boots.
  const resumed = await execa(labw, ['run', '--qemu', '7.2', '--resume', dir], { env, reject: false });
  t.is(resumed.exitCode, 2);
  t.regex(resumed.stderr, /QEMU: --qemu 10 then, --qemu 7\.2 now/);
});

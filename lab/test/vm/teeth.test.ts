// The regression models in kernel-patches/regressions/ are each caught by exactly the scenarios
// their headers name: the proof that the scenarios have teeth. Builds one kernel per model.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import type { JsonReportFile } from '../../src/report/merge.ts';
import { parseModelHeader } from '../../src/scenario/teeth.ts';
import { repoRoot } from '../../src/util/paths.ts';

const env = { LAB_NO_BOOTSTRAP: '1', CI: '1' };
const modelsDir = join(repoRoot, 'kernel-patches/regressions');
const models = readdirSync(modelsDir).filter((f) => f.endsWith('.patch')).map((f) => ({ path: join(modelsDir, f), header: parseModelHeader(readFileSync(join(modelsDir, f), 'utf8'), f) }));

test.serial('lab teeth: every model is caught, and nothing else changes', async (t) => {
  const r = await execa(join(repoRoot, 'labw'), ['teeth'], { reject: false, env });
  const caught = (r.stdout.match(/^M\d+ /gm) ?? []).length;
  t.true(caught >= 3, r.stdout.slice(-2000));
  t.regex(r.stdout, new RegExp(`^detection rate: ${caught}/${caught} models caught$`, 'm'));
  t.notRegex(r.stdout, /NOT CAUGHT|also changed|did not fail/);
  // A model only the detectors see is not run on the lab kernel, and says so.
  for (const m of models.filter((x) => x.header.needs === 'sanitize')) {
    t.regex(r.stdout, new RegExp(`^not run: ${m.header.file.replace(/\./g, '\\.')} — .*\\(needs the sanitize kernel: \\./labw teeth --sanitize\\)$`, 'm'));
  }
  t.is(caught + models.filter((x) => x.header.needs).length, models.length);
  t.is(r.exitCode, 0, r.stderr.slice(-2000));
});

test.serial('on the sanitize kernel, a use-after-free no contract check sees fails exactly the scenarios its model names, by the detectors alone', async (t) => {
  const uaf = models.filter((m) => m.header.needs === 'sanitize');
  t.true(uaf.length >= 1, 'a model with Lab-Needs: sanitize');
  for (const m of uaf) {
    const out = join(mkdtempSync(join(tmpdir(), 'lab-teeth-sanitize-')), 'run');
    const named = m.header.catches.map((c) => c.id);
    const r = await execa(join(repoRoot, 'labw'), ['run', '--sanitize', '--series', m.path, '--out', out, ...named], { reject: false, env });
    t.is(r.exitCode, 1, r.stdout.slice(-2000));
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as JsonReportFile;
    t.deepEqual(report.results.map((x) => [x.scenario.id, x.status]).sort(), named.map((id) => [id, 'failed']).sort());
    for (const x of report.results) {
      const c = m.header.catches.find((k) => k.id === x.scenario.id)!;
      t.true(x.failures.some((f) => f.includes(c.expectation!)), `${x.scenario.id}: ${x.failures.join('; ')}`);
      // Every failure is the kernel's own report: no expectation of the scenario noticed anything.
      t.deepEqual(x.failures.filter((f) => !f.startsWith('kernel log: ')), [], x.scenario.id);
      t.true(x.findings.every((k) => k.kind === 'KASAN' || k.kind === 'KFENCE'), x.findings.map((k) => k.title).join('; '));
    }
  }
});

import test from 'ava';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReporters, parseReporterSpec, resolveReporterSpecs } from '../../../src/report/create.ts';
import { FileReporter } from '../../../src/report/file-reporter.ts';
import { feed, sink } from './report-fixture.ts';

const ctx = { runDir: '/runs/r1', interactive: false, cwd: '/home/me/work' };

test('no specs: the terminal reporter that fits, plus json, junit and html in the run directory', (t) => {
  t.deepEqual(resolveReporterSpecs([], ctx), [
    { name: 'plain' },
    { name: 'json', path: '/runs/r1/report.json' },
    { name: 'junit', path: '/runs/r1/report.xml' },
    { name: 'html', path: '/runs/r1/report.html' },
  ]);
  t.is(resolveReporterSpecs([], { ...ctx, interactive: true })[0]?.name, 'line');
});

test('file reporters default into the run directory; relative paths resolve against cwd', (t) => {
  t.deepEqual(resolveReporterSpecs(['line', 'tap', 'junit=out/j.xml', 'json=/abs/a=b.json'], ctx), [
    { name: 'line' },
    { name: 'tap', path: '/runs/r1/report.tap' },
    { name: 'junit', path: '/home/me/work/out/j.xml' },
    { name: 'json', path: '/abs/a=b.json' },
    { name: 'html', path: '/runs/r1/report.html' },
  ]);
  // Naming one file reporter keeps the console reporter and the other run-dir report.
  t.deepEqual(resolveReporterSpecs(['json=x.json'], { runDir: '/runs/r1', interactive: false }), [
    { name: 'plain' },
    { name: 'json', path: join(process.cwd(), 'x.json') },
    { name: 'junit', path: '/runs/r1/report.xml' },
    { name: 'html', path: '/runs/r1/report.html' },
  ]);
});

test('bad specs are rejected with a message that helps', (t) => {
  t.throws(() => parseReporterSpec('xml'), { message: /unknown reporter "xml".*known reporters: line, plain, junit, tap, json, html/ });
  t.throws(() => parseReporterSpec('line=out.txt'), { message: /takes no path/ });
  t.throws(() => parseReporterSpec('json='), { message: /needs a path/ });
  t.throws(() => resolveReporterSpecs(['json', 'json=/runs/r1/report.json'], ctx), { message: /two reporters would write \/runs\/r1\/report\.json/ });
});

test('createReporters returns a multiplexer whose reporters write where resolved', async (t) => {
  const runDir = await mkdtemp(join(tmpdir(), 'lab-report-create-'));
  t.teardown(() => rm(runDir, { recursive: true, force: true }));
  const stdout = sink();
  const mux = createReporters([], { runDir, interactive: false, stdout, stderr: sink() });
  t.deepEqual(mux.reporters.map((r) => r.name), ['plain', 'json', 'junit', 'html']);
  t.deepEqual(mux.reporters.filter((r) => r instanceof FileReporter).map((r) => r.path), [join(runDir, 'report.json'), join(runDir, 'report.xml'), join(runDir, 'report.html')]);
  await feed(mux);
  t.deepEqual((await readdir(runDir)).sort(), ['report.html', 'report.json', 'report.xml']);
  t.regex(stdout.text(), /^1 passed, 1 failed, 1 errored, 1 skipped, 1 not judged \(skipped on every machine: iommufd\/nested-s2\)$/m);
  t.deepEqual(mux.disabled, []);
});

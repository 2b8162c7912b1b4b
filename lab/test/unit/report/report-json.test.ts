import test, { type ExecutionContext } from 'ava';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../src/util/atomic-write.ts';
import { FileReporter } from '../../../src/report/file-reporter.ts';
import { JsonReporter, renderJson } from '../../../src/report/json.ts';
import { events, feed, SERIAL_TAIL } from './report-fixture.ts';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-report-json-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('schemaVersion, run, summary and results, pretty-printed, and no temp file left', async (t) => {
  const dir = await tempDir(t);
  await feed(new JsonReporter(join(dir, 'report.json')));
  const text = await readFile(join(dir, 'report.json'), 'utf8');
  t.regex(text, /^\{\n {2}"schemaVersion": 1,\n/);
  const report = JSON.parse(text);
  t.deepEqual(Object.keys(report), ['schemaVersion', 'run', 'summary', 'results', 'guestLogs']);
  t.deepEqual(report.guestLogs, []);
  t.is(report.run.runId, '20250101-120000-abcd');
  t.deepEqual(report.summary, { passed: 1, failed: 1, errored: 1, skipped: 1, interrupted: 0, notJudged: ['iommufd/nested-s2'], ms: 95_250 });
  t.deepEqual(report.results.map((r: { scenario: { id: string }; status: string }) => [r.scenario.id, r.status]), [
    ['cdev/parked-fd', 'passed'],
    ['cdev/double-bind', 'failed'],
    ['iommufd/ioas-map', 'errored'],
    ['iommufd/nested-s2', 'skipped'],
  ]);
  // JSON carries the serial tail exactly, control characters included.
  t.is(report.results[2].error.serialTail, SERIAL_TAIL);
  t.deepEqual(await readdir(dir), ['report.json']);
});

test('a run cut short before run-end still gets a report of what finished on close', async (t) => {
  const dir = await tempDir(t);
  const all = events();
  const secondEnd = all.findIndex((e) => e.type === 'scenario-end' && e.result.status === 'failed');
  const now = [1_000, 4_500];
  await feed(new FileReporter('json', join(dir, 'partial.json'), renderJson, () => now.shift() ?? 0), all.slice(0, secondEnd + 1));
  const report = JSON.parse(await readFile(join(dir, 'partial.json'), 'utf8'));
  t.is(report.run.total, 4);
  t.deepEqual(report.summary, { passed: 1, failed: 1, errored: 0, skipped: 0, interrupted: 0, ms: 3_500 });
  t.is(report.results.length, 2);
});

test('atomic write replaces an existing file and cleans up after a failure', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'r.json');
  await writeFile(path, 'old');
  await writeFileAtomic(path, 'new');
  t.is(await readFile(path, 'utf8'), 'new');
  // rename(2) cannot replace a non-empty directory: the temp file must not stay behind.
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'f'), '');
  await t.throwsAsync(writeFileAtomic(join(dir, 'sub'), 'x'));
  t.deepEqual((await readdir(dir)).sort(), ['r.json', 'sub']);
});

test('the JSON report is rewritten after each scenario: a run that stops without close() leaves what had finished', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'report.json');
  const reporter = new JsonReporter(path);
  const seen: number[] = [];
  for (const e of events()) {
    if (e.type === 'run-end') break;
    await reporter.onEvent(e);
    if (e.type === 'scenario-end') seen.push((JSON.parse(await readFile(path, 'utf8')) as { results: unknown[] }).results.length);
  }
  // No close(), no run-end: as after SIGKILL, or a disk that filled before the next scenario ended.
  t.deepEqual(seen, [1, 2, 3, 4]);
  const report = JSON.parse(await readFile(path, 'utf8'));
  t.is(report.summary.failed, 1);
  t.deepEqual(await readdir(dir), ['report.json']);
});

test('a checkpoint that cannot be written is an error naming the report, not a silence', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'report.json');
  const reporter = new JsonReporter(path);
  const all = events().filter((e) => e.type !== 'run-end');
  const firstEnd = all.findIndex((e) => e.type === 'scenario-end');
  for (const e of all.slice(0, firstEnd)) await reporter.onEvent(e);
  // A real failure of rename(2): a directory (not empty) where the report goes.
  await mkdir(path);
  await writeFile(join(path, 'x'), 'x');
  const error = await t.throwsAsync(reporter.onEvent(all[firstEnd]!));
  t.regex(error!.message, /report\.json/);
  t.deepEqual((await readdir(dir)).sort(), ['report.json'], 'its temp file was left behind');
});

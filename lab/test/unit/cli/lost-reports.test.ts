import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lostReports } from '../../../src/cli/lost-reports.ts';
import { createReporters } from '../../../src/report/create.ts';
import { feed, sink } from '../report/report-fixture.ts';

test('a file report that could not be written is the command\'s error, naming the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lost-'));
  // A regular file where the report's directory should be: every write under it fails.
  writeFileSync(join(dir, 'blocked'), '');
  const stderr = sink();
  const reporter = createReporters([`tap=${join(dir, 'blocked', 'report.tap')}`], { runDir: dir, interactive: false, stdout: sink(), stderr });
  await feed(reporter);
  const error = lostReports(reporter);
  t.truthy(error);
  t.regex(error!.message, new RegExp(`^a report could not be written: ${dir}/blocked/report\\.tap \\((EEXIST|ENOTDIR)`));
  t.regex(stderr.text(), /the tap reporter failed/);
});

test('all reports written: no error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lost-'));
  const reporter = createReporters([], { runDir: dir, interactive: false, stdout: sink(), stderr: sink() });
  await feed(reporter);
  t.is(lostReports(reporter), undefined);
});

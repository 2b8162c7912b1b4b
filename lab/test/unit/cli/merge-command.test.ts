import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeCommand } from '../../../src/cli/run-command.ts';
import { summarize, type RunInfo, type ScenarioResult } from '../../../src/report/events.ts';
import { LabError, UsageError } from '../../../src/util/errors.ts';
import { createProgress } from '../../../src/util/progress.ts';
import { result, run } from '../report/report-fixture.ts';

// `report merge` as the CLI runs it, on run directories written the way `run --shard I/3` leaves them.
// Every error it throws is a LabError: runCommand turns it into exit 2.
const ctx = { cache: tmpdir(), progress: createProgress({ quiet: true }), signal: new AbortController().signal };

function shardDir(root: string, index: number, results: ScenarioResult[], configSha256 = 'cfg-1'): string {
  const dir = join(root, `shard-${index}`);
  mkdirSync(dir);
  const shardRun: RunInfo = { ...run, runId: `s${index}`, runDir: dir, total: results.length, shard: { index, count: 3, planned: 6 } };
  writeFileSync(join(dir, 'report.json'), JSON.stringify({ schemaVersion: 1, run: shardRun, summary: summarize(results, 10), results }));
  writeFileSync(join(dir, 'identity.json'), JSON.stringify({ ...shardRun, labCommit: 'c0ffee', series: [{ index: 1, subject: 'vfio: park the fd', sha256: 'p-1' }], configSha256 }));
  return dir;
}
const passes = (area: string) => [result(area, 'x', 'passed', 10), result(area, 'y', 'passed', 10)];

test('merging shards 1/3 and 3/3 exits 2 with "incomplete: shard 2/3 missing"; the merged report is kept for inspection', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'merge-command-'));
  const out = join(root, 'merged');
  const error = await t.throwsAsync(mergeCommand(ctx, [shardDir(root, 1, passes('a')), shardDir(root, 3, passes('c'))], { out, reporter: ['json'] }), { instanceOf: LabError });
  t.is(error?.message, 'incomplete: shard 2/3 missing');
  const merged = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { run: RunInfo; summary: { passed: number } };
  t.is(merged.run.total, 6);
  t.is(merged.summary.passed, 4);
  t.deepEqual(merged.run.shards?.map((s) => [s.shard?.index, s.total, s.summary.passed]), [[1, 2, 2], [3, 2, 2]]);
});

test('every shard of one run merges to exit 0 of the shards\' results', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'merge-command-'));
  const dirs = [shardDir(root, 1, passes('a')), shardDir(root, 2, passes('b')), shardDir(root, 3, passes('c'))];
  t.is(await mergeCommand(ctx, dirs, { out: join(root, 'merged'), reporter: ['json'] }), 0);
});

test('shards built with another config are refused (exit 2) naming both and the field, and nothing is written', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'merge-command-'));
  const out = join(root, 'merged');
  const dirs = [shardDir(root, 1, passes('a')), shardDir(root, 2, passes('b'), 'cfg-2'), shardDir(root, 3, passes('c'))];
  const error = await t.throwsAsync(mergeCommand(ctx, dirs, { out, reporter: ['json'] }), { instanceOf: UsageError });
  t.is(error?.message, `cannot merge: shard 1/3 (${dirs[0]}) and shard 2/3 (${dirs[1]}) are runs of different configs, not shards of one run: kernel .config (sha256) is "cfg-1" in shard 1/3 (${dirs[0]}), "cfg-2" in shard 2/3 (${dirs[1]})`);
  t.false(existsSync(out));
});

import test from 'ava';
import { scenario } from '../../../src/scenario/define.ts';
import type { LoadedScenario } from '../../../src/scenario/loader.ts';
import { parseShard, plan, shard } from '../../../src/scenario/planner.ts';
import { mergeReports, type JsonReportFile } from '../../../src/report/merge.ts';
import type { ScenarioResult } from '../../../src/report/events.ts';
import { result as fixtureResult } from './report-fixture.ts';

const loaded = (id: string, machines?: string[]): LoadedScenario => {
  const [area, name] = id.split('/') as [string, string];
  return { id, area, file: `${id}.scenario.ts`, scenario: scenario(name, { devices: [], machines, concern: { text: '', ref: '' } }, async () => {}) };
};

test('N shards together run every planned job exactly once', (t) => {
  const jobs = plan([loaded('a/x'), loaded('a/y', ['default', 'pt']), loaded('b/z'), loaded('b/w'), loaded('c/v')], { patterns: [] });
  for (const n of [1, 2, 3, 4, 7]) {
    const ids = Array.from({ length: n }, (_, i) => shard(jobs, i + 1, n).map((j) => j.id)).flat();
    t.deepEqual(ids.sort(), jobs.map((j) => j.id).sort(), `N=${n}`);
  }
  t.deepEqual(shard(jobs, 2, 2).map((j) => j.id), shard(jobs, 2, 2).map((j) => j.id));
});

test('shard specs are checked', (t) => {
  t.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  for (const bad of ['0/2', '3/2', '1/0', 'x', '1/2/3']) t.throws(() => parseShard(bad));
});

// Results as the reporters' fixture builds them, named "<area>/<name>".
const result = (id: string, status: ScenarioResult['status']): ScenarioResult => {
  const [area, name] = id.split('/') as [string, string];
  return fixtureResult(area, name, status, 10);
};
const report = (runId: string, results: ScenarioResult[]): JsonReportFile => ({
  schemaVersion: 1,
  run: { runId, runDir: `/r/${runId}`, startedAt: '', labVersion: '0.1.0', kernel: null, accel: 'tcg', total: results.length },
  results,
});

test('merging shard reports gives one run with every result; overlapping shards are refused', (t) => {
  const merged = mergeReports([report('s1', [result('b/y', 'failed'), result('a/x', 'passed')]), report('s2', [result('c/z', 'passed')])], '/out');
  t.deepEqual(merged.results.map((r) => [r.scenario.id, r.status]), [['a/x', 'passed'], ['b/y', 'failed'], ['c/z', 'passed']]);
  t.is(merged.run.total, 3);
  t.throws(() => mergeReports([report('s1', [result('a/x', 'passed')]), report('s2', [result('a/x', 'passed')])], '/out'), { message: /a\/x is in two reports/ });
});

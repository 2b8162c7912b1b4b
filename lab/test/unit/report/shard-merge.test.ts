import test from 'ava';
import { scenario } from '../../../src/scenario/define.ts';
import type { LoadedScenario } from '../../../src/scenario/loader.ts';
import { parseShard, plan, shard } from '../../../src/scenario/planner.ts';
import { mergeReports, type JsonReportFile, type ShardReport } from '../../../src/report/merge.ts';
import { summarize, type RunInfo, type ScenarioResult } from '../../../src/report/events.ts';
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

test('a shard holds all machine variants of its scenarios, so it can tell a scenario skipped everywhere', (t) => {
  const jobs = plan([loaded('a/x'), loaded('a/y', ['default', 'pt', 'shared-slot']), loaded('b/z'), loaded('b/w', ['default', 'pt'])], { patterns: [] });
  for (const n of [2, 3]) {
    for (let i = 1; i <= n; i++) {
      const ids = shard(jobs, i, n).map((j) => j.id);
      const scenarios = new Set(ids.map((id) => id.split('@')[0]));
      const variants = jobs.filter((j) => scenarios.has(j.id.split('@')[0])).map((j) => j.id);
      t.deepEqual(ids, variants, `shard ${i}/${n}`);
    }
  }
  t.deepEqual(shard(jobs, 2, 3).map((j) => j.id), ['a/y', 'a/y@pt', 'a/y@shared-slot']);
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

// Shard I/3 of a plan of 6, as `run --shard I/3` writes it, with its summary and identity facts.
const kernel: RunInfo['kernel'] = { release: '6.12.117-lab', key: 'k-aaaa', base: 'linux-source-6.12.tar.xz sha256:ab12', patches: [{ index: 1, subject: 'vfio: park the fd' }] };
const shardReport = (index: number, results: ScenarioResult[], run: Partial<RunInfo> = {}, identity: ShardReport['identity'] = {}): ShardReport => ({
  schemaVersion: 1,
  run: { runId: `s${index}`, runDir: `/r/s${index}`, startedAt: '', labVersion: '0.1.0', kernel, accel: 'tcg', qemu: { target: '7.2', version: 'QEMU emulator version 7.2.15' }, total: results.length, shard: { index, count: 3, planned: 6 }, ...run },
  summary: summarize(results, 100),
  results,
  label: `shard-${index}`,
  identity: { labCommit: 'c0ffee', configSha256: 'cfg-1', patchSha256s: ['p-1'], ...identity },
});
const one = () => shardReport(1, [result('a/x', 'passed'), result('a/y', 'failed')]);
const two = () => shardReport(2, [result('b/x', 'passed'), result('b/y', 'passed')]);
const three = () => shardReport(3, [result('c/x', 'errored'), result('c/y', 'passed')]);

test('the merged run keeps each shard\'s totals, in shard order, and is complete when every shard is there', (t) => {
  const merged = mergeReports([three(), one(), two()], '/out');
  t.deepEqual(merged.incomplete, []);
  t.is(merged.run.total, 6);
  t.is(merged.run.shard, undefined);
  t.deepEqual(merged.run.shards?.map((s) => [s.runId, s.shard?.index, s.total, s.summary.passed, s.summary.failed, s.summary.errored]), [
    ['s1', 1, 2, 1, 1, 0],
    ['s2', 2, 2, 2, 0, 0],
    ['s3', 3, 2, 1, 0, 1],
  ]);
});

test('shards 1/3 and 3/3 without 2/3 are incomplete: "shard 2/3 missing", and its scenarios count as not run', (t) => {
  const merged = mergeReports([one(), three()], '/out');
  t.deepEqual(merged.incomplete, ['shard 2/3 missing']);
  t.is(merged.run.total, 6);
  t.is(merged.results.length, 4);
});

test('a shard cut short is incomplete; a shard whose summary does not match its results, or given twice, is refused', (t) => {
  const cut = shardReport(2, [result('b/x', 'passed')], { total: 2 });
  t.deepEqual(mergeReports([one(), cut, three()], '/out').incomplete, ['shard 2/3 (shard-2) has results for 1 of its 2 scenario(s)']);
  const lying = { ...two(), summary: { ...summarize([], 0), passed: 33 } };
  t.throws(() => mergeReports([one(), lying, three()], '/out'), { message: 'shard 2/3 (shard-2): its summary counts 33 passed but its results hold 2; the report does not add up' });
  t.throws(() => mergeReports([one(), { ...one(), results: [], summary: summarize([], 0), run: { ...one().run, total: 0 }, label: 'again' }], '/out'), { message: 'shard 1/3 is given twice: shard-1 and again' });
});

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('shards of different kernels, series, configs, QEMUs or accelerators are refused, naming both shards and the field', (t) => {
  const other = (run: Partial<RunInfo>, identity: ShardReport['identity'] = {}) => mergeReports([one(), shardReport(2, two().results, run, identity)], '/out');
  const both = 'shard 1/3 (shard-1) and shard 2/3 (shard-2)';
  t.throws(() => other({ kernel: { ...kernel!, base: 'v6.13', key: 'k-bbbb' } }), { message: `${both} are runs of different kernels, not shards of one run: kernel base is "linux-source-6.12.tar.xz sha256:ab12" in shard 1/3 (shard-1), "v6.13" in shard 2/3 (shard-2)` });
  t.throws(() => other({ kernel: { ...kernel!, patches: [] } }), { message: new RegExp(`^${literal(both)} are runs of different series, not shards of one run: series is`) });
  t.throws(() => other({}, { patchSha256s: ['p-2'] }), { message: /are runs of different series, .*: patch contents \(sha256\) is \["p-1"\] in shard 1\/3/ });
  t.throws(() => other({}, { configSha256: 'cfg-2' }), { message: /are runs of different configs, .*: kernel \.config \(sha256\) is "cfg-1" in shard 1\/3 \(shard-1\), "cfg-2" in shard 2\/3 \(shard-2\)$/ });
  t.throws(() => other({ qemu: { target: '10', version: 'QEMU emulator version 10.0.2' } }), { message: /are runs on different QEMUs, .*: QEMU target is "7\.2" in shard 1\/3/ });
  t.throws(() => other({ accel: 'kvm' }), { message: /are runs on different accelerators, .*: accelerator is "tcg" in shard 1\/3 \(shard-1\), "kvm" in shard 2\/3/ });
  t.throws(() => other({ shard: { index: 2, count: 4, planned: 6 } }), { message: /shards of different splits, .*: shard count is 3 in shard 1\/3 \(shard-1\), 4 in shard 2\/4 \(shard-2\)$/ });
  // A shard copied without its identity.json is compared on report.json alone.
  t.deepEqual(mergeReports([one(), { ...two(), identity: undefined }, three()], '/out').incomplete, []);
});


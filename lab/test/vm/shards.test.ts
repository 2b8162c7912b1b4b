// Two shards of a run, merged, give the same results as the run in one piece.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { repoRoot } from '../../src/util/paths.ts';

const labw = join(repoRoot, 'labw');
const env = { LAB_NO_BOOTSTRAP: '1', CI: '1' };
const statuses = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { results: { scenario: { id: string }; status: string }[] }).results.map((r) => `${r.scenario.id}=${r.status}`).sort();

test('run --shard 1/2 and 2/2, merged, equal a single full run', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lab-shards-'));
  const dirs = { full: join(root, 'full'), s1: join(root, 's1'), s2: join(root, 's2'), merged: join(root, 'merged') };
  const pattern = 'cdev/';
  await execa(labw, ['run', pattern, '--out', dirs.full], { env, reject: false });
  await execa(labw, ['run', pattern, '--shard', '1/2', '--out', dirs.s1], { env, reject: false });
  await execa(labw, ['run', pattern, '--shard', '2/2', '--out', dirs.s2], { env, reject: false });
  const s1 = statuses(dirs.s1);
  const s2 = statuses(dirs.s2);
  t.true(s1.length > 0 && s2.length > 0);
  t.deepEqual(s1.filter((x) => s2.includes(x)), [], 'no job ran in both shards');
  const merge = await execa(labw, ['report', 'merge', dirs.s1, dirs.s2, '--out', dirs.merged], { env, reject: false });
  t.is(merge.exitCode, 0, merge.stderr);
  t.deepEqual(statuses(dirs.merged), statuses(dirs.full));
  t.regex(readFileSync(join(dirs.merged, 'report.xml'), 'utf8'), new RegExp(`<testsuites[^>]* tests="${statuses(dirs.full).length}"`));
});

test('--resume keeps the finished results of a run and runs only the rest', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'lab-resume-')), 'run');
  // The first run stands for an interrupted one: it finished one of the two scenarios.
  await execa(labw, ['run', 'iommufd-uapi-conventions', '--out', dir], { env, reject: false });
  const first = statuses(dir);
  const resumed = await execa(labw, ['run', 'iommufd-uapi-conventions', 'grant-is-per-fd', '--resume', dir], { env, reject: false });
  t.regex(resumed.stderr, /resuming .*: 1 result\(s\) kept, 1 scenario\(s\) to run/);
  t.deepEqual(statuses(dir), [...first, 'cdev/grant-is-per-fd-and-bind-is-single=passed'].sort());
});

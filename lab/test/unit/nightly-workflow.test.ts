import { readFileSync } from 'node:fs';
import test from 'ava';
import { parse } from 'yaml';
import { parseShard } from '../../src/scenario/planner.ts';
import { repoRoot } from '../../src/util/paths.ts';

interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { strategy?: { matrix?: { shard?: number[] } }; steps: { run?: string; uses?: string }[]; needs?: string }>;
}

const workflow = parse(readFileSync(`${repoRoot}/.github/workflows/nightly.yml`, 'utf8')) as Workflow;

test('the nightly workflow is scheduled and its shard matrix covers 1..N exactly', (t) => {
  t.truthy(workflow.on.schedule);
  const shards = workflow.jobs.shard!.strategy!.matrix!.shard!;
  t.deepEqual([...shards].sort((a, b) => a - b), Array.from({ length: shards.length }, (_, i) => i + 1));
  // Every shard spec the matrix produces is one --shard accepts.
  for (const s of shards) t.deepEqual(parseShard(`${s}/${shards.length}`), { index: s, count: shards.length });
  const run = workflow.jobs.shard!.steps.map((s) => s.run ?? '').join('\n');
  t.regex(run, /\.\/labw run --shard \$\{\{ matrix\.shard \}\}\/\$\{\{ strategy\.job-total \}\}/);
});

test('the merge job waits for the shards and merges their run directories', (t) => {
  const merge = workflow.jobs.merge!;
  t.is(merge.needs, 'shard');
  t.regex(merge.steps.map((s) => s.run ?? '').join('\n'), /\.\/labw report merge shard-\* --out merged/);
  t.true(merge.steps.some((s) => s.uses?.startsWith('actions/upload-artifact')));
});

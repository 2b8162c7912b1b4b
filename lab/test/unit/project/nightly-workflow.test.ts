import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { parse } from 'yaml';
import { parseShard } from '../../../src/scenario/planner.ts';
import { repoRoot } from '../../../src/util/paths.ts';

interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { strategy?: { matrix?: { shard?: number[] } }; steps: { run?: string; uses?: string; with?: Record<string, unknown> }[]; needs?: string }>;
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

test('the nightly also runs the suite and teeth on the sanitize kernel, and the project\'s tests as .ci/run does', (t) => {
  const run = (job: string) => (workflow.jobs[job]?.steps ?? []).map((s) => s.run ?? '').join('\n');
  t.regex(run('sanitize'), /\.\/labw run --sanitize /);
  t.regex(run('teeth'), /\.\/labw teeth --sanitize /);
  t.regex(run('tests'), /\.\/labw test\b/);
  t.regex(run('mutation'), /\.\/labw bench mutation\b/);
  t.regex(readFileSync(`${repoRoot}/.ci/run`, 'utf8'), /^exec \.\/labw test$/m);
});

test('the merge job waits for the shards and merges their run directories', (t) => {
  const merge = workflow.jobs.merge!;
  t.is(merge.needs, 'shard');
  t.regex(merge.steps.map((s) => s.run ?? '').join('\n'), /\.\/labw report merge shard-\* --out merged/);
  t.true(merge.steps.some((s) => s.uses?.startsWith('actions/upload-artifact')));
});

const engines = (JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { engines: { node: string } }).engines.node;
const floor = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(engines)?.[1];

/** a >= b for dotted versions, missing parts being 0. */
function atLeast(a: string, b: string): boolean {
  const [x, y] = [a, b].map((v) => v.replace(/^v/, '').split('.').map(Number));
  for (let i = 0; i < 3; i++) if ((x![i] ?? 0) !== (y![i] ?? 0)) return (x![i] ?? 0) > (y![i] ?? 0);
  return true;
}

test('every job gets its Node from actions/setup-node, at a version engines.node allows, before it needs one', (t) => {
  t.truthy(floor, `engines.node is not ">=X.Y[.Z]": ${engines}`);
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const setup = job.steps.findIndex((s) => s.uses?.startsWith('actions/setup-node@'));
    t.true(setup >= 0, `${name}: no actions/setup-node step`);
    // setup-node's "22" or "22.x" means the newest 22: its lowest match must already satisfy engines.
    const version = String(job.steps[setup]!.with?.['node-version'] ?? '');
    t.regex(version, /^\d+(\.\d+){0,2}(\.x)?$/, `${name}: node-version ${version}`);
    t.true(atLeast(version.replace(/\.x$/, ''), floor!), `${name}: node-version ${version} is below engines.node ${engines}`);
    job.steps.forEach((s, i) => {
      if (/\.\/labw|\bnpm\b|\bnode\b/.test(s.run ?? '')) t.true(i > setup, `${name}: step ${i} needs Node before setup-node`);
      // A distribution's node on PATH would shadow setup-node's inside a container.
      t.notRegex(s.run ?? '', /apt-get install[^\n]*\b(nodejs|npm)\b/, `${name}: step ${i} installs Debian's Node`);
    });
  }
});

test('every lab command the workflow runs exists, with the options it passes', async (t) => {
  const runs = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));
  const all = runs.flatMap((r) => [...r.matchAll(/\.\/labw ([^\n&|;'>]*)/g)].map((m) => m[1]!.trim().split(/\s+/).filter((w) => !/^\d$/.test(w))));
  // `test` and `bench` are the launcher's own (labw runs npm test, or bench/NAME.ts): asking them
  // for --help would run the suite or the bench. Each bench named must exist.
  const calls = all.filter((tokens) => tokens[0] !== 'test' && tokens[0] !== 'bench');
  if (all.some((tokens) => tokens[0] === 'test')) t.regex(readFileSync(`${repoRoot}/labw`, 'utf8'), /^\s+test\) cd "\$here" && exec npm test --silent ;;$/m);
  for (const tokens of all.filter((w) => w[0] === 'bench')) t.true(existsSync(`${repoRoot}/bench/${tokens[1]}.ts`), `./labw bench ${tokens[1]}: no bench/${tokens[1]}.ts`);
  t.true(calls.length >= 2, 'the workflow runs ./labw');
  const help = async (words: string[]) => (await execa(`${repoRoot}/labw`, [...words, '--help'], { env: { LAB_NO_BOOTSTRAP: '1' }, reject: false })).stdout;
  await Promise.all(
    calls.map(async (tokens) => {
      // A command with subcommands (report → merge) takes the next word as one.
      const words = [tokens[0]!];
      let text = await help(words);
      if (/^Commands:/m.test(text) && tokens[1]) text = await help([...words, tokens[1]]).then((h) => (words.push(tokens[1]!), h));
      t.regex(text, new RegExp(`^Usage: labw ${words.join(' ')} `, 'm'), `./labw ${tokens.join(' ')}: no such command`);
      for (const option of tokens.filter((w) => w.startsWith('--'))) t.true(text.includes(`${option} `), `./labw ${words.join(' ')} has no ${option}`);
    }),
  );
  if (runs.some((r) => /\bnpm ci\b/.test(r))) t.true(existsSync(`${repoRoot}/package-lock.json`), 'npm ci needs package-lock.json');
});

test('the launcher refuses a too-old Node with what to do, before touching any package', async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'lab-fake-node-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  const fake = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  // Any package or module work would leave a trace: the check must come first.
  for (const tool of ['apt-get', 'dpkg-query', 'sudo', 'npm']) fake(tool, `echo ${tool} >> ${bin}/touched; exit 1`);
  const labw = (version: string, env: Record<string, string> = {}) => {
    fake('node', `[ "$1" = --version ] && { echo ${version}; exit 0; }; echo "lab ran"`);
    // LAB_NO_BOOTSTRAP unset unless given: the version check must not depend on it.
    return execa(`${repoRoot}/labw`, ['list'], { env: { PATH: `${bin}:${process.env.PATH}`, HOME: bin, ...env }, extendEnv: false, reject: false });
  };

  const old = await labw('v18.20.4');
  t.is(old.exitCode, 2);
  t.regex(old.stderr, new RegExp(`Node\\.js >= ${floor!.replace(/\./g, '\\.')} is needed \\(package\\.json engines\\.node\\); found v18\\.20\\.4 at ${bin}/node`));
  t.regex(old.stderr, /Debian 12's nodejs package is 18/);
  t.regex(old.stderr, /nvm install --lts/);
  t.notRegex(old.stdout, /lab ran/);
  t.false(existsSync(join(bin, 'touched')), existsSync(join(bin, 'touched')) ? `ran: ${readFileSync(join(bin, 'touched'), 'utf8')}` : undefined);

  const [major, minor] = floor!.split('.').map(Number);
  t.is((await labw(`v${major}.${minor! - 1}.9`)).exitCode, 2, 'just below the floor');
  for (const ok of [`v${major}.${minor}.0`, `v${major! + 4}.1.0`, 'v100.0.0']) {
    const r = await labw(ok, { LAB_NO_BOOTSTRAP: '1' });
    t.is(r.stdout, 'lab ran', `${ok}: ${r.stderr}`);
  }
});

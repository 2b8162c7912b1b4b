import test from 'ava';
import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dieWithLab } from '../../../src/util/reaper.ts';
import { processStartTime } from '../../../src/util/owner.ts';
import { sleep } from '../../../src/util/deadline.ts';

const here = import.meta.dirname;

/** Live (not zombie) processes whose process group is pgid. */
async function groupMembers(pgid: number): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] !== 'Z' && f[0] !== 'X' && Number(f[2]) === pgid) out.push(Number(e));
  }
  return out;
}

async function waitGone(check: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) return -1;
    await sleep(50);
  }
  return Date.now() - t0;
}

test('a SIGKILLed lab takes its child and the whole group of a guarded tree with it, within 2 s', async (t) => {
  const lab = execa('node', ['--import', 'tsx', join(here, 'reaper-lab.ts')], { reject: false, buffer: false });
  const lines: string[] = [];
  let text = '';
  lab.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    lines.splice(0, lines.length, ...text.split('\n').filter(Boolean));
  });
  for (let i = 0; i < 200 && lines.length < 2; i++) await sleep(50);
  const pids = Object.fromEntries(lines.map((l) => JSON.parse(l) as { mode: string; pid: number }).map((c) => [c.mode, c.pid]));
  const direct = pids.process!;
  const guard = pids.group!;
  // The tree is up: the guard, its sh and two sleeps share the guard's group.
  await waitGone(async () => (await groupMembers(guard)).length >= 4, 5000);
  t.true((await groupMembers(guard)).length >= 4, 'the guarded tree did not start');
  t.regex(await readFile(`/proc/${direct}/cmdline`, 'utf8'), /^sleep\x0060/, 'process mode execs the command in place (same pid)');
  lab.kill('SIGKILL');
  await lab;
  const directMs = await waitGone(async () => processStartTime(direct) === undefined, 2000);
  const groupMs = await waitGone(async () => (await groupMembers(guard)).length === 0, 2000);
  t.log(`gone after the lab's SIGKILL: direct child ${directMs} ms, group ${groupMs} ms`);
  t.true(directMs >= 0, 'the direct child outlived the lab by more than 2 s');
  t.true(groupMs >= 0, `group ${guard} still has ${(await groupMembers(guard)).join(', ')}`);
});

test('a guarded command keeps its exit status, stdin and output; killing the guard kills its group', async (t) => {
  const ok = dieWithLab(['sh', '-c', 'read x; echo "got $x"; exit 3'], 'group');
  const r = await execa(ok.file, ok.args, { ...ok.options, input: 'hello\n', reject: false });
  t.is(r.exitCode, 3);
  t.is(r.stdout, 'got hello');
  const direct = dieWithLab(['sh', '-c', 'exit 4']);
  t.is((await execa(direct.file, direct.args, { ...direct.options, reject: false })).exitCode, 4);

  const tree = dieWithLab(['sh', '-c', 'sleep 63 & sleep 64 & wait'], 'group');
  const child = execa(tree.file, tree.args, { ...tree.options, reject: false });
  await waitGone(async () => (await groupMembers(child.pid!)).length >= 4, 5000);
  child.kill('SIGTERM');
  const end = await child;
  t.is(end.signal, 'SIGKILL');
  t.true((await waitGone(async () => (await groupMembers(child.pid!)).length === 0, 2000)) >= 0);
});

test('an empty argv is refused', (t) => {
  t.throws(() => dieWithLab([]), { message: /empty argv/ });
});

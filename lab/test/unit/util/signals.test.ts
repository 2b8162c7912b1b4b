import test from 'ava';
import { execa } from 'execa';
import { join } from 'node:path';
import { sleep } from '../../../src/util/deadline.ts';

async function lab(signals: NodeJS.Signals[]) {
  const child = execa('node', ['--import', 'tsx', join(import.meta.dirname, 'signals-lab.ts')], { reject: false });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  for (let i = 0; i < 200 && !out.includes('ready'); i++) await sleep(50);
  for (const s of signals) {
    child.kill(s);
    await sleep(100);
  }
  const r = await child;
  return { code: r.exitCode, signal: r.signal, out: r.stdout };
}

test('SIGINT exits 130 after the teardown', async (t) => {
  const r = await lab(['SIGINT']);
  t.deepEqual([r.code, r.signal], [130, undefined]);
  t.regex(r.out, /got SIGINT\nteardown done/);
});

test('SIGTERM exits 143 (128 + 15), though the command exits with "interrupted" (130)', async (t) => {
  const r = await lab(['SIGTERM']);
  t.is(r.code, 143);
  t.regex(r.out, /teardown done/);
});

test('a second Ctrl-C neither kills the lab before its teardown nor starts another one', async (t) => {
  const r = await lab(['SIGINT', 'SIGINT', 'SIGINT']);
  t.deepEqual([r.code, r.signal], [130, undefined]);
  t.is(r.out.match(/teardown done/g)?.length, 1);
  t.is(r.out.match(/again SIGINT/g)?.length, 2);
});

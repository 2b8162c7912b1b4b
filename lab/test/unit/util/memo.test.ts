import { mkdtempSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { memoByStamps, resolveCommand } from '../../../src/util/memo.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'lab-memo-'));

test('an answer is remembered while its files keep their stamps, and asked again when one changes', async (t) => {
  const cache = dir();
  const tool = join(dir(), 'tool');
  writeFileSync(tool, 'v1');
  let asked = 0;
  const ask = () => memoByStamps('tool --version', async () => ({ value: `answer ${++asked}`, files: [tool] }), cache);
  t.is(await ask(), 'answer 1');
  t.is(await ask(), 'answer 1');
  writeFileSync(tool, 'v2, a longer file');
  t.is(await ask(), 'answer 2');
  t.is(await ask(), 'answer 2');
  t.is(asked, 2);
});

test('an answer that names no file, or a file that is gone, is not remembered', async (t) => {
  const cache = dir();
  let asked = 0;
  const none = () => memoByStamps('fails', async () => ({ value: ++asked, files: [] }), cache);
  t.is(await none(), 1);
  t.is(await none(), 2);
  const gone = () => memoByStamps('gone', async () => ({ value: ++asked, files: [join(cache, 'no-such-file')] }), cache);
  t.is(await gone(), 3);
  t.is(await gone(), 4);
});

test('a cache that cannot be written costs the memo, not the answer', async (t) => {
  const blocked = join(dir(), 'cache');
  writeFileSync(blocked, 'a file where the cache directory would be');
  const tool = join(dir(), 'tool');
  writeFileSync(tool, 'v1');
  t.is(await memoByStamps('x', async () => ({ value: 'ok', files: [tool] }), blocked), 'ok');
});

test('resolveCommand finds the first executable on PATH, and nothing for a plain file', (t) => {
  const [a, b] = [dir(), dir()];
  mkdirSync(join(a, 'sub'));
  writeFileSync(join(a, 'tool'), '');
  writeFileSync(join(b, 'tool'), '#!/bin/sh\n');
  chmodSync(join(b, 'tool'), 0o755);
  t.is(resolveCommand('tool', `${a}:${b}`), join(b, 'tool'));
  t.is(resolveCommand('missing', `${a}:${b}`), null);
  t.is(resolveCommand(join(b, 'tool')), join(b, 'tool'));
});

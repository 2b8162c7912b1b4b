import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Store } from '../../src/util/store.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'store-'));

test('builds once, then hits', async (t) => {
  const store = new Store(tmp());
  let builds = 0;
  const build = async (dir: string) => {
    builds++;
    writeFileSync(join(dir, 'artifact'), 'bytes');
    return { note: 'x' };
  };
  const first = await store.get('k1', build);
  const second = await store.get('k1', build);
  t.deepEqual([first.hit, second.hit, builds], [false, true, 1]);
  t.is(readFileSync(join(second.dir, 'artifact'), 'utf8'), 'bytes');
  t.is(second.manifest.meta.note, 'x');
});

test('a damaged entry is detected and rebuilt', async (t) => {
  const store = new Store(tmp());
  let builds = 0;
  const build = async (dir: string) => {
    builds++;
    writeFileSync(join(dir, 'artifact'), 'bytes');
    return {};
  };
  const first = await store.get('k', build);
  writeFileSync(join(first.dir, 'artifact'), 'bytez');
  const again = await store.get('k', build);
  t.false(again.hit);
  t.is(builds, 2);
  t.is(readFileSync(join(again.dir, 'artifact'), 'utf8'), 'bytes');
});

test('a failed build leaves no entry behind', async (t) => {
  const store = new Store(tmp());
  await t.throwsAsync(store.get('k', async (dir) => {
    writeFileSync(join(dir, 'half'), 'x');
    throw new Error('make failed');
  }), { message: 'make failed' });
  t.is(await store.lookup('k'), null);
});

test('two builders of one key: the second waits and reuses the first result', async (t) => {
  const store = new Store(tmp());
  let builds = 0;
  const build = async (dir: string) => {
    builds++;
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(join(dir, 'artifact'), 'bytes');
    return {};
  };
  const [a, b] = await Promise.all([store.get('k', build), store.get('k', build)]);
  t.is(builds, 1);
  t.deepEqual([a.hit, b.hit].sort(), [false, true]);
});

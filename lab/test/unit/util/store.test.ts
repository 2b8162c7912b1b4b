import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { DiskFullError } from '../../../src/util/disk-full.ts';
import { processStartTime } from '../../../src/util/owner.ts';
import { Store } from '../../../src/util/store.ts';

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

test('a hit records what it verified; an edit in place that keeps size and mtime is still caught', async (t) => {
  const store = new Store(tmp());
  let builds = 0;
  const build = async (dir: string) => {
    builds++;
    writeFileSync(join(dir, 'artifact'), 'bytes');
    return {};
  };
  const first = await store.get('k', build);
  t.true((await store.get('k', build)).hit);
  const stamps = JSON.parse(readFileSync(join(first.dir, 'verified.json'), 'utf8')) as Record<string, string>;
  t.deepEqual(Object.keys(stamps), ['artifact']);
  t.regex(stamps.artifact!, /^5:\d+:\d+:\d+$/);
  t.true((await store.get('k', build)).hit);
  const { mtime } = statSync(join(first.dir, 'artifact'));
  writeFileSync(join(first.dir, 'artifact'), 'bytez');
  utimesSync(join(first.dir, 'artifact'), mtime, mtime);
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

/** A pid and start time of a process that has exited: a real leftover's owner. */
async function deadOwnerTag(): Promise<string> {
  const child = execa('sleep', ['0.2']);
  const start = processStartTime(child.pid!);
  await child;
  return `${child.pid}.${start}`;
}

test('leftovers of dead processes are swept at the next use; a live process\'s are kept', async (t) => {
  const root = tmp();
  const dead = await deadOwnerTag();
  const mine = `${process.pid}.${processStartTime(process.pid)}`;
  // A pid reused by a later process: same pid, another start time — its owner is gone too.
  const reused = `${process.pid}.1`;
  for (const name of [`.tmp-k1-${dead}`, `.tmp-k2-${mine}`, `.tmp-k3-${reused}`, 'k4.lock', 'k5.lock']) mkdirSync(join(root, name));
  writeFileSync(join(root, `.tmp-k1-${dead}`, 'half.o'), 'x');
  writeFileSync(join(root, 'k4.lock.owner'), dead);
  writeFileSync(join(root, 'k5.lock.owner'), mine);
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(root, 'k4.lock'), old, old);
  utimesSync(join(root, 'k5.lock'), old, old);
  const store = new Store(root);
  await store.get('other', async (dir) => {
    writeFileSync(join(dir, 'a'), 'a');
    return {};
  });
  const left = readdirSync(root).sort();
  t.deepEqual(left, [`.tmp-k2-${mine}`, 'k5.lock', 'k5.lock.owner', 'other']);
});

test('a lock whose dead holder refreshed it moments ago is not swept yet (it may have just been taken over)', async (t) => {
  const root = tmp();
  mkdirSync(join(root, 'k.lock'));
  writeFileSync(join(root, 'k.lock.owner'), await deadOwnerTag());
  t.deepEqual(await new Store(root).sweep(), []);
});

test('a full disk during a build names the entry, and leaves neither entry nor temp dir', async (t) => {
  const root = tmp();
  const store = new Store(root);
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const error = await t.throwsAsync(store.get('k', async (dir) => {
    writeFileSync(join(dir, 'half'), 'x');
    throw enospc;
  }));
  t.true(error instanceof DiskFullError);
  t.regex(error!.message, new RegExp(`^no space left on the device holding ${root}/\\.tmp-k-\\d+\\.\\d+$`));
  t.deepEqual(readdirSync(root), []);
});

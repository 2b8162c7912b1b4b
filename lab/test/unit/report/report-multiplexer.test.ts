import test from 'ava';
import type { Reporter, RunEvent } from '../../../src/report/events.ts';
import { Multiplexer } from '../../../src/report/multiplexer.ts';
import { events, feed, sink } from './report-fixture.ts';

function recorder(name = 'recorder'): Reporter & { seen: string[]; closed: number } {
  const r = {
    name,
    seen: [] as string[],
    closed: 0,
    onEvent: (e: RunEvent) => void r.seen.push(e.type),
    close: () => void r.closed++,
  };
  return r;
}

function thrower(name: string, on: RunEvent['type'], mode: 'sync' | 'async'): Reporter & { calls: number } {
  const r = {
    name,
    calls: 0,
    onEvent(e: RunEvent): void | Promise<void> {
      r.calls++;
      if (e.type !== on) return mode === 'async' ? Promise.resolve() : undefined;
      if (mode === 'sync') throw new Error(`${name} broke`);
      return Promise.reject(new Error(`${name} broke`));
    },
  };
  return r;
}

test('a reporter that throws or rejects is disabled with one warning; the others see every event', async (t) => {
  const ok = recorder();
  const sync = thrower('sync-one', 'scenario-start', 'sync');
  const async = thrower('async-one', 'run-start', 'async');
  const stderr = sink();
  const mux = new Multiplexer([sync, ok, async], { stderr });

  await t.notThrowsAsync(feed(mux));

  const all = events().map((e) => e.type);
  t.deepEqual(ok.seen, all);
  t.is(ok.closed, 1);
  // Disabled at the failing event: never called again.
  t.is(async.calls, 1);
  t.is(sync.calls, 2);
  const warnings = stderr.text().trim().split('\n');
  t.is(warnings.length, 2);
  t.regex(stderr.text(), /async-one reporter failed during run-start .*: async-one broke/);
  t.regex(stderr.text(), /sync-one reporter failed during scenario-start .*: sync-one broke/);
  t.deepEqual(mux.disabled.map((d) => [d.name, d.during]).sort(), [['async-one', 'run-start'], ['sync-one', 'scenario-start']]);
});

test('close closes every enabled reporter even when one of them throws in close', async (t) => {
  const a = recorder('a');
  const b = recorder('b');
  const bad: Reporter = { name: 'bad-close', onEvent: () => {}, close: () => Promise.reject(new Error('disk full')) };
  const stderr = sink();
  const mux = new Multiplexer([a, bad, b], { stderr });

  await mux.onEvent(events()[0]!);
  await t.notThrowsAsync(mux.close());
  await mux.close();

  t.is(a.closed, 1);
  t.is(b.closed, 1);
  t.regex(stderr.text(), /^warning: the bad-close reporter failed during close .*: disk full\n$/);
});

test('a disabled reporter is not closed', async (t) => {
  let closed = false;
  const broken: Reporter = { name: 'broken', onEvent: () => { throw new Error('x'); }, close: () => void (closed = true) };
  const mux = new Multiplexer([broken], { stderr: sink() });
  await feed(mux);
  t.false(closed);
  t.is(mux.disabled.length, 1);
});

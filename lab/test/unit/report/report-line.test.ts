import test from 'ava';
import { LineReporter } from '../../../src/report/line.ts';
import { feed, sink } from './report-fixture.ts';

test('piped: symbols, ids, durations, details, summary with time, and no escape codes', async (t) => {
  const stream = sink(false);
  await feed(new LineReporter({ stream }));
  const out = stream.text();
  t.false(out.includes('\x1b'));
  t.false(out.includes('\r'));
  t.regex(out, /^✔ cdev\/parked-fd \(3\.2s\)$/m);
  t.regex(out, /^✘ cdev\/double-bind \(1\.5s\)\n {4}second BIND returned 0/m);
  t.regex(out, /^! iommufd\/ioas-map \(1m31s\)\n {4}boot: guest did not reach sshd/m);
  t.regex(out, /^- iommufd\/nested-s2 \(0\.0s\)\n {4}needs "nested" #VT-d & KVM$/m);
  t.regex(out, /^skipped \(1\):\n {2}iommufd\/nested-s2: needs "nested" #VT-d & KVM\nresults in /m);
  t.regex(out, /^1 passed, 1 failed, 1 errored, 1 skipped, 1 not judged \(skipped on every machine: iommufd\/nested-s2\) \(1m35s\)\n$/m);
});

test('on a TTY: coloured status, a live running line that is erased before each result', async (t) => {
  const stream = sink(true);
  await feed(new LineReporter({ stream }));
  const out = stream.text();
  t.true(out.includes('\x1b[32m✔\x1b[39m cdev/parked-fd (3.2s)'));
  t.true(out.includes('\x1b[31m✘\x1b[39m cdev/double-bind'));
  t.true(out.includes('… cdev/double-bind › second bind'));
  // Once the escape codes are interpreted, the last state of every line is what a user sees.
  const screen = out.split('\n').map((l) => l.split('\r\x1b[2K').at(-1)!.replace(/\x1b\[\d+m/g, ''));
  t.true(screen.includes('✔ cdev/parked-fd (3.2s)'));
  t.false(screen.some((l) => l.startsWith('…')));
  t.true(screen.includes('1 passed, 1 failed, 1 errored, 1 skipped, 1 not judged (skipped on every machine: iommufd/nested-s2) (1m35s)'));
});

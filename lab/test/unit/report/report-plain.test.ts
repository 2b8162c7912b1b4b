import test from 'ava';
import { PlainReporter } from '../../../src/report/plain.ts';
import { feed, outsideEvents, sink } from './report-fixture.ts';

async function output(): Promise<string> {
  const stream = sink(true);
  await feed(new PlainReporter({ stream, now: () => new Date('2025-01-01T12:34:56Z') }));
  return stream.text();
}

test('timestamped lines, one per finished scenario, with details indented below', async (t) => {
  const out = await output();
  t.regex(out, /^\[12:34:56\] PASS cdev\/parked-fd \(3\.2s\)$/m);
  t.regex(out, /^\[12:34:56\] FAIL cdev\/double-bind \(1\.5s\)\n {4}second BIND returned 0, expected <EBUSY> & nothing else\n/m);
  // Observations are reported through the failures they caused, never twice.
  t.notRegex(out, /observed ok \(ret 0\)/);
  t.regex(out, /^\[12:34:56\] ERROR iommufd\/ioas-map \(1m31s\)\n {4}boot: guest did not reach sshd within 90\.0 s$/m);
  t.regex(out, /^\[12:34:56\] SKIP iommufd\/nested-s2 \(0\.0s\)\n {4}needs "nested" #VT-d & KVM$/m);
  t.regex(out, /^ {4}serial: \/var\/lab\/runs\/20250101-120000-abcd\/iommufd\/ioas-map\/serial\.log$/m);
  // The held observation is not noise under the failure.
  t.notRegex(out, /VFIO_DEVICE_BIND_IOMMUFD: expected ok/);
});

test('no colour even on a TTY, and the summary alone on the last line', async (t) => {
  const out = await output();
  t.false(out.includes('\x1b'));
  t.regex(out, /^\d+ passed, \d+ failed, \d+ errored, \d+ skipped(, |$)/m);
  const lines = out.trimEnd().split('\n');
  t.is(lines.at(-1), '1 passed, 1 failed, 1 errored, 1 skipped, 1 not judged (skipped on every machine: iommufd/nested-s2)');
  // Every skip and its reason, just above the summary.
  t.deepEqual(lines.slice(-3, -1), ['skipped (1):', '  iommufd/nested-s2: needs "nested" #VT-d & KVM']);
});

test('a finding outside every scenario is printed as it comes, with where, what and its log, and counted', async (t) => {
  const stream = sink(false);
  await feed(new PlainReporter({ stream, now: () => new Date('2025-01-01T12:34:56Z') }), outsideEvents());
  const out = stream.text();
  t.regex(out, /^\[12:34:56\] FOUND in the kernel log between cdev\/parked-fd and cdev\/double-bind\n {4}kernel WARNING in iommufd_fops_release\n {6}WARNING: CPU: 1 PID: 0 at drivers\/iommu\/iommufd\/main\.c:99\n {4}log: \/var\/lab\/runs\/20250101-120000-abcd\/guests\/worker-1-guest-1\/outside-1\.log$/m);
  t.regex(out, /1 passed, 1 failed, 1 errored, 1 skipped, 1 kernel-log finding outside the scenarios, 1 not judged \(skipped on every machine: iommufd\/nested-s2\)\n$/);
});

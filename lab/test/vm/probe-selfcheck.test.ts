// The probe against the kernel under test: its host-side selfcheck built with that kernel's uAPI
// headers, and its output in a real guest read through the schemas (probe-schema.ts).
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { Probe } from '../../src/scenario/probe.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { guestFor, withGuest } from './harness.ts';

test.serial('selfcheck.sh passes against the default kernel’s uAPI headers', async (t) => {
  const guest = await guestFor();
  const r = await execa('sh', [join(repoRoot, 'guest-images/probe/selfcheck.sh'), guest.kernel.headers], { reject: false, cwd: repoRoot });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.false(/^FAIL/m.test(r.stdout), r.stdout);
  t.true((r.stdout.match(/^ok /gm)?.length ?? 0) >= 9, r.stdout);
});

test.serial('in the guest, info and a run read through their schemas, with the time scale passed', async (t) => {
  const guest = await guestFor();
  await withGuest(guest, async ({ vm }) => {
    const probe = new Probe(vm, { timeScale: 3 });
    const info = await probe.info();
    t.true(info.devices.some((d) => d.vendor === '0x1b36'), 'the NVMe controller is listed');
    const r = await probe.run({ buf: 'buf b 8192 fill=0x5a', check: 'buf-check b', missing: 'exists /nonexistent' });
    t.is(r.buf.length, 8192);
    t.is(r.buf.gpas?.length, 2);
    t.true(r.buf.gpas?.every((g) => g !== null && BigInt(g) > 0n), 'root sees the pages’ GPAs');
    t.is(r.check.changed, false);
    t.is(r.missing.exists, false);
    const scaled = JSON.parse((await vm.exec("vfio-probe --time-scale 3 run 'sleep 1'")).stdout) as { time_scale: number };
    t.is(scaled.time_scale, 3);
  });
});

import test from 'ava';
import { execa } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestDevice } from '../../../src/scenario/define.ts';
import { bindScript } from '../../../src/scenario/devices.ts';
import { afterScript, beginMarker, driversScript, leftoversScript, logFollows, parseDrivers, readReset, resetScript, sinceMarker, splitAfter } from '../../../src/scenario/reset.ts';

test('a reused guest’s kernel log is judged from the scenario’s own marker on', (t) => {
  const m = beginMarker('cdev/b#2');
  const log = ['[ 1.0] boot', `[ 2.0] ${beginMarker('cdev/a#1')}`, '[ 2.5] WARNING: CPU: 0 PID: 9 at x.c:1 f+0x1/0x2', `[ 3.0] ${m}`, '[ 3.1] vfio: ok', ''].join('\n');
  t.is(sinceMarker(log, m), '[ 3.1] vfio: ok\n');
  // Without its marker (a fresh guest, or a marker lost) the whole log is judged: nothing hidden.
  t.is(sinceMarker(log, beginMarker('other')), log);
});

test('the drivers each device is on are read back per BDF, "-" for none', (t) => {
  t.regex(driversScript(['0000:00:03.0']), /devices\/0000:00:03\.0;/);
  t.deepEqual([...parseDrivers('0000:00:03.0 nvme\n0000:00:04.0 -\n')], [['0000:00:03.0', 'nvme'], ['0000:00:04.0', '-']]);
});

test('the one-exec reset script parses in sh and busybox sh, each part tagged, BDFs quoted', async (t) => {
  const script = resetScript(['0000:00:03.0', '0000:00:04.0'], ['0000:00:05.0'], 4);
  for (const shell of [['sh', '-n'], ['busybox', 'sh', '-n']]) {
    const r = await execa(shell[0]!, [...shell.slice(1), '-c', afterScript(script, 'dmesg')], { reject: false });
    t.is(r.exitCode, 0, `${shell.join(' ')}: ${r.stderr}`);
  }
  t.regex(script, /\| sed 's\|\^\|bind 0000:00:03\.0 \|'$/m);
  t.regex(script, /\| sed 's\/\^\/driver \/'$/m);
  t.regex(script, /vfio-probe --time-scale 4 run "\$@"/);
  // A device the scenario did not use is only read, never rebound.
  t.notRegex(script, /0000:00:05\.0[^\n]*driver_override|devices\/0000:00:05\.0\necho vfio-pci/);
  t.false(resetScript([], []).includes('driver /'));
});

const nvme: GuestDevice = { name: 'nvme', bdf: '0000:00:03.0', cdev: '/dev/vfio/devices/vfio0', group: 1 };
const e1000: GuestDevice = { name: 'e1000', bdf: '0000:00:04.0', cdev: '/dev/vfio/devices/vfio1', group: 2 };

/**
 * Runs the reset script on this host with each device's bind replaced by a line of its own (the
 * real one writes to /sys) and a vfio-probe that answers each step as `answer` says: what the
 * shell builds for the probe is what readReset must read back. The script scans this host's
 * /proc for vfio-probe processes and shares /tmp/lab-proof.err, as it may in a guest where one
 * reset runs at a time: the tests that run it are serial, or one's fake probe is the other's
 * leftover (seen once in CI: "process vfio-probe (pid 4793) still running").
 */
async function resetOnHost(binds: Record<string, string>, answer: (step: string) => string, probeExit = 0): Promise<string> {
  const bin = mkdtempSync(join(tmpdir(), 'lab-fakeprobe-'));
  writeFileSync(
    join(bin, 'vfio-probe'),
    ['#!/bin/sh', 'shift 3', 'printf \'{"time_scale":4,"steps":[\'', 'sep=', 'for s in "$@"; do printf \'%s\' "$sep"; sep=,', '  case "$s" in', ...Object.entries({ iommufd: 'iommufd*', open: 'open*', bind: 'bind*' }).map(([op, glob]) => `  ${glob}) ${answer(op)} ;;`), '  esac', 'done', "echo ']}'", `echo 'probe stderr' >&2; exit ${probeExit}`].join('\n'),
  );
  chmodSync(join(bin, 'vfio-probe'), 0o755);
  let script = resetScript(Object.keys(binds), []);
  for (const [bdf, line] of Object.entries(binds)) script = script.replace(bindScript(bdf), line);
  const r = await execa('sh', ['-c', afterScript(script, 'echo kernel log')], { env: { PATH: `${bin}:${process.env.PATH}` } });
  const parts = splitAfter(r.stdout);
  if (!parts) throw new Error(`no ${logFollows} line in ${r.stdout}`);
  t0(parts.rest === 'kernel log');
  return parts.reset;
}
function t0(ok: boolean) {
  if (!ok) throw new Error('the kernel log part was not what followed the reset');
}

const ok = {
  iommufd: `printf '{"op":"iommufd","args":["i"],"ret":3,"errno":0,"errname":null}'`,
  open: `printf '{"op":"open","args":["%s","%s"],"ret":4,"errno":0,"errname":null}' $(echo "$s" | cut -d' ' -f2) $(echo "$s" | cut -d' ' -f3)`,
  bind: `printf '{"op":"bind","args":["%s","i"],"ret":0,"errno":0,"errname":null,"out_devid":1}' $(echo "$s" | cut -d' ' -f2)`,
} as Record<string, string>;

test.serial('the next user’s BIND runs in the reset’s own exec, on the cdevs the rebind named, and is read back', async (t) => {
  const out = await resetOnHost({ [nvme.bdf]: 'echo /dev/vfio/devices/vfio5 9', [e1000.bdf]: 'echo /dev/vfio/devices/vfio6 10' }, (op) => ok[op]!);
  t.regex(out, /^proof-exit 0$/m);
  t.regex(out, /"args":\["d0","\/dev\/vfio\/devices\/vfio5"\]/);
  t.regex(out, /"args":\["d1","\/dev\/vfio\/devices\/vfio6"\]/);
  t.deepEqual(readReset(out, [nvme, e1000], new Map([[nvme.bdf, 'nvme'], [e1000.bdf, 'e1000']])), { leaks: [], notReusable: [] });
});

test.serial('a device that does not come back is a leak, and the other is still proven under its own index', async (t) => {
  const out = await resetOnHost({ [nvme.bdf]: 'echo "sh: write error: No such device" >&2', [e1000.bdf]: 'echo /dev/vfio/devices/vfio6 10' }, (op) => ok[op]!);
  t.notRegex(out, /"d0"/);
  const r = readReset(out, [nvme, e1000], new Map());
  t.is(r.leaks.length, 1);
  t.regex(r.leaks[0]!, /^nvme \(0000:00:03\.0\) could not be bound to vfio-pci again: sh: write error: No such device$/);
});

test.serial('a BIND the next user is refused, or a probe that fails, is a leak naming the device and why', async (t) => {
  const refused = await resetOnHost({ [nvme.bdf]: 'echo /dev/vfio/devices/vfio5 9' }, (op) => (op === 'bind' ? `printf '{"op":"bind","args":["d0","i"],"ret":-1,"errno":16,"errname":"EBUSY","out_devid":null}'` : ok[op]!));
  t.deepEqual(readReset(refused, [nvme], new Map()).leaks, ['nvme (0000:00:03.0) cannot be bound by the next user: BIND gives EBUSY, expected ok']);
  // Where BIND is refused to everyone by design (EPERM without interrupt remapping), that is no leak.
  const eperm = await resetOnHost({ [nvme.bdf]: 'echo /dev/vfio/devices/vfio5 9' }, (op) => (op === 'bind' ? `printf '{"op":"bind","args":["d0","i"],"ret":-1,"errno":1,"errname":"EPERM","out_devid":null}'` : ok[op]!));
  t.deepEqual(readReset(eperm, [nvme], new Map(), 1).leaks, []);
  const crashed = await resetOnHost({ [nvme.bdf]: 'echo /dev/vfio/devices/vfio5 9' }, (op) => ok[op]!, 139);
  t.deepEqual(readReset(crashed, [nvme], new Map()).leaks, ["nvme (0000:00:03.0): the next user's open and BIND failed: vfio-probe exited 139: probe stderr"]);
});

test('a leftover stops the reset before anything is rebound; other devices must be back on their boot driver', (t) => {
  t.deepEqual(readReset('left process vfio-probe (pid 7) still running\n', [nvme], new Map()), { leaks: ['process vfio-probe (pid 7) still running'], notReusable: [] });
  const r = readReset('driver 0000:00:04.0 vfio-pci\n', [], new Map([[e1000.bdf, 'e1000']]));
  t.deepEqual(r, { leaks: [], notReusable: ['0000:00:04.0 is on vfio-pci, booted on e1000'] });
  // The kernel log part starts only at a line of its own.
  t.is(splitAfter(`x${logFollows}\nlog`), null);
  t.deepEqual(splitAfter(`a\n${logFollows}\nlog\n`), { reset: 'a\n', rest: 'log\n' });
});

test('the leftovers script names each process holding a VFIO or iommufd file, and nothing else', async (t) => {
  const proc = mkdtempSync(join(tmpdir(), 'lab-fakeproc-'));
  const links: [string, string, string][] = [
    ['123', '3', '/dev/vfio/devices/vfio0'],
    ['123', '4', '/dev/iommu'],
    ['123', '5', '/dev/null'],
    ['45', '0', '/dev/vfio/7'],
    ['45', '1', '/dev/iommufoo'],
    ['678', '2', 'anon_inode:[vfio-device]'],
  ];
  for (const [pid, fd, target] of links) {
    mkdirSync(join(proc, pid, 'fd'), { recursive: true });
    symlinkSync(target, join(proc, pid, 'fd', fd));
    writeFileSync(join(proc, pid, 'comm'), pid === '123' ? 'vfio-probe\n' : 'sh\n');
  }
  for (const shell of [['sh'], ['busybox', 'sh']]) {
    const r = await execa(shell[0]!, [...shell.slice(1), '-c', leftoversScript(proc)]);
    t.deepEqual(r.stdout.split('\n').sort(), [`${proc}/123 still holds /dev/iommu`, `${proc}/123 still holds /dev/vfio/devices/vfio0`, `${proc}/45 still holds /dev/vfio/7`, 'process vfio-probe (pid 123) still running'], shell.join(' '));
  }
});

import test from 'ava';
import { execa } from 'execa';
import { busyboxPath, parseAppletList } from '../../../src/image/initramfs.ts';

test('the applet links come from the busybox that goes into the image, as --install -s makes them', async (t) => {
  const applets = parseAppletList((await execa(busyboxPath, ['--list-full'])).stdout);
  // What init.sh and the lab's guest commands rely on.
  for (const path of ['bin/sh', 'bin/mount', 'bin/mkdir', 'sbin/ip', 'bin/cat', 'usr/bin/timeout', 'bin/dmesg']) t.true(applets.includes(path), path);
  t.false(applets.includes('bin/busybox'));
  t.is(new Set(applets).size, applets.length);
});

test('an applet list is read as relative paths only', (t) => {
  t.deepEqual(parseAppletList('bin/sh\n\nbin/busybox\n/etc/passwd\nusr/../../x\nsbin/ip\n'), ['bin/sh', 'sbin/ip']);
});

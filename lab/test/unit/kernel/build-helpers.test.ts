import test from 'ava';
import { bootImage } from '../../../src/kernel/build.ts';
import { configMap } from '../../../src/kernel/kconfig.ts';
import { failedFile } from '../../../src/kernel/apply.ts';
import { buildKey, type KeyInputs } from '../../../src/kernel/cache-key.ts';
import { firstErrors, makeArgs } from '../../../src/kernel/make.ts';
import { parseLdd } from '../../../src/image/initramfs.ts';
import { diagnoseExit } from '../../../src/qemu/serial.ts';

const inputs: KeyInputs = {
  baseIdentity: 'tarball:abc',
  patches: [{ text: 'patch one' }],
  baseConfig: 'tinyconfig',
  fragments: [{ name: '/a/lab.config', text: 'CONFIG_A=y\n' }],
  compiler: 'gcc 12.2.0',
};

test('the cache key changes with every input that changes the kernel', (t) => {
  const k = buildKey(inputs);
  t.regex(k, /^[0-9a-f]{32}$/);
  t.not(buildKey({ ...inputs, baseIdentity: 'tarball:abd' }), k);
  t.not(buildKey({ ...inputs, patches: [{ text: 'patch one!' }] }), k);
  t.not(buildKey({ ...inputs, patches: [] }), k);
  t.not(buildKey({ ...inputs, fragments: [{ name: '/a/lab.config', text: 'CONFIG_A=n\n' }] }), k);
  t.not(buildKey({ ...inputs, compiler: 'gcc 13' }), k);
  t.not(buildKey({ ...inputs, recipe: 'other' }), k);
  t.not(buildKey({ ...inputs, baseConfig: 'defconfig' }), k);
});

test('the cache key ignores where the series and fragments live', (t) => {
  t.is(buildKey({ ...inputs, fragments: [{ name: '/elsewhere/x.config', text: 'CONFIG_A=y\n' }] }), buildKey(inputs));
});

test('names the file git could not patch', (t) => {
  t.is(failedFile('error: patch failed: drivers/vfio/vfio_main.c:1268\nerror: drivers/vfio/vfio_main.c: patch does not apply'), 'drivers/vfio/vfio_main.c');
  t.is(failedFile('error: drivers/vfio/gone.c: No such file or directory'), 'drivers/vfio/gone.c');
  t.is(failedFile('something else'), undefined);
});

test('first errors of a build log start just before the first error line', (t) => {
  const log = ['  CC a.o', '  CC b.o', 'b.c: In function f:', "b.c:3:1: error: expected ';'", '   3 | }', "make[2]: *** [b.o] Error 1"].join('\n');
  const lines = firstErrors(log, 4);
  t.is(lines[0], '  CC b.o');
  t.true(lines.includes("b.c:3:1: error: expected ';'"));
});

test('make runs out of tree through ccache', (t) => {
  t.deepEqual(makeArgs({ srcDir: '/w/src', buildDir: '/w/build' }, ['vmlinux'], [], 2), ['-C', '/w/src', 'O=/w/build', '-j2', 'CC=ccache gcc', 'HOSTCC=ccache gcc', 'vmlinux']);
});

test('ldd output gives the libraries to copy, including the loader', (t) => {
  const out = '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n';
  t.deepEqual(parseLdd(out), ['/lib/x86_64-linux-gnu/libz.so.1', '/lib64/ld-linux-x86-64.so.2']);
});

test('an early QEMU exit is explained from the serial log', (t) => {
  t.regex(diagnoseExit('...\nKernel panic - not syncing: VFS: Unable to mount root fs\n'), /panicked \(Kernel panic - not syncing: VFS: Unable to mount root fs\)/);
  t.is(diagnoseExit('reboot: Power down\n'), 'the guest powered off');
  t.is(diagnoseExit(''), 'QEMU exited before the guest printed anything');
});

test('a KASAN kernel boots its bzImage (PVH does not boot it); every other kernel its vmlinux through PVH', (t) => {
  t.is(bootImage(configMap('CONFIG_PVH=y\nCONFIG_KFENCE=y\n')), 'vmlinux');
  t.is(bootImage(configMap('CONFIG_PVH=y\nCONFIG_KASAN=y\nCONFIG_KASAN_GENERIC=y\n')), 'bzImage');
  t.is(bootImage(configMap('CONFIG_PVH=y\n# CONFIG_KASAN is not set\n')), 'vmlinux');
});

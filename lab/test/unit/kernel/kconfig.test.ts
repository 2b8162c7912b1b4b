import test from 'ava';
import { checkConfig, configMap, describeMismatch, mergeRequests, parseConfig, parseKconfig } from '../../../src/kernel/kconfig.ts';

test('parses set, unset and string options with line numbers', (t) => {
  const r = parseConfig('# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\n', 'f.config');
  t.deepEqual(r.map((x) => [x.name, x.value, x.line]), [['CONFIG_A', 'y', 2], ['CONFIG_B', 'n', 3], ['CONFIG_C', '"x y"', 4]]);
});

test('later fragments override earlier ones', (t) => {
  const merged = mergeRequests([parseConfig('CONFIG_A=y\nCONFIG_B=y', 'lab'), parseConfig('# CONFIG_A is not set', 'user')]);
  t.deepEqual(merged.map((r) => [r.name, r.value, r.fragment]), [['CONFIG_A', 'n', 'user'], ['CONFIG_B', 'y', 'lab']]);
});

test('finds options that did not survive olddefconfig; absent counts as not set', (t) => {
  const requests = parseConfig('CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D=y', 'frag');
  const final = configMap('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_D=m\n');
  t.deepEqual(checkConfig(requests, final).map((m) => [m.request.name, m.got]), [['CONFIG_B', 'n'], ['CONFIG_D', 'm']]);
});

test('Kconfig parsing keeps depends-on lines and enclosing if blocks', (t) => {
  const syms = parseKconfig('if HYPERVISOR_GUEST\nconfig PVH\n\tbool "PVH"\n\tdepends on X86_64 # comment\nendif\nconfig OTHER\n\tdepends on PCI\n', 'arch/x86/Kconfig');
  t.deepEqual(syms, [
    { name: 'PVH', file: 'arch/x86/Kconfig', dependsOn: ['X86_64'], inside: ['HYPERVISOR_GUEST'] },
    { name: 'OTHER', file: 'arch/x86/Kconfig', dependsOn: ['PCI'], inside: [] },
  ]);
});

test('a dropped option names its dependency; an unknown one is called misspelt', (t) => {
  const [req] = parseConfig('CONFIG_PVH=y', 'lab.config');
  const sym = parseKconfig('if HYPERVISOR_GUEST\nconfig PVH\n\tdepends on X86_64\nendif\n', 'arch/x86/Kconfig');
  t.is(
    describeMismatch({ request: req!, got: 'n' }, sym),
    'CONFIG_PVH asked =y (lab.config:1) but is not set in the final .config; Kconfig for PVH: if HYPERVISOR_GUEST, depends on X86_64',
  );
  t.regex(describeMismatch({ request: req!, got: 'n' }, []), /does not exist in this kernel — misspelt/);
});

test("help text is prose, not syntax: an 'if' at the start of a help line opens no block", (t) => {
  // The shape of lib/Kconfig.debug's DEFAULT_HUNG_TASK_TIMEOUT, whose help once read as two ifs.
  const text = [
    'config DETECT_HUNG_TASK',
    '\tbool "Detect Hung Tasks"',
    '\thelp',
    '\t  Say Y here to enable the kernel to detect "hung tasks",',
    '\t  if using clang without its integrated assembler.',
    '',
    '\t  if the system crashes, say N.',
    '',
    'config DEFAULT_HUNG_TASK_TIMEOUT',
    '\tint "Default timeout for hung task detection (in seconds)"',
    '\tdepends on DETECT_HUNG_TASK',
    '\thelp',
    '\t  if you say 0 here the check is off.',
    'config LATER',
    '\tdepends on PCI',
  ].join('\n');
  const syms = parseKconfig(text, 'lib/Kconfig.debug');
  t.deepEqual(syms.map((x) => [x.name, x.dependsOn, x.inside]), [
    ['DETECT_HUNG_TASK', [], []],
    ['DEFAULT_HUNG_TASK_TIMEOUT', ['DETECT_HUNG_TASK'], []],
    ['LATER', ['PCI'], []],
  ]);
});

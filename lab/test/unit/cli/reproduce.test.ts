// reproduce.sh is run by a shell: every path, pattern and option in it must come out as the
// same bytes, however hostile, and nothing in it may run. The script is run for real against a
// stand-in ./labw that records its argv.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { reproduceArgs, reproduceScript } from '../../../src/cli/reproduce.ts';

function sandbox(t: { teardown: (fn: () => void) => void }) {
  const root = mkdtempSync(join(tmpdir(), "lab repro 'root' $(x)-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  // Records each argument NUL-terminated: newlines and quotes survive the round trip.
  writeFileSync(join(root, 'labw'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > "$(dirname "$0")/argv"\n`);
  chmodSync(join(root, 'labw'), 0o755);
  return root;
}

const run = async (root: string, script: string, args: string[] = []) => {
  writeFileSync(join(root, 'reproduce.sh'), script);
  await execa('sh', [join(root, 'reproduce.sh'), ...args], { cwd: root, reject: false });
  return existsSync(join(root, 'argv')) ? readFileSync(join(root, 'argv'), 'utf8').split('\0').slice(0, -1) : undefined;
};

test('hostile paths and patterns reach ./labw byte for byte and run nothing', async (t) => {
  const root = sandbox(t);
  const marker = join(root, 'PWNED');
  const evil = (tag: string) => `/x-$(touch ${marker}-${tag})-\`touch ${marker}-b${tag}\`-'"; touch ${marker}-s${tag}\n#`;
  const dir = `${root}/run-$(touch ${marker}-dir)\ntouch ${marker}-nl`;
  const flags = { base: evil('base'), series: [evil('series'), '/a b/c.mbox'], config: [evil('config')], baseConfig: 'defconfig', machine: 'default', reporter: ['junit=/r $(x).xml'] };
  const args = reproduceArgs(['cdev/$(id)', "it's"], flags, '/cwd');
  const script = reproduceScript({ dir, args, commit: '0123456789abcdef0123 (with local changes)', root });

  t.deepEqual(await run(root, script, ['/out-$(touch ' + marker + '-out)']), [...args, '--out', `/out-$(touch ${marker}-out)`]);
  t.deepEqual(await run(root, script), [...args, '--out', `${dir}-again`]);
  t.deepEqual(
    (await execa('ls', [root])).stdout.split('\n').filter((f) => f.startsWith('PWNED')),
    [],
  );
  t.is(args[args.indexOf('--base') + 1], evil('base'), 'absolute paths are kept as they are');
});

test('the old --out default ran $(cmd) from the run directory name; this one does not', async (t) => {
  const root = sandbox(t);
  mkdirSync(join(root, 'runs'));
  const dir = `${root}/runs/x-$(touch ${root}/PWNED)`;
  const argv = await run(root, reproduceScript({ dir, args: ['run'], commit: 'unknown', root }));
  t.deepEqual(argv, ['run', '--out', `${dir}-again`]);
  t.false(existsSync(join(root, 'PWNED')));
});

test('the options that shaped the run are kept: --sanitize, --jobs, --keep-failed, --no-reuse-guests', (t) => {
  const base = { series: [], config: [], baseConfig: 'tinyconfig', reporter: [] };
  const args = reproduceArgs(['cdev/'], { ...base, sanitize: true, jobs: '1', keepFailed: true, reuseGuests: false, machine: 'shared-group' }, '/w');
  t.deepEqual(args, ['run', 'cdev/', '--sanitize', '--machine', 'shared-group', '--jobs', '1', '--keep-failed', '--no-reuse-guests']);
  // The defaults (auto, guests handed on) write nothing: the replay gets them too.
  t.deepEqual(reproduceArgs([], { ...base, jobs: 'auto', reuseGuests: true }, '/w'), ['run']);
});

// lab/bin/lab.js runs the CLI from an esbuild bundle of lab/src and loads scenarios (TypeScript)
// through tsx, their lab/src/api.ts pointed at the bundle's copy. The loader refuses a scenario
// defined by another copy of the library, so `list` passing through the real entry shows the
// redirect works; LAB_BUNDLE_NO_REDIRECT shows the refusal it would otherwise meet.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { repoRoot } from '../../../src/util/paths.ts';

const entry = join(repoRoot, 'lab/bin/lab.js');
const env = { CI: '1', LAB_NO_BOOTSTRAP: '1' };

test('the bundled CLI loads the TypeScript scenarios with the bundle\'s own api module', async (t) => {
  const r = await execa('node', [entry, 'list'], { env, reject: false });
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /^cdev\/parked-fd-blocks-every-op$/m);
  t.true(readdirSync(join(repoRoot, 'lab/.bundle')).some((n) => !n.includes('.tmp-')));
});

test('without the redirect, a scenario gets a second copy of the library and the loader refuses it', async (t) => {
  const r = await execa('node', [entry, 'list'], { env: { ...env, LAB_BUNDLE_NO_REDIRECT: '1' }, reject: false });
  t.is(r.exitCode, 2, r.stdout);
  t.regex(r.stderr, /was defined through another copy of lab\/src\/api\.ts than the runner's/);
});

test('LAB_NO_BUNDLE=1 runs the sources under tsx, and lists the same scenarios', async (t) => {
  const [bundled, sources] = await Promise.all([
    execa('node', [entry, 'list'], { env }),
    execa('node', [entry, 'list'], { env: { ...env, LAB_NO_BUNDLE: '1' } }),
  ]);
  t.is(sources.stdout, bundled.stdout);
});

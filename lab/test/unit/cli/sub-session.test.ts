// Patterns that select nothing stop run, validate and teeth before any kernel is built. The CLI
// is run for real: validate's check comes before its series is read, its run directory made
// or a build started, so the exit comes in seconds, with an empty cache and nothing written.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { requireScenarios } from '../../../src/cli/sub-session.ts';
import type { Job } from '../../../src/scenario/planner.ts';
import { UsageError } from '../../../src/util/errors.ts';
import { repoRoot } from '../../../src/util/paths.ts';

test('no job for the patterns is a usage error naming them; any job passes', (t) => {
  const error = t.throws(() => requireScenarios([], ['no-such/', 'tag:nope']), { instanceOf: UsageError });
  t.is(error.message, 'no scenario matches no-such/ tag:nope');
  t.is(error.hint, 'see ./labw list');
  t.throws(() => requireScenarios([], []), { instanceOf: UsageError, message: 'there are no scenarios to run' });
  t.notThrows(() => requireScenarios([{ id: 'cdev/x' } as Job], ['cdev/']));
});

test('validate with patterns that match nothing exits 2 naming them, before any build', async (t) => {
  t.timeout(60_000);
  const root = mkdtempSync(join(tmpdir(), 'lab-validate-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const cache = join(root, 'cache');
  const out = join(root, 'run');
  const series = join(repoRoot, 'lab/test/fixtures/series/latin1-context.mbox');
  const r = await execa('node', [join(repoRoot, 'lab/bin/lab.js'), 'validate', '--series', series, '--out', out, 'no-such/', 'tag:nope'], {
    cwd: root,
    env: { CI: '1', XDG_CACHE_HOME: cache },
    reject: false,
    timeout: 45_000,
  });
  t.is(r.exitCode, 2, r.stderr);
  t.regex(r.stderr, /^error: no scenario matches no-such\/ tag:nope$/m);
  t.false(existsSync(out), 'no run directory');
  t.false(existsSync(join(cache, 'iommufd-lab', 'kernels')) && readdirSync(join(cache, 'iommufd-lab', 'kernels')).length > 0, 'no kernel in the cache');
});

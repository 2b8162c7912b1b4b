// The regression models in kernel-patches/regressions/ are each caught by exactly the scenarios
// their headers name: the proof that the scenarios have teeth. Builds one kernel per model.
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { repoRoot } from '../../src/util/paths.ts';

test('lab teeth: every model is caught, and nothing else changes', async (t) => {
  const r = await execa(join(repoRoot, 'labw'), ['teeth'], { reject: false, env: { LAB_NO_BOOTSTRAP: '1', CI: '1' } });
  const models = (r.stdout.match(/^M\d+ /gm) ?? []).length;
  t.true(models >= 3, r.stdout.slice(-2000));
  t.regex(r.stdout, new RegExp(`^detection rate: ${models}/${models} models caught$`, 'm'));
  t.notRegex(r.stdout, /NOT CAUGHT|also changed|did not fail/);
  t.is(r.exitCode, 0, r.stderr.slice(-2000));
});

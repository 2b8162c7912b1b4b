import test from 'ava';
import { ESLint } from 'eslint';

// The lint rule that keeps positional reads of probe results out of scenarios
// (eslint.config.js): results are read by label, so inserting a step cannot re-aim a check.
const root = new URL('../../../../', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });
const restricted = async (code: string) =>
  (await eslint.lintText(code, { filePath: `${root}scenarios/cdev/lint-probe.scenario.ts` }))[0]!.messages.filter((m) => m.ruleId === 'no-restricted-syntax').length;

test('positional reads of results are refused in scenarios', async (t) => {
  t.is(await restricted('declare const out: unknown[];\nexport const [, , attach] = out;\n'), 1);
  t.is(await restricted('declare const out: { x: number }[];\nexport const a = out[13]?.x;\n'), 1);
  t.is(await restricted('declare const out: unknown[];\ndeclare const i: number;\nexport const a = out[4 + 2 * i];\n'), 1);
  t.is(await restricted('declare const out: unknown[];\nexport const a = out.at(-1);\n'), 1);
});

test('reads by label pass', async (t) => {
  t.is(await restricted("declare const r: { detach: { errname: string } };\ndeclare const k: 'detach';\nexport const a = [r.detach.errname, r['detach'], r[k]];\n"), 0);
});

test('every scenario reads its results by label', async (t) => {
  const results = await eslint.lintFiles(['scenarios/**/*.ts']);
  const positional = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => `${r.filePath}:${m.line}`));
  t.deepEqual(positional, []);
});

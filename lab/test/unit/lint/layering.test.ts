import { readdirSync } from 'node:fs';
import test from 'ava';
import { ESLint } from 'eslint';

// The layering table (DEPS in eslint.config.js): each part of lab/src imports only the parts its
// row lists. Linted as text at a path inside lab/src, so no file is written there.
const root = new URL('../../../../', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });
const refusals = async (from: string, code: string) =>
  (await eslint.lintText(code, { filePath: `${root}lab/src/${from}` }))[0]!.messages
    .filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);

test('report/ importing the scenario runner is refused, naming the table', async (t) => {
  t.deepEqual(await refusals('report/layering-probe.ts', "import { runJob } from '../scenario/runner.ts';\nexport const a = runJob;\n"), [
    "'../scenario/runner.ts' import is restricted from being used by a pattern. report/ must not import scenario/: it may import only util/ (DEPS in eslint.config.js).",
  ]);
});

test('report/ importing its own events and util/ passes', async (t) => {
  t.deepEqual(await refusals('report/layering-probe.ts', "import type { RunEvent } from './events.ts';\nimport { stripControl } from '../util/terminal-text.ts';\nexport type E = RunEvent | typeof stripControl;\n"), []);
});

test('kernel/, image/, qemu/ and guest/ never import scenario/ or cli/; util/ imports nothing of lab/src', async (t) => {
  for (const from of ['kernel', 'image', 'qemu', 'guest']) {
    const messages = await refusals(`${from}/layering-probe.ts`, "import type { A } from '../scenario/define.ts';\nexport type { B } from '../cli/main.ts';\nexport type C = A;\n");
    t.is(messages.length, 2, from);
    t.regex(messages[1]!, /must not import cli\/ \(nothing imports the CLI\)/, from);
  }
  t.deepEqual(await refusals('util/layering-probe.ts', "export { Machine } from '../qemu/machine.ts';\n"), [
    "'../qemu/machine.ts' import is restricted from being used by a pattern. util/ must not import qemu/: it imports nothing else of lab/src (DEPS in eslint.config.js).",
  ]);
});

test('every folder and root file of lab/src has a row in the table', async (t) => {
  const { DEPS } = (await import(`${root}eslint.config.js`)) as { DEPS: Record<string, string[]> };
  const parts = readdirSync(`${root}lab/src`, { withFileTypes: true })
    .filter((e) => e.isDirectory() || e.name.endsWith('.ts')).map((e) => e.name).sort();
  t.deepEqual(Object.keys(DEPS).sort(), parts);
  for (const allowed of Object.values(DEPS)) for (const part of allowed) t.true(parts.includes(part), part);
});

test('lab/src as it stands keeps to the table', async (t) => {
  const results = await eslint.lintFiles(['lab/src/**/*.ts']);
  t.deepEqual(results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => `${r.filePath}:${m.line} ${m.message}`)), []);
});

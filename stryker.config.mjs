// Mutation testing of the judging code (issue 20): each mutant of these modules is a bug the
// unit tests must catch. `./labw bench mutation [MODULE…]` runs Stryker once per module and
// prints the score of each. The command runner runs ava once per mutant (there is no ava plugin
// for per-test coverage), so each module names only the unit tests that judge it
// (bench/mutation-modules.json). Measured here with 2 workers: 22 s (guest-log, 27 mutants) to
// 556 s (compare, 310); all seven modules 1636 s.
import { readFileSync } from 'node:fs';

// Each judging module (lab/src/scenario/NAME.ts) and the unit tests (lab/test/unit/…) that judge it.
const judging = JSON.parse(readFileSync(new URL('./bench/mutation-modules.json', import.meta.url), 'utf8'));
const unit = (f) => `lab/test/unit/${f}.test.ts`;
const module = process.env.LAB_MUTATE ?? 'compare';
const tests = judging[module];
if (!tests) throw new Error(`LAB_MUTATE=${module}: not a judging module (${Object.keys(judging).join(', ')})`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [`lab/src/scenario/${module}.ts`],
  testRunner: 'command',
  commandRunner: { command: `npx ava --fail-fast ${tests.map(unit).join(' ')}` },
  coverageAnalysis: 'off',
  concurrency: 2,
  timeoutMS: 30000,
  reporters: ['json'],
  jsonReporter: { fileName: `reports/mutation/${module}.json` },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['.lab', '.stryker-tmp', 'reports', 'lab/.bundle'],
  thresholds: { high: 90, low: 80, break: null },
};

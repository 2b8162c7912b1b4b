// Mutation testing of the judging code (issue 20): each mutant of these modules is a bug the
// unit tests must catch. `./labw bench mutation [MODULE…]` runs it and prints the score per module.
// The command runner runs ava once per mutant (there is no ava plugin for per-test coverage),
// so the test command names only the tests of the judging modules.
const judging = ['verdict', 'compare', 'watchdog', 'teeth', 'fingerprint', 'guest-log'];
const only = (process.env.LAB_MUTATE ?? '').split(',').filter(Boolean);
const modules = only.length ? only : judging;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: modules.map((m) => `lab/src/scenario/${m}.ts`),
  testRunner: 'command',
  commandRunner: {
    command: 'npx ava --fail-fast lab/test/unit/scenario/verdict.test.ts lab/test/unit/scenario/compare.test.ts lab/test/unit/scenario/watchdog.test.ts lab/test/unit/scenario/teeth.test.ts lab/test/unit/scenario/ratelimit.test.ts lab/test/unit/scenario/guest-log.test.ts lab/test/unit/cli/outcomes.test.ts',
  },
  coverageAnalysis: 'off',
  concurrency: 2,
  timeoutMS: 30000,
  reporters: ['clear-text', 'json', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['.lab', '.stryker-tmp', 'reports', 'lab/.bundle'],
  thresholds: { high: 90, low: 80, break: null },
};

// Lint: typescript-eslint's recommended rules, plus the dependency direction from
// docs/ARCHITECTURE.md (nothing imports the CLI; scenarios see only the public API).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.lab/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['lab/src/**/*.ts'],
    ignores: ['lab/src/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/cli/**'], message: 'nothing imports the CLI' }] }],
    },
  },
  {
    files: ['scenarios/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/lab/src/*/**'], message: 'scenarios import only lab/src/api.ts' }] }],
      // Probe results are read by label (r.detach.errname): a result read by position aims at
      // the wrong step as soon as one is inserted before it (lab/test/unit/scenario-lint.test.ts).
      'no-restricted-syntax': [
        'error',
        { selector: 'ArrayPattern', message: 'no positional destructuring in scenarios: label the probe steps and read r.<label>' },
        { selector: 'MemberExpression[computed=true][property.type="Literal"][property.raw=/^-?[0-9]/]', message: 'no indexing by position in scenarios: label the probe steps and read r.<label>' },
        { selector: 'MemberExpression[computed=true][property.type=/^(BinaryExpression|UnaryExpression|UpdateExpression)$/]', message: 'no computed positions in scenarios: label the probe steps and read r.<label>' },
        { selector: 'CallExpression[callee.property.name="at"]', message: 'no .at(i) in scenarios: label the probe steps and read r.<label>' },
      ],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);

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
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);

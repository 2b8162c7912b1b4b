// Lint: typescript-eslint's recommended rules, plus the dependency direction from
// docs/ARCHITECTURE.md (nothing imports the CLI; scenarios see only the public API).
import tseslint from 'typescript-eslint';

// What each part of lab/src may import besides itself, in one table (Playwright keeps the same
// thing as a DEPS.list per folder). The pipeline only points down: cli → scenario → {kernel,
// image, qemu, guest} → util, and report sees nothing but util and its own RunEvent types
// (report/events.ts), so a reporter can never reach into a run. Nothing lists cli, so nothing
// imports the CLI; nothing lists api.ts, which is for scenario files only. Every folder and root
// file of lab/src has a row (lab/test/unit/lint/layering.test.ts checks that, and that the rule
// fails); an import of a part not in its row is an error. Rows are the graph as measured, not
// wishes: changing one is a design change, so say why beside it.
export const DEPS = {
  util: [],
  report: ['util'],
  kernel: ['util'],
  qemu: ['util'],
  image: ['util'],
  // guest/vm.ts wraps the qemu Machine it talks to.
  guest: ['util', 'qemu'],
  scenario: ['util', 'report', 'kernel', 'image', 'qemu', 'guest', 'lab.ts'],
  cli: ['util', 'report', 'kernel', 'image', 'qemu', 'guest', 'scenario', 'lab.ts'],
  // lab.ts strings kernel → image → machine → SSH together; api.ts is what scenarios import.
  'lab.ts': ['util', 'kernel', 'image', 'qemu', 'guest'],
  'api.ts': ['scenario', 'report'],
};

const isFile = (part) => part.endsWith('.ts');
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// One no-restricted-imports config per row. A folder is reached as ../<folder>/… from inside
// another folder or ./<folder>/… from a root file; a root file as ../<file> or ./<file>.
const layering = Object.entries(DEPS).map(([from, allowed]) => {
  const refused = Object.keys(DEPS).filter((to) => to !== from && !allowed.includes(to));
  const name = (part) => (isFile(part) ? part : `${part}/`);
  const may = allowed.length ? `it may import only ${allowed.map(name).join(', ')}` : 'it imports nothing else of lab/src';
  return {
    files: [isFile(from) ? `lab/src/${from}` : `lab/src/${from}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: refused.map((to) => ({
          regex: `^(\\./|(\\.\\./)+)${escape(to)}${isFile(to) ? '$' : '(/|$)'}`,
          message: `${name(from)} must not import ${name(to)}${to === 'cli' ? ' (nothing imports the CLI)' : ''}: ${may} (DEPS in eslint.config.js).`,
        })),
      }],
    },
  };
});

export default tseslint.config(
  { ignores: ['node_modules/**', '.lab/**', 'lab/.bundle/**'] },
  ...tseslint.configs.recommended,
  ...layering,
  {
    files: ['scenarios/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/lab/src/*/**'], message: 'scenarios import only lab/src/api.ts' }] }],
      // Probe results are read by label (r.detach.errname): a result read by position aims at
      // the wrong step as soon as one is inserted before it (lab/test/unit/lint/scenario-lint.test.ts).
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

import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import test from 'ava';

// The unit tests mirror lab/src folder by folder: a module's tests sit in the folder of the same
// name, so its tests are found where it is. Only these folders test the project as a whole and
// have no src/ counterpart: lint/ (eslint.config.js's rules), project/ (workflow, launcher, this tree).
const wholeProject = ['lint', 'project'];

const root = new URL('../../../../', import.meta.url).pathname;
const unit = join(root, 'lab/test/unit');
const src = join(root, 'lab/src');

const tsFiles = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [relative(unit, join(dir, e.name))] : []);

/** The test and helper files (relative to lab/test/unit) whose folder has no counterpart in lab/src. */
function misplaced(files: string[], isSrcDir: (dir: string) => boolean): string[] {
  return files.filter((file) => {
    const dir = dirname(file);
    if (dir === '.') return true;
    return !wholeProject.includes(dir.split(sep)[0]!) && !isSrcDir(dir);
  });
}

const isSrcDir = (dir: string) => { try { return statSync(join(src, dir)).isDirectory(); } catch { return false; } };

test('every unit test and helper sits in a folder of lab/src or a whole-project folder', (t) => {
  const files = tsFiles(unit);
  t.true(files.length > 40, `only ${files.length} files found under ${unit}`);
  t.deepEqual(misplaced(files, isSrcDir), []);
});

test('a test at the top, in a folder src has not, or in a src folder misspelt, is named', (t) => {
  const files = ['flat.test.ts', 'reporter/line.test.ts', 'report/line.test.ts', 'report/html/x.test.ts', 'project/any.test.ts', 'lint/rule.test.ts'];
  t.deepEqual(misplaced(files, isSrcDir), ['flat.test.ts', 'reporter/line.test.ts', 'report/html/x.test.ts']);
});

test('the whole-project folders have no lab/src counterpart (else their tests belong there)', (t) => {
  for (const dir of wholeProject) t.false(isSrcDir(dir), dir);
});

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parseBaseSpec } from '../../src/kernel/base.ts';
import { UsageError } from '../../src/util/errors.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'base-'));

test('a tarball, a tree, a git repository and PATH@REF are told apart', (t) => {
  const tarball = join(dir(), 'linux.tar.xz');
  writeFileSync(tarball, '');
  t.deepEqual(parseBaseSpec(tarball), { kind: 'tarball', path: tarball });

  const tree = dir();
  writeFileSync(join(tree, 'Makefile'), '');
  writeFileSync(join(tree, 'Kconfig'), '');
  t.deepEqual(parseBaseSpec(tree), { kind: 'tree', path: tree });

  const repo = dir();
  mkdirSync(join(repo, '.git'));
  t.deepEqual(parseBaseSpec(repo), { kind: 'git', repo, ref: 'HEAD' });
  t.deepEqual(parseBaseSpec(`${repo}@v6.12`), { kind: 'git', repo, ref: 'v6.12' });
});

test('bad bases are usage errors that say what a base can be', (t) => {
  t.throws(() => parseBaseSpec('/nonexistent/linux'), { instanceOf: UsageError, message: /no such file or directory/ });
  t.throws(() => parseBaseSpec(dir()), { instanceOf: UsageError, message: /not a kernel tree/ });
  const notTar = join(dir(), 'notes.txt');
  writeFileSync(notTar, '');
  t.throws(() => parseBaseSpec(notTar), { instanceOf: UsageError, message: /not a tarball/ });
});

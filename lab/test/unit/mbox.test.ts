import { readFileSync } from 'node:fs';
import test from 'ava';
import { describePatch, parseMbox, parseSubject, splitMessages } from '../../src/kernel/mbox.ts';

const mbox = readFileSync(new URL('../fixtures/series/two.mbox', import.meta.url), 'utf8');

test('splits an mbox at separator lines only', (t) => {
  t.is(splitMessages(mbox).length, 3);
});

test('skips the cover letter and numbers the patches', (t) => {
  const patches = parseMbox(mbox, 'two.mbox');
  t.deepEqual(
    patches.map((p) => [p.index, p.number, p.total, p.subject]),
    [
      [1, 1, 2, 'Makefile: set EXTRAVERSION to -lab1'],
      [2, 2, 2, 'README: mention the lab'],
    ],
  );
  t.true(patches[1]!.text.includes('From the body'));
  t.is(patches[0]!.source, 'two.mbox#2');
});

test('parses subjects with and without a patch tag', (t) => {
  t.deepEqual(parseSubject('[RFC PATCH v3 05/20] vfio/pci: register'), { subject: 'vfio/pci: register', number: 5, total: 20 });
  t.deepEqual(parseSubject('[PATCH] one'), { subject: 'one' });
  t.deepEqual(parseSubject('plain'), { subject: 'plain' });
});

test('an mbox of only a cover letter has no patches', (t) => {
  t.deepEqual(parseMbox(splitMessages(mbox)[0]!, 'x'), []);
});

test('describes a patch for error messages', (t) => {
  t.is(describePatch(parseMbox(mbox, 'two.mbox')[1]!), 'patch 2/2 "README: mention the lab" (two.mbox#3)');
});

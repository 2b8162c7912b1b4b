import { readFileSync } from 'node:fs';
import test from 'ava';
import { buildKey } from '../../../src/kernel/cache-key.ts';
import { describePatch, joinPatches, parseMbox, parseSubject, splitMessages } from '../../../src/kernel/mbox.ts';

const mbox = readFileSync(new URL('../../fixtures/series/two.mbox', import.meta.url), 'utf8');

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

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/series/${name}`, import.meta.url));

test('a Latin-1 diff stays bytes: the patch is the message exactly as sent', (t) => {
  const raw = fixture('latin1-context.mbox');
  const [patch] = parseMbox(raw, 'latin1-context.mbox');
  const sent = raw.subarray(raw.indexOf('\n') + 1); // the message after its "From " line
  t.true(patch!.bytes.equals(sent));
  t.true(patch!.bytes.includes(Buffer.from('+na\xefve M\xfcller\n', 'latin1')));
  t.false(patch!.bytes.includes(Buffer.from('\uFFFD')));
});

test('RFC 2047 subjects and senders are decoded for display', (t) => {
  const [patch] = parseMbox(fixture('latin1-context.mbox'), 'x');
  t.is(patch!.subject, 'notes: café au lait');
  t.is(patch!.from, 'José Lab <jose@example.org>');
  t.is(parseMbox(fixture('latin1.mbox'), 'x')[0]!.subject, 'vfio: greet in Latin-1 (café)');
});

test('a quoted-printable body is decoded before applying, to the same bytes as the 8-bit mail', (t) => {
  const [qp] = parseMbox(fixture('quoted-printable.mbox'), 'qp');
  const [plain] = parseMbox(fixture('latin1-context.mbox'), 'plain');
  const body = (b: Buffer) => b.subarray(b.indexOf('\n\n'));
  t.true(body(qp!.bytes).equals(body(plain!.bytes)));
  t.regex(qp!.bytes.toString('latin1'), /^Content-Transfer-Encoding: 8bit$/m);
});

test('the cache key is over the bytes: a Latin-1 patch is not its U+FFFD reading', (t) => {
  const [patch] = parseMbox(fixture('latin1-context.mbox'), 'x');
  const inputs = { baseIdentity: 'git:1', baseConfig: 'tinyconfig', fragments: [], compiler: 'gcc' };
  t.not(buildKey({ ...inputs, patches: [{ bytes: patch!.bytes }] }), buildKey({ ...inputs, patches: [{ text: patch!.text }] }));
  // and a UTF-8 patch keeps the key it had when keys were over text
  const [ascii] = parseMbox(mbox, 'two.mbox');
  t.is(buildKey({ ...inputs, patches: [{ bytes: ascii!.bytes }] }), buildKey({ ...inputs, patches: [{ text: ascii!.text }] }));
});

test('joined patches read back in the order written, byte for byte', (t) => {
  const patches = [...parseMbox(fixture('latin1-context.mbox'), 'a'), ...parseMbox(mbox, 'b')];
  const again = parseMbox(joinPatches(patches), 'joined');
  t.deepEqual(again.map((p) => p.subject), patches.map((p) => p.subject));
  t.true(again[0]!.bytes.subarray(0, patches[0]!.bytes.length).equals(patches[0]!.bytes));
});

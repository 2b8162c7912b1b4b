import test from 'ava';
import { quote, quoteArgv, sh } from '../../../src/util/quote.ts';

test('quotes for POSIX sh, never with bash-only $\'…\'', (t) => {
  t.is(quote('plain-word_1.0'), 'plain-word_1.0');
  t.is(quote(''), "''");
  t.is(quote("it's"), "'it'\\''s'");
  t.is(quote('a b;c'), "'a b;c'");
  t.false(quote('tab\there').startsWith('$'));
});

test('the sh template quotes values and spreads arrays', (t) => {
  const file = 'my file';
  t.is(sh`cat ${file} ${['-a', 'b c']}`, "cat 'my file' -a 'b c'");
  t.is(quoteArgv(['sh', '-c', 'echo $HOME']), "sh -c 'echo $HOME'");
});

test('quoted strings survive a real POSIX shell unchanged', async (t) => {
  const { execa } = await import('execa');
  const nasty = `a'b"c $HOME \\ \n end`;
  const out = await execa('sh', ['-c', `printf %s ${quote(nasty)}`]);
  t.is(out.stdout, nasty);
});

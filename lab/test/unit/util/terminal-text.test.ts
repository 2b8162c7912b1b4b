import test from 'ava';
import { BootError, LabError, formatError } from '../../../src/util/errors.ts';
import { createProgress } from '../../../src/util/progress.ts';
import { stripControl } from '../../../src/util/terminal-text.ts';

// Sequences a hostile guest console or patch subject could carry, each with what must remain.
const cases: [string, string, string][] = [
  ['colour (CSI SGR)', 'a\x1b[31;1mred\x1b[0m b', 'ared b'],
  ['window title (OSC 0, BEL)', '\x1b]0;pwned\x07title', 'title'],
  ['hyperlink (OSC 8, ST)', '\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\', 'click'],
  ['screen clear and cursor home', '\x1b[2J\x1b[Hx', 'x'],
  ['carriage return overwriting a line', 'FAILED\rpassed', 'FAILEDpassed'],
  ['backspaces rubbing text out', 'oops\b\b\b\bok', 'oopsok'],
  ['8-bit CSI', 'a\u009b31mb', 'ab'],
  ['DCS string', '\x1bPq#0;2;0;0;0\x1b\\x', 'x'],
  ['charset switch (two-byte escape)', '\x1b(0lqk\x1b(B', 'lqk'],
  ['bidi override (Trojan Source)', 'if (x\u202e) {', 'if (x) {'],
  ['NUL and DEL', 'a\x00b\x7fc', 'abc'],
  ['an unterminated OSC, up to the end of its line', '\x1b]0;title\nnext line', '\nnext line'],
];
for (const [name, input, want] of cases) {
  test(`stripControl removes ${name}`, (t) => t.is(stripControl(input), want));
}

test('stripControl keeps text, tabs, newlines and non-ASCII letters; CRLF becomes LF', (t) => {
  t.is(stripControl('BUG: kernel NULL pointer\r\n\tRIP: f+0x1/0x2\r\nnaïve — ü\n'), 'BUG: kernel NULL pointer\n\tRIP: f+0x1/0x2\nnaïve — ü\n');
});

test('formatError strips the message, the serial tail and the hint', (t) => {
  const boot = new BootError('guest died: \x1b]0;x\x07panic', 'line\x1b[2J\r\nend\x1b[0m', '/run/serial.log', { hint: 'look\x1b[5m' });
  const out = formatError(boot);
  t.notRegex(out, /[\x00-\x08\x0b-\x1f\x7f]/);
  t.regex(out, /^error: guest died: panic$/m);
  t.regex(out, /^line\nend$/m);
  t.regex(out, /^hint: look$/m);
  t.is(formatError(new LabError('subject: \x1b[31m[PATCH]')), 'error: subject: [PATCH]');
});

test('plain progress lines are stripped before they reach stderr', (t) => {
  const written: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const progress = createProgress({ interactive: false });
    progress.info('applying [PATCH 1/1] \x1b]0;owned\x07fix\x1b[2K');
    progress.phase('patch \x1b[31mred').fail('\x1b[2Jboom');
  } finally {
    process.stderr.write = original;
  }
  const out = written.join('');
  t.notRegex(out, /\x1b|\x07/);
  t.regex(out, /applying \[PATCH 1\/1\] fix\n/);
  t.regex(out, /patch red: FAILED — boom/);
});

test('formatError names each cause once: one that only repeats the message it became is left out', (t) => {
  const root = new Error('ssh: connection refused');
  const rethrown = new LabError('ssh: connection refused', { cause: root, hint: 'see the serial log' });
  t.is(formatError(rethrown), 'error: ssh: connection refused\nhint: see the serial log');
  const wrapped = new LabError('boot failed', { cause: new Error('ssh: no answer', { cause: new Error('ECONNREFUSED') }) });
  t.is(formatError(wrapped), 'error: boot failed\n  caused by: ssh: no answer\n  caused by: ECONNREFUSED');
});

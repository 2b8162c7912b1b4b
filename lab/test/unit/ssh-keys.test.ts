import test from 'ava';
import ssh2 from 'ssh2';
import { generateKeyPair, guestTimeoutWrap } from '../../src/guest/ssh.ts';

test('every generated key pair parses (ssh2 keygen bug worked around)', (t) => {
  // At ~1 in 256 per pair upstream, 2000 pairs would all but surely hit the bug unguarded.
  for (let i = 0; i < 2000; i++) {
    const { privateKey, publicKey } = generateKeyPair();
    const priv = ssh2.utils.parseKey(privateKey);
    const pub = ssh2.utils.parseKey(publicKey);
    if (priv instanceof Error || pub instanceof Error) return t.fail(`pair ${i} does not parse`);
  }
  t.pass();
});

test('the guest-side timeout wraps the command for busybox sh', (t) => {
  t.is(guestTimeoutWrap("echo 'hi'", 2.2), `timeout -s KILL 3 sh -c 'echo '\\''hi'\\'''`);
});

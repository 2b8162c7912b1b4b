import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { generateKeyPair, guestTimeoutWrap } from '../../../src/guest/ssh.ts';
import { buildKeyArchive, rngSeedPath } from '../../../src/image/initramfs.ts';
import { fingerprintOfLine, publicKeyLine } from '../../../src/util/host-key.ts';
import { writePrivateFile } from '../../../src/util/private-file.ts';

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

test('the host key fingerprint is the one dropbearkey itself prints for the key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-hostkey-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await execa('dropbearkey', ['-t', 'ed25519', '-f', join(dir, 'host_key')]);
  const out = (await execa('dropbearkey', ['-y', '-f', join(dir, 'host_key')])).stdout;
  const printed = /^Fingerprint: (SHA256:\S+)$/m.exec(out)?.[1];
  t.truthy(printed, out);
  const line = publicKeyLine(out);
  t.regex(line, /^ssh-ed25519 AAAA[\w+/]+=*$/);
  t.is(fingerprintOfLine(line), printed!);
});

for (const mask of [0o000, 0o022, 0o277]) {
  test.serial(`a private key is 0600 in a 0700 directory under umask ${mask.toString(8).padStart(3, '0')}`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-keymode-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    // A key file left behind world-readable is tightened too, not only a fresh one.
    mkdirSync(join(dir, 'again'), { mode: 0o755 });
    writeFileSync(join(dir, 'again', 'id'), 'old', { mode: 0o644 });
    chmodSync(join(dir, 'again', 'id'), 0o644);
    const old = process.umask(mask);
    try {
      await writePrivateFile(join(dir, 'fresh', 'id'), 'secret\n');
      await writePrivateFile(join(dir, 'again', 'id'), 'secret\n');
    } finally {
      process.umask(old);
    }
    for (const sub of ['fresh', 'again']) {
      t.is(statSync(join(dir, sub)).mode & 0o777, 0o700, `${sub}/`);
      t.is(statSync(join(dir, sub, 'id')).mode & 0o777, 0o600, `${sub}/id`);
      t.is(readFileSync(join(dir, sub, 'id'), 'utf8'), 'secret\n');
    }
  });
}

test.serial('the key archive records 0700/0600 for root, .ssh and authorized_keys whatever the umask', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-keyarchive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const old = process.umask(0o000);
  let archive: string;
  try {
    archive = await buildKeyArchive(dir, generateKeyPair().publicKey);
  } finally {
    process.umask(old);
  }
  const listing = (await execa('cpio', ['-itv', '--quiet'], { inputFile: archive })).stdout;
  const modeOf = (name: string) => new RegExp(`^(\\S+) .* ${name.replace(/\./g, '\\.')}$`, 'm').exec(listing)?.[1];
  t.is(modeOf('root'), 'drwx------', listing);
  t.is(modeOf('root/.ssh'), 'drwx------', listing);
  t.is(modeOf('root/.ssh/authorized_keys'), '-rw-------', listing);
  t.is(modeOf(rngSeedPath), '-rw-------', listing);
});

test('each key archive carries its own 64-byte entropy seed', async (t) => {
  const seeds = [];
  for (let i = 0; i < 2; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'lab-keyarchive-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const archive = await buildKeyArchive(dir, generateKeyPair().publicKey);
    const out = join(dir, 'x');
    mkdirSync(out);
    await execa('cpio', ['-id', '--quiet'], { inputFile: archive, cwd: out });
    seeds.push(readFileSync(join(out, rngSeedPath)));
  }
  t.deepEqual(seeds.map((s) => s.length), [64, 64]);
  t.false(seeds[0]!.equals(seeds[1]!));
});

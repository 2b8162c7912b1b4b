// The guest channel against a real guest: a QEMU stopped with SIGSTOP (a real hang: the guest's
// CPUs and its network backend freeze, the TCP forward stays open) ends an exec in a
// "no answer from the guest" TimeoutError at its deadline, and keepalives notice it too; the
// SSH client accepts the image's own host key and refuses any other.
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import test from 'ava';
import { GuestShell, GuestSilentError, HostKeyError, keepaliveDefaults } from '../../src/guest/ssh.ts';
import { baseTimeouts } from '../../src/lab.ts';
import { Deadline } from '../../src/util/deadline.ts';
import { guestFor, liveQemus, withGuest } from './harness.ts';

test.serial('a stopped QEMU: exec ends at its deadline with "no answer from the guest", then keepalives declare the guest gone', async (t) => {
  const guest = await guestFor();
  await withGuest(guest, async ({ vm, machine }) => {
    t.is((await vm.exec('echo up')).stdout, 'up\n');
    const pid = machine.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const error = await t.throwsAsync(vm.exec('echo still there', { timeoutMs: 10_000 }), { instanceOf: GuestSilentError });
      const ms = Date.now() - t0;
      t.log(`exec with a 10 s timeout ended after ${(ms / 1000).toFixed(1)} s: ${error!.message}`);
      // Its own 10 s, the 3 s the guest's timeout is given, and a little slack.
      t.true(ms >= 13_000 && ms < 16_000, `ended after ${ms} ms`);
      t.is(error!.phase, 'exec');
      t.regex(error!.message, /^exec: no answer from the guest for 1[345] s \(exec: echo still there\)$/);

      // An exec allowed longer is cut short by the keepalives instead: interval × (count + 1)
      // of silence, the interval scaled like every deadline (×1 KVM, ×timeScale TCG).
      const scale = vm.defaultTimeoutMs / baseTimeouts.execMs;
      const silenceMs = keepaliveDefaults.intervalMs * scale * (keepaliveDefaults.countMax + 1);
      const t1 = Date.now();
      const gone = await t.throwsAsync(vm.exec('echo still there', { timeoutMs: silenceMs * 3 }), { instanceOf: GuestSilentError });
      const total = Date.now() - t0;
      t.log(`keepalives declared the guest gone ${(total / 1000).toFixed(1)} s after SIGSTOP (${((Date.now() - t1) / 1000).toFixed(1)} s into the second exec): ${gone!.message}`);
      t.is(gone!.phase, 'ssh');
      t.is(gone!.message, `ssh: no answer from the guest for ${silenceMs / 1000} s (${keepaliveDefaults.countMax} keepalives unanswered)`);
      // Pings began before the first exec timed out: the guest is declared gone about silenceMs
      // after it stopped, never later than that plus one interval.
      t.true(total < silenceMs + keepaliveDefaults.intervalMs * scale + 2_000, `keepalive detection took ${total} ms after SIGSTOP (scale ×${scale})`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
  t.deepEqual(await liveQemus(), []);
});

test.serial("the client pins the image's host key: the right one logs in, a wrong one is refused at once", async (t) => {
  const guest = await guestFor();
  t.regex(guest.hostKey, /^SHA256:[A-Za-z0-9+/]{43}$/);
  await withGuest(guest, async ({ machine, privateKeyPath }) => {
    t.is(statSync(privateKeyPath).mode & 0o777, 0o600);
    t.is(statSync(dirname(privateKeyPath)).mode & 0o777, 0o700);
    const privateKey = readFileSync(privateKeyPath, 'utf8');
    const connect = (hostKey: string) => {
      const deadline = new Deadline('ssh', baseTimeouts.sshMs * 4);
      return GuestShell.connect({ port: machine.sshPort, privateKey, hostKey, deadline, alive: () => !machine.hasExited }).finally(() => deadline.dispose());
    };

    const shell = await connect(guest.hostKey);
    t.is((await shell.exec('echo pinned')).stdout, 'pinned\n');
    shell.close();

    // A key that differs in one character: still refused, and without retrying to the deadline.
    const wrong = guest.hostKey.slice(0, -1) + (guest.hostKey.endsWith('A') ? 'B' : 'A');
    const t0 = Date.now();
    const error = await t.throwsAsync(connect(wrong), { instanceOf: HostKeyError });
    t.true(Date.now() - t0 < 3_000, `refused after ${Date.now() - t0} ms`);
    t.is(error!.presented, guest.hostKey);
    t.is(error!.expected, wrong);
  });
  t.deepEqual(await liveQemus(), []);
});

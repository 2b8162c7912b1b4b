// GuestShell against a real ssh2 server over real loopback TCP: the pinned host key, the exec
// timer that runs before the channel opens, and keepalives through a link that goes silent
// (a TCP relay that stops forwarding, as a SIGSTOPped QEMU does). The VM version of the last
// two is lab/test/vm/channel.test.ts.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import test from 'ava';
import ssh2 from 'ssh2';
import { generateKeyPair, GuestShell, GuestSilentError, HostKeyError } from '../../../src/guest/ssh.ts';
import { Deadline } from '../../../src/util/deadline.ts';
import { TimeoutError } from '../../../src/util/errors.ts';
import { fingerprintOfLine } from '../../../src/util/host-key.ts';

type Behaviour = 'answer' | 'never-open' | 'hang';

const host = generateKeyPair();
const client = generateKeyPair();
const hostKey = fingerprintOfLine(host.publicKey);

function listen(server: NetServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function sshServer(behaviour: Behaviour): Promise<{ port: number; close: () => void }> {
  const server = new ssh2.Server({ hostKeys: [host.privateKey] }, (conn) => {
    conn.on('error', () => {});
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('ready', () =>
      conn.on('session', (accept) => {
        // 'never-open': the channel open is left unanswered, as by a guest that froze.
        if (behaviour === 'never-open') return;
        accept().on('exec', (acceptExec) => {
          const stream = acceptExec();
          stream.write('hi\n');
          if (behaviour === 'answer') {
            stream.exit(0);
            stream.end();
          }
        });
      }),
    );
  });
  return { port: await listen(server), close: () => server.close() };
}

/** A TCP relay to `port` whose freeze() stops it forwarding anything, both ways. */
async function relay(port: number): Promise<{ port: number; freeze: () => void; close: () => void }> {
  const sockets: Socket[] = [];
  let frozen = false;
  const server = createServer((inbound) => {
    const outbound = new (inbound.constructor as typeof Socket)();
    outbound.connect(port, '127.0.0.1');
    for (const s of [inbound, outbound]) s.on('error', () => {});
    inbound.on('data', (d) => frozen || outbound.write(d));
    outbound.on('data', (d) => frozen || inbound.write(d));
    sockets.push(inbound, outbound);
  });
  return {
    port: await listen(server),
    freeze: () => (frozen = true),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const connect = (port: number, extra: Partial<Parameters<typeof GuestShell.connect>[0]> = {}) => {
  const deadline = new Deadline('ssh', 10_000);
  return GuestShell.connect({ port, privateKey: client.privateKey, hostKey, deadline, alive: () => true, ...extra }).finally(() => deadline.dispose());
};

test('the image key is accepted; any other is refused at once, not retried to the deadline', async (t) => {
  const server = await sshServer('answer');
  t.teardown(server.close);
  const shell = await connect(server.port);
  const r = await shell.exec('echo hi');
  shell.close();
  t.is(r.exitCode, 0);
  t.is(r.stdout, 'hi\n');

  const t0 = Date.now();
  const error = await t.throwsAsync(connect(server.port, { hostKey: 'SHA256:notTheImagesKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }), { instanceOf: HostKeyError });
  t.true(Date.now() - t0 < 2_000, `refused after ${Date.now() - t0} ms`);
  t.regex(error!.message, new RegExp(`presented host key ${hostKey.replace(/[+/]/g, '\\$&')}, not the guest image's SHA256:notTheImages`));
});

test('an exec whose channel never opens ends at its deadline with "no answer from the guest"', async (t) => {
  const server = await sshServer('never-open');
  t.teardown(server.close);
  const shell = await connect(server.port);
  t.teardown(() => shell.close());
  const t0 = Date.now();
  const error = await t.throwsAsync(shell.exec('true', { timeoutMs: 500 }), { instanceOf: GuestSilentError });
  const ms = Date.now() - t0;
  // timeoutMs + the 3 s grace the guest's own timeout gets.
  t.true(ms >= 3_400 && ms < 5_000, `ended after ${ms} ms`);
  t.true(error instanceof TimeoutError);
  t.regex(error!.message, /^exec: no answer from the guest for [34] s \(exec: true\)$/);
});

test('a link that goes silent mid-exec is detected by keepalives, not reported as an exit status', async (t) => {
  const server = await sshServer('hang');
  const link = await relay(server.port);
  t.teardown(() => {
    link.close();
    server.close();
  });
  const shell = await connect(link.port, { keepalive: { intervalMs: 200, countMax: 2 } });
  const running = shell.exec('sleep 100', { timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 300));
  link.freeze();
  const t0 = Date.now();
  const error = await t.throwsAsync(running, { instanceOf: GuestSilentError });
  const ms = Date.now() - t0;
  t.true(ms < 2_000, `detected after ${ms} ms`);
  t.is(error!.phase, 'ssh');
  t.regex(error!.message, /no answer from the guest for 1 s \(2 keepalives unanswered\)/);
  // The connection is gone: the next exec fails at once with the same cause.
  const again = await t.throwsAsync(shell.exec('true'));
  t.is(again, error);
});

// The guest channel over ssh2: connect once the guest is ready (retrying until the deadline,
// giving up at once if QEMU died or the host key is not the image's), keepalives so a stopped
// guest is noticed, exec with a timeout enforced in the guest and on the host, upload through
// `cat`, close.
import { createReadStream } from 'node:fs';
import ssh2 from 'ssh2';
import { LabError, TimeoutError } from '../util/errors.ts';
import { Deadline, sleep } from '../util/deadline.ts';
import { log } from '../util/log.ts';
import { quote } from '../util/quote.ts';
import { fingerprintOfBlob } from '../util/host-key.ts';

const { Client, utils } = ssh2;

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * A fresh ed25519 key pair for one guest. ssh2 1.17's generator sometimes emits a key its own
 * parser rejects (it strips leading zero bytes of the public key: mscdex/ssh2 #1390, #1513),
 * so a pair is only used once both halves parse.
 */
export function generateKeyPair(): { privateKey: string; publicKey: string } {
  for (let attempt = 0; attempt < 32; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment: 'iommufd-lab' });
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) {
      return { privateKey: pair.private, publicKey: pair.public };
    }
  }
  throw new LabError('could not generate a usable SSH key pair (ssh2 keygen kept producing unparsable keys)');
}

/** Wraps a command so the guest itself kills it at the deadline (busybox timeout). */
export function guestTimeoutWrap(command: string, seconds: number): string {
  return `timeout -s KILL ${Math.max(1, Math.ceil(seconds))} sh -c ${quote(command)}`;
}

/**
 * The far end of the forward presented a host key that is not the image's. Never retried: the
 * forward listens on 127.0.0.1, but any local user can bind a free port first, and the pinned
 * key is what proves the far end is the guest we booted.
 */
export class HostKeyError extends LabError {
  constructor(readonly expected: string, readonly presented: string) {
    super(`ssh: the server on the guest's port presented host key ${presented}, not the guest image's ${expected}; refusing to log in`, {
      hint: 'another process may be listening on that port, or the image was rebuilt under a running guest; `./labw clean`, then run again',
    });
  }
}

/** Keepalive defaults: a guest that misses this many probes in a row is declared gone. */
export const keepaliveDefaults = { intervalMs: 5_000, countMax: 3 };
/** How long past a command's own timeout the host waits before declaring the guest silent. */
const execGraceMs = 3_000;

/**
 * The guest stopped answering (QEMU stopped, guest hung or wedged): the message carries how long
 * it was silent, and says "no answer" so the runner appends the last console line.
 */
export class GuestSilentError extends TimeoutError {
  constructor(phase: string, readonly silentMs: number, detail: string) {
    super(phase, silentMs);
    this.message = `${phase}: no answer from the guest for ${Math.round(silentMs / 1000)} s${detail ? ` (${detail})` : ''}`;
  }
}

export interface ConnectOptions {
  port: number;
  privateKey: string;
  /**
   * The image's host key fingerprint (SHA256:…); any other key is refused. Left out only by a
   * caller with no record of it (a guest kept by an older lab), which then checks nothing.
   */
  hostKey?: string;
  deadline: Deadline;
  alive: () => boolean;
  keepalive?: { intervalMs: number; countMax: number };
}

export class GuestShell {
  /** Why the connection ended, once it has: every exec then fails with it. */
  private lost: LabError | undefined;
  private readonly onLost = new Set<(error: LabError) => void>();

  private constructor(
    private readonly client: InstanceType<typeof Client>,
    keepalive: { intervalMs: number; countMax: number },
  ) {
    client.on('error', (e: Error & { level?: string }) => {
      // ssh2 reports missed keepalives as a client-timeout error, then destroys the socket.
      if (e.level === 'client-timeout') {
        const silent = keepalive.intervalMs * (keepalive.countMax + 1);
        this.lose(new GuestSilentError('ssh', silent, `${keepalive.countMax} keepalives unanswered`));
      } else this.lose(new LabError(`ssh: connection to the guest lost: ${e.message}`, { cause: e }));
    });
    client.on('close', () => this.lose(new LabError('ssh: the guest closed the connection')));
  }

  private lose(error: LabError): void {
    if (this.lost) return;
    this.lost = error;
    for (const fail of this.onLost) fail(error);
    this.onLost.clear();
  }

  static async connect(opts: ConnectOptions): Promise<GuestShell> {
    const keepalive = opts.keepalive ?? keepaliveDefaults;
    let lastError: unknown;
    while (!opts.deadline.expired()) {
      if (!opts.alive()) throw new LabError('ssh: QEMU exited while connecting');
      try {
        const client = await connectOnce(opts, keepalive, Math.min(5000, Math.max(500, opts.deadline.remaining())));
        return new GuestShell(client, keepalive);
      } catch (error) {
        // A wrong host key does not get better by asking again.
        if (error instanceof HostKeyError) throw error;
        lastError = error;
        log().debug({ err: (error as Error).message }, 'ssh connect retry');
        await sleep(150, opts.deadline.signal).catch(() => {});
      }
    }
    throw new TimeoutError('ssh', opts.deadline.ms, `the guest's SSH server did not answer on 127.0.0.1:${opts.port}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
  }

  /**
   * Runs a shell command in the guest. A non-zero exit is data, not an error; a guest that stops
   * answering is a GuestSilentError, whether it stalls before the channel opens or after.
   */
  exec(command: string, options: { timeoutMs?: number; stdin?: NodeJS.ReadableStream | string } = {}): Promise<ExecResult> {
    if (this.lost) return Promise.reject(this.lost);
    const timeoutMs = options.timeoutMs ?? 60_000;
    const wrapped = guestTimeoutWrap(command, timeoutMs / 1000 + 1);
    const what = `exec: ${command.slice(0, 120)}`;
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      let lastHeard = t0;
      let channel: ssh2.ClientChannel | undefined;
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.onLost.delete(fail);
        fn();
      };
      const fail = (error: LabError) =>
        settle(() => {
          channel?.close();
          reject(error);
        });
      // Armed before the channel is requested: the guest's own timeout kills the command at
      // timeoutMs + 1 s, so a host still waiting at + 3 s is waiting on a guest that is not there
      // (a stopped QEMU may never even answer the channel open).
      const timer = setTimeout(() => fail(new GuestSilentError('exec', Date.now() - lastHeard, what)), timeoutMs + execGraceMs);
      this.onLost.add(fail);
      this.client.exec(wrapped, (err, stream) => {
        if (settled) {
          stream?.close();
          return;
        }
        if (err) return fail(this.lost ?? new LabError(`ssh exec failed: ${err.message}`, { cause: err }));
        channel = stream;
        lastHeard = Date.now();
        let stdout = '';
        let stderr = '';
        stream.on('data', (d: Buffer) => {
          lastHeard = Date.now();
          stdout += d.toString();
        });
        stream.stderr.on('data', (d: Buffer) => {
          lastHeard = Date.now();
          stderr += d.toString();
        });
        stream.on('close', (code: number | null, signal?: string) => {
          const done = () => settle(() => resolve({ exitCode: code ?? (signal ? 128 + 9 : 255), stdout, stderr, ms: Date.now() - t0 }));
          if (code !== null && code !== undefined) return done();
          // No exit status: the channel may have closed because the connection died, which
          // ssh2 reports just before or after; an "exit 255" must not stand in for that.
          setImmediate(() => (this.lost ? fail(this.lost) : done()));
        });
        if (typeof options.stdin === 'string') stream.end(options.stdin);
        else if (options.stdin) options.stdin.pipe(stream);
        else stream.end();
      });
    });
  }

  /** Copies a host file into the guest (dropbear has no SFTP server: `cat` is the transport). */
  async upload(localPath: string, remotePath: string, mode = 0o644): Promise<void> {
    const r = await this.exec(`cat > ${quote(remotePath)} && chmod ${mode.toString(8)} ${quote(remotePath)}`, { stdin: createReadStream(localPath) });
    if (r.exitCode !== 0) throw new LabError(`upload to ${remotePath} failed: ${r.stderr.trim()}`);
  }

  /** An interactive shell wired to this terminal (lab ssh). Resolves with the exit code. */
  interactive(command?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onStream = (err: Error | undefined, stream: ssh2.ClientChannel) => {
        if (err) return reject(err);
        const stdin = process.stdin;
        if (stdin.isTTY) stdin.setRawMode(true);
        stdin.pipe(stream);
        stream.pipe(process.stdout);
        stream.stderr.pipe(process.stderr);
        stream.on('close', (code: number | null) => {
          if (stdin.isTTY) stdin.setRawMode(false);
          stdin.unpipe(stream);
          stdin.pause();
          resolve(code ?? 0);
        });
      };
      const pty = process.stdout.isTTY ? { term: process.env.TERM ?? 'xterm', rows: process.stdout.rows, cols: process.stdout.columns } : false;
      if (command) this.client.exec(command, { pty }, onStream);
      else this.client.shell(pty || {}, onStream);
    });
  }

  close(): void {
    this.client.end();
  }
}

function connectOnce(opts: ConnectOptions, keepalive: { intervalMs: number; countMax: number }, timeoutMs: number): Promise<InstanceType<typeof Client>> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    // ssh2 may emit several errors for one failed attempt (e.g. a reset before the handshake,
    // then the close): keep a listener for the client's lifetime.
    let settled = false;
    let refused: HostKeyError | undefined;
    client
      .once('ready', () => {
        settled = true;
        resolve(client);
      })
      .on('error', (e) => {
        log().debug({ err: e.message }, 'ssh client error');
        if (settled) return;
        settled = true;
        client.end();
        reject(refused ?? e);
      })
      .connect({
        host: '127.0.0.1',
        port: opts.port,
        username: 'root',
        privateKey: opts.privateKey,
        readyTimeout: timeoutMs,
        keepaliveInterval: keepalive.intervalMs,
        keepaliveCountMax: keepalive.countMax,
        hostVerifier: (key: Buffer) => {
          if (opts.hostKey === undefined) return true;
          const presented = fingerprintOfBlob(key);
          if (presented === opts.hostKey) return true;
          refused = new HostKeyError(opts.hostKey, presented);
          return false;
        },
      });
  });
}

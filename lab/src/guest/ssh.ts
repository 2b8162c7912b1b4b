// The guest channel over ssh2: connect once the guest is ready (retrying until the deadline,
// giving up at once if QEMU died), exec with a timeout enforced in the guest and on the host,
// upload through `cat`, close.
import { createReadStream } from 'node:fs';
import ssh2 from 'ssh2';
import { LabError, TimeoutError } from '../util/errors.ts';
import { Deadline, sleep } from '../util/deadline.ts';
import { log } from '../util/log.ts';
import { quote } from '../util/quote.ts';

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

export class GuestShell {
  private constructor(private readonly client: InstanceType<typeof Client>) {}

  static async connect(opts: { port: number; privateKey: string; deadline: Deadline; alive: () => boolean }): Promise<GuestShell> {
    let lastError: unknown;
    while (!opts.deadline.expired()) {
      if (!opts.alive()) throw new LabError('ssh: QEMU exited while connecting');
      try {
        return new GuestShell(await connectOnce(opts.port, opts.privateKey, Math.min(5000, Math.max(500, opts.deadline.remaining()))));
      } catch (error) {
        lastError = error;
        log().debug({ err: (error as Error).message }, 'ssh connect retry');
        await sleep(150, opts.deadline.signal).catch(() => {});
      }
    }
    throw new TimeoutError('ssh', opts.deadline.ms, `the guest's SSH server did not answer on 127.0.0.1:${opts.port}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
  }

  /** Runs a shell command in the guest. A non-zero exit is data, not an error. */
  exec(command: string, options: { timeoutMs?: number; stdin?: NodeJS.ReadableStream | string } = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const wrapped = guestTimeoutWrap(command, timeoutMs / 1000 + 1);
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      this.client.exec(wrapped, (err, stream) => {
        if (err) return reject(new LabError(`ssh exec failed: ${err.message}`, { cause: err }));
        let stdout = '';
        let stderr = '';
        // The host-side timer backs up the guest's own: a hung channel still ends.
        const timer = setTimeout(() => {
          stream.close();
          reject(new TimeoutError('exec', timeoutMs, command.slice(0, 120)));
        }, timeoutMs + 3000);
        stream.on('data', (d: Buffer) => (stdout += d.toString()));
        stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        stream.on('close', (code: number | null, signal?: string) => {
          clearTimeout(timer);
          resolve({ exitCode: code ?? (signal ? 128 + 9 : 255), stdout, stderr, ms: Date.now() - t0 });
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

function connectOnce(port: number, privateKey: string, timeoutMs: number): Promise<InstanceType<typeof Client>> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    // ssh2 may emit several errors for one failed attempt (e.g. a reset before the handshake,
    // then the close): keep a listener for the client's lifetime.
    let settled = false;
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
        reject(e);
      })
      .connect({
        host: '127.0.0.1',
        port,
        username: 'root',
        privateKey,
        readyTimeout: timeoutMs,
        // The guest is ours, booted seconds ago from our image, reachable only on loopback.
        hostVerifier: () => true,
      });
  });
}

// The Vm facade scenarios and the CLI use: a booted guest behind one SSH connection.
import type { Machine } from '../qemu/machine.ts';
import { LabError } from '../util/errors.ts';
import { sh as shQuote } from '../util/quote.ts';
import type { ExecResult, GuestShell } from './ssh.ts';

export class Vm {
  constructor(
    readonly machine: Machine,
    readonly shell: GuestShell,
    readonly defaultTimeoutMs: number,
    /** What dmesg() keeps of the kernel log: all of it, or (a reused guest) one scenario's part. */
    private readonly logView: (log: string) => string = (log) => log,
  ) {}

  /** The same guest, whose dmesg() keeps only what `view` keeps of the log. */
  withLogView(view: (log: string) => string): Vm {
    return new Vm(this.machine, this.shell, this.defaultTimeoutMs, view);
  }

  /** Runs a command line (already quoted) in the guest. */
  exec(command: string, options: { timeoutMs?: number; stdin?: string } = {}): Promise<ExecResult> {
    return this.shell.exec(command, { timeoutMs: options.timeoutMs ?? this.defaultTimeoutMs, stdin: options.stdin });
  }

  /** `await vm.sh\`cat ${path}\`` — values are POSIX-quoted; a non-zero exit throws. */
  async sh(strings: TemplateStringsArray, ...values: unknown[]): Promise<string> {
    const command = shQuote(strings, ...values);
    const r = await this.exec(command);
    if (r.exitCode !== 0) throw new LabError(`guest command failed (exit ${r.exitCode}): ${command}\n${r.stderr.trim()}`);
    return r.stdout;
  }

  upload(localPath: string, remotePath: string, mode?: number): Promise<void> {
    return this.shell.upload(localPath, remotePath, mode);
  }

  async dmesg(): Promise<string> {
    return this.logView((await this.exec('dmesg')).stdout);
  }
}

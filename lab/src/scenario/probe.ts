// The host side of the guest probe: runs `vfio-probe` over SSH and parses its JSON.
import type { Vm } from '../guest/vm.ts';
import { LabError } from '../util/errors.ts';
import { quoteArgv } from '../util/quote.ts';
import type { SyscallResult } from './expect.ts';

export interface StepOutcome extends SyscallResult {
  op: string;
  args: string[];
  [field: string]: unknown;
}

export interface ParkedOp extends SyscallResult {
  name: string;
  kind: 'ioctl' | 'read' | 'write' | 'mmap';
  nr?: number;
  cmd?: string;
}

export interface ParkedReport {
  path: string;
  open: SyscallResult;
  ops: ParkedOp[];
  close: SyscallResult;
}

export class Probe {
  constructor(private readonly vm: Vm) {}

  /** Runs a probe command and parses its JSON output. */
  async json<T = unknown>(command: string, args: string[] = []): Promise<T> {
    const line = quoteArgv(['vfio-probe', command, ...args]);
    const r = await this.vm.exec(line);
    if (r.exitCode !== 0) throw new LabError(`guest probe failed (exit ${r.exitCode}): ${line}\n${r.stderr.trim() || r.stdout.trim()}`);
    try {
      return JSON.parse(r.stdout) as T;
    } catch (error) {
      throw new LabError(`guest probe printed invalid JSON for ${line}: ${r.stdout.slice(0, 300)}`, { cause: error });
    }
  }

  /** Runs a step script (see guest-images/probe/README.md) and returns each step's outcome. */
  async run(...steps: string[]): Promise<StepOutcome[]> {
    return (await this.json<{ steps: StepOutcome[] }>('run', steps)).steps;
  }

  parked(path: string): Promise<ParkedReport> {
    return this.json<ParkedReport>('parked', [path]);
  }
}

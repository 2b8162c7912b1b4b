// The parts of a guest's console log that no scenario's verdict reads: between two scenarios in
// a reused guest (after one's log read, before the next one began), after the last scenario (up
// to QEMU's exit), and the whole log of a guest booted ahead that no scenario took. Each is
// scanned as a scenario's own part is; whatever is found there fails the run, named by where.
import { writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { DmarFault, GuestLogFinding, KernelFinding, Reporter } from '../report/events.ts';
import { readSerial } from '../qemu/serial.ts';
import { parseDmarFaults, scanKernelLog } from './watchdog.ts';

/** What a part of the log outside the scenarios holds: kernel reports and DMAR faults (every one unexpected). */
export function judgeOutside(text: string): { findings: KernelFinding[]; dmar: DmarFault[] } {
  return { findings: scanKernelLog(text), dmar: parseDmarFaults(text) };
}

/** Where a part of a guest's console log lies, for the report. */
export type Outside = { between: [string, string] } | { after: string } | { unused: string };

export function describeOutside(o: Outside): string {
  if ('between' in o) return `between ${o.between[0]} and ${o.between[1]}`;
  if ('after' in o) return `after ${o.after}, the last scenario in its guest`;
  return `in a guest booted ahead for ${o.unused} and never used`;
}

/** One run's findings outside the scenarios: each is reported as it is found, and kept for run-end. */
export class OutsideLogs {
  readonly found: GuestLogFinding[] = [];
  private parts = 0;

  constructor(
    private readonly runDir: string,
    private readonly reporter: Reporter,
  ) {}

  /** Judges the console log at `serialLog` from offset `from` (to `to`, or its end). */
  async judge(serialLog: string, from: number, where: Outside, to?: number): Promise<void> {
    const text = (await readSerial(serialLog)).slice(from, to);
    const { findings, dmar } = judgeOutside(text);
    if (findings.length === 0 && dmar.length === 0) return;
    const path = join(dirname(serialLog), `outside-${++this.parts}.log`);
    await writeFile(path, text);
    const finding: GuestLogFinding = { where: describeOutside(where), findings, dmar, log: relative(this.runDir, path) };
    this.found.push(finding);
    await this.reporter.onEvent({ type: 'guest-log', finding });
  }
}

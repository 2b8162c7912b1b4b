// The lab's own NDJSON log (pino) for post-mortems; users read the progress lines instead.
// A write the log cannot make (ENOSPC on a full disk, EIO) never throws from the code that
// logged: the log goes silent, the first failure is kept, and the command is told once
// (onLogFailure), so it can stop with "no space left in <dir>" and keep what it had.
import { fstatSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { LabError } from './errors.ts';

let current: Logger = pino({ level: 'silent' });
let failure: LabError | undefined;
let onFailure: ((error: LabError) => void) | undefined;

export function openLog(path: string): Logger {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a');
  /** Where the last whole line ends. */
  let end = fstatSync(fd).size;
  const destination = {
    write(line: string): void {
      if (failure) return;
      try {
        // A short write (the disk filled mid-line) is not an error to writeSync: write the rest,
        // which then fails with ENOSPC; the half line is cut off again, so the log stays whole.
        const bytes = Buffer.from(line);
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
        end += bytes.length;
      } catch (error) {
        try {
          ftruncateSync(fd, end);
        } catch {
          // Then the log may end in half a line.
        }
        const code = (error as NodeJS.ErrnoException).code;
        failure = new LabError(code === 'ENOSPC' ? `no space left in ${dirname(path)}` : `cannot write the lab's log ${path} (${code ?? (error as Error).message})`, {
          cause: error,
          hint: code === 'ENOSPC' ? 'free space there and run again; what the run wrote so far is kept' : undefined,
        });
        onFailure?.(failure);
      }
    },
  };
  current = pino({ level: 'debug', base: undefined }, destination);
  return current;
}

export function log(): Logger {
  return current;
}

/** The first write the log could not make, if any. */
export function logFailure(): LabError | undefined {
  return failure;
}

/** Called once, with the first write the log could not make. */
export function onLogFailure(fn: (error: LabError) => void): void {
  onFailure = fn;
}

// A full disk (or quota) is the user's to fix, and the one thing they need is where: Node's
// ENOSPC from write(2) names no path. These name it and make it a LabError (exit 2).
import { LabError } from './errors.ts';

export class DiskFullError extends LabError {
  constructor(readonly path: string, cause: unknown) {
    super(`no space left on the device holding ${path}`, { cause, hint: 'free some space there (or point --out or XDG_CACHE_HOME elsewhere) and run again' });
  }
}

export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The error as a DiskFullError naming path if it is ENOSPC/EDQUOT (and not one already), else itself. */
export function asDiskFull(error: unknown, path: string): unknown {
  if (error instanceof DiskFullError || !isDiskFull(error)) return error;
  return new DiskFullError(path, error);
}

/** The ENOSPC/EDQUOT error behind this one (itself or along its causes), if a full disk is behind it. */
export function diskFullBehind(error: unknown): NodeJS.ErrnoException | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) if (isDiskFull(e)) return e as NodeJS.ErrnoException;
  return undefined;
}

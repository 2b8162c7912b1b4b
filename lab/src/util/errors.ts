// Typed errors. A LabError is an infrastructure problem the user can act on: it carries
// a one-paragraph message and, where we know it, the next thing to try.
import { stripControl } from './terminal-text.ts';

export class LabError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Bad command-line or config input. */
export class UsageError extends LabError {}

/** A phase (build, boot, ssh, exec…) ran past its deadline. */
export class TimeoutError extends LabError {
  constructor(readonly phase: string, readonly ms: number, detail = '', options: { hint?: string; cause?: unknown } = {}) {
    super(`${phase}: no answer within ${(ms / 1000).toFixed(1)} s${detail ? ` — ${detail}` : ''}`, options);
  }
}

/** A patch of the series did not apply to the base. */
export class PatchError extends LabError {}

/** The merged kernel config lost options a fragment asked for. */
export class ConfigError extends LabError {}

/** make failed; the log is kept. */
export class BuildError extends LabError {
  constructor(message: string, readonly logPath: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
  }
}

/** The guest died or never became reachable; carries the end of its serial log. */
export class BootError extends LabError {
  constructor(message: string, readonly serialTail: string, readonly serialLog: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
  }
}

export const ExitCode = { ok: 0, failed: 1, infra: 2, interrupted: 130 } as const;

/**
 * Renders an error for a terminal: message, hint, then causes. Messages quote the guest (serial
 * tail, probe output) and patches (subjects): control sequences are stripped.
 */
export function formatError(error: unknown): string {
  if (!(error instanceof Error)) return stripControl(String(error));
  const lines = [`error: ${error.message}`];
  if (error instanceof BootError && error.serialTail) {
    lines.push(`--- last lines of the serial console (${error.serialLog}) ---`, error.serialTail.trimEnd(), '---');
  }
  if (error instanceof LabError && error.hint) lines.push(`hint: ${error.hint}`);
  // A cause that only repeats the message it became (the error was re-thrown with context) adds nothing.
  let said = error.message;
  for (let cause = error.cause, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (cause.message !== said) lines.push(`  caused by: ${cause.message}`);
    said = cause.message;
  }
  // Not a LabError: a bug in the lab. One paragraph and what to do; the trace goes to the log.
  if (!(error instanceof LabError)) {
    lines[0] = `error: internal error in iommufd-lab (a bug in the lab, not a verdict on the kernel): ${error.message}`;
    lines.push(`hint: rerun with LAB_DEBUG=1 for the stack trace, and report it with the run directory's lab.ndjson`);
    if (process.env.LAB_DEBUG === '1' && error.stack) lines.push(error.stack);
  }
  return stripControl(lines.join('\n'));
}

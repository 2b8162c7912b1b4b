// What every command shares: the cache root, progress output, the NDJSON log, the cleanup
// stack, and turning errors into exit codes.
import { join } from 'node:path';
import { Option } from 'commander';
import { qemuTargetNames, type QemuTargetName } from '../qemu/target.ts';
import { processCleanup, installSignalHandlers, interruptSignal } from '../util/cleanup.ts';
import { ExitCode, formatError } from '../util/errors.ts';
import { log, onLogFailure, openLog } from '../util/log.ts';
import { cacheRoot, repoRoot } from '../util/paths.ts';
import { createProgress, type Progress } from '../util/progress.ts';
import type { KernelRequest } from '../kernel/build.ts';

export interface Context {
  cache: string;
  progress: Progress;
  signal: AbortSignal;
}

export function makeContext(options: { quiet?: boolean } = {}): Context {
  const cache = cacheRoot();
  openLog(join(cache, 'logs', 'lab.ndjson'));
  return { cache, progress: createProgress({ quiet: options.quiet }), signal: interruptSignal };
}

export interface KernelFlags {
  base?: string;
  series: string[];
  config: string[];
  baseConfig: string;
  /** --sanitize: add kernel-patches/config/sanitize.config (KASAN, lockdep, atomic sleep). */
  sanitize?: boolean;
}

/** The fragment --sanitize adds after the lab's (and before any --config): KASAN, lockdep, atomic-sleep checks. */
export const sanitizeFragment = join(repoRoot, 'kernel-patches/config/sanitize.config');

export function kernelRequest(flags: KernelFlags): KernelRequest {
  const configs = flags.sanitize ? [sanitizeFragment, ...flags.config] : flags.config;
  return { base: flags.base, series: flags.series, configs, baseConfig: flags.baseConfig, cwd: process.cwd() };
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** The kernel-selection options every building command takes. */
export function withKernelOptions<T extends import('commander').Command>(cmd: T): T {
  return cmd
    .option('--base <src>', 'base kernel: tarball, unpacked tree, or git repo (PATH or PATH@REF)', undefined)
    .option('--series <s>', 'patch series: mbox, folder of *.patch, or REPO:A..B (repeatable)', collect, [])
    .option('--config <fragment>', 'extra kconfig fragment after the lab fragment (repeatable)', collect, [])
    .option('--sanitize', 'the sanitize kernel: KASAN, lockdep (PROVE_LOCKING) and DEBUG_ATOMIC_SLEEP on top of the lab fragment (its own cached build)')
    .option('--base-config <target>', 'make target for the starting config', 'tinyconfig') as T;
}

export interface QemuFlags {
  /** --qemu: which QEMU runs the guests. @default '7.2' (the system's) */
  qemu: QemuTargetName;
}

/** --qemu on every command that boots guests; results of 7.2 and 10 are never mixed (identity, baselines). */
export function withQemuOption<T extends import('commander').Command>(cmd: T): T {
  return cmd.addOption(
    new Option('--qemu <version>', "QEMU that runs the guests: 7.2 (the system's) or 10 (Debian backports' 10.0, fetched into the cache when absent)")
      .choices(qemuTargetNames)
      .default('7.2'),
  ) as T;
}

/** Runs a command body: unwinds the cleanup stack however it ends and maps errors to exit codes. */
export async function runCommand(body: () => Promise<number>): Promise<never> {
  installSignalHandlers((sig) => {
    process.stderr.write(`\n${sig}: stopping…\n`);
    void processCleanup.run().finally(() => process.exit(ExitCode.interrupted));
  });
  // A log that cannot be written (a full disk) stops the command: teardown, reports, exit 2.
  onLogFailure((error) => {
    process.stderr.write(`${formatError(error)}\n`);
    void processCleanup.run().finally(() => process.exit(ExitCode.infra));
  });
  // A bug must not leave a guest behind: unwind, report, exit as an infrastructure error.
  process.once('uncaughtException', (error) => {
    process.stderr.write(`${formatError(error)}\n`);
    void processCleanup.run().finally(() => process.exit(ExitCode.infra));
  });
  let code: number;
  try {
    code = await body();
  } catch (error) {
    if (interruptSignal.aborted) code = ExitCode.interrupted;
    else {
      log().error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) }, 'command failed');
      process.stderr.write(`${formatError(error)}\n`);
      code = ExitCode.infra;
    }
  }
  for (const e of await processCleanup.run()) process.stderr.write(`warning: ${e.message}\n`);
  process.exit(code);
}

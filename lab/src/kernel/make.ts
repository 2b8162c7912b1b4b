// Running make for a build: out of tree, ccache'd, every line into the build log, kbuild's
// short-log lines handed on for progress. A failure carries the first error lines and the log's
// path. make and its compilers run as one process group that dies with the lab (even SIGKILLed)
// and is killed whole when the build is cancelled or runs past its deadline.
import { createWriteStream, type WriteStream } from 'node:fs';
import { cpus } from 'node:os';
import { execa, type Options } from 'execa';
import { BuildError } from '../util/errors.ts';
import { dieWithLab } from '../util/reaper.ts';

export interface MakeContext {
  srcDir: string;
  buildDir: string;
  logPath: string;
  log: WriteStream;
  ccacheDir: string;
  /** ccache rewrites absolute paths below this to relative ones, so every work dir shares hits. */
  ccacheBaseDir: string;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export function openBuildLog(path: string): WriteStream {
  return createWriteStream(path, { flags: 'a' });
}

export function makeArgs(ctx: Pick<MakeContext, 'srcDir' | 'buildDir'>, targets: string[], extra: string[] = [], jobs = cpus().length): string[] {
  return ['-C', ctx.srcDir, `O=${ctx.buildDir}`, `-j${jobs}`, 'CC=ccache gcc', 'HOSTCC=ccache gcc', ...extra, ...targets];
}

/** A line of kbuild's short log ("  CC      kernel/fork.o", "  CC [M]  x.o"), or null. */
export function kbuildStep(line: string): { tag: string; target: string } | null {
  const m = /^ {2}([A-Z][A-Z0-9_]*)(?: \[M\])?\s+(\S+)/.exec(line);
  return m ? { tag: m[1]!, target: m[2]! } : null;
}

// The steps that each write one object or archive: together the build's unit of progress.
// Others (GEN, HDRINST, WRAP…) are many, quick, and vary with the tree rather than the config.
const objectTags = new Set(['CC', 'AS', 'LD', 'AR', 'HOSTCC', 'HOSTLD', 'HOSTCXX']);

export function isObjectStep(step: { tag: string } | null): boolean {
  return step !== null && objectTags.has(step.tag);
}

/** The object steps in a build log: what a build of the same config should count again. */
export function countObjects(logText: string): number {
  let n = 0;
  for (const line of logText.split('\n')) if (isObjectStep(kbuildStep(line))) n++;
  return n;
}

/** The first compiler/linker error lines of a build log, for the error message. */
export function firstErrors(logText: string, max = 12): string[] {
  const lines = logText.split('\n');
  const i = lines.findIndex((l) => /(error|Error \d+|undefined reference|\*\*\*)/.test(l) && !/^\s*(CC|LD|AR)\s/.test(l));
  return i < 0 ? lines.slice(-max) : lines.slice(Math.max(0, i - 2), i + max - 2);
}

/**
 * execa for a build tool (make, gcc, cp): its whole process tree dies with the lab, and
 * cancelling it (cancelSignal) kills the tree, not just its first process.
 */
export function execBuildTool<O extends Options>(argv: readonly string[], options: O) {
  const reaped = dieWithLab(argv, 'group');
  return execa(reaped.file, reaped.args, { ...options, ...reaped.options });
}

export async function runMake(ctx: MakeContext, targets: string[], extra: string[] = []): Promise<void> {
  ctx.log.write(`\n$ make ${makeArgs(ctx, targets, extra).join(' ')}\n`);
  const child = execBuildTool(['make', ...makeArgs(ctx, targets, extra)], {
    reject: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
    cancelSignal: ctx.signal,
    forceKillAfterDelay: 2000,
    env: {
      CCACHE_DIR: ctx.ccacheDir,
      CCACHE_BASEDIR: ctx.ccacheBaseDir,
      // The work tree is a fresh hard-linked copy and its generated headers are new: without
      // this sloppiness ccache sees "recently changed" includes and drops to preprocessor mode.
      CCACHE_SLOPPINESS: 'include_file_mtime,include_file_ctime,time_macros',
      KBUILD_BUILD_USER: 'lab',
      KBUILD_BUILD_HOST: 'iommufd-lab',
    },
  });
  let tail = '';
  const collected: string[] = [];
  child.all!.on('data', (chunk: Buffer) => {
    ctx.log.write(chunk);
    const text = tail + chunk.toString();
    const lines = text.split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) {
      collected.push(line);
      if (collected.length > 4000) collected.splice(0, 2000);
      ctx.onLine?.(line);
    }
  });
  const result = await child;
  if (result.isCanceled) throw ctx.signal?.reason ?? new Error('make cancelled');
  if (result.exitCode !== 0) {
    const errors = firstErrors([...collected, tail].join('\n'));
    throw new BuildError(`make ${targets.join(' ')} failed (exit ${result.exitCode}):\n${errors.join('\n')}`, ctx.logPath, {
      hint: `full build log: ${ctx.logPath}`,
    });
  }
}

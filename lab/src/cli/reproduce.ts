// reproduce.sh: the same run again (same lab commit, inputs and options) into a new directory.
// Every value in it (paths, patterns, the commit) is data, never shell: each goes through the
// project's POSIX quoting, and a value shown in a comment is JSON-escaped so a newline in a
// path cannot start a command line.
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { labCommit } from '../scenario/session.ts';
import { repoRoot } from '../util/paths.ts';
import { quote, quoteArgv } from '../util/quote.ts';

export interface ReproduceFlags {
  base?: string;
  series: string[];
  config: string[];
  baseConfig: string;
  /** --sanitize: the detectors' kernel is another kernel. */
  sanitize?: boolean;
  machine?: string;
  shard?: string;
  reporter: string[];
  /** --qemu: always written when known, so a replay never falls back to another default. */
  qemu?: string;
  /** --jobs as given: how many guests ran at once shapes reuse and timing (auto, the default, is not written). */
  jobs?: string;
  keepFailed?: boolean;
  /** false for --no-reuse-guests. */
  reuseGuests?: boolean;
}

/** The `lab` argv that repeats the run (paths made absolute: the script runs from the lab's root). */
export function reproduceArgs(patterns: string[], flags: ReproduceFlags, cwd = process.cwd()): string[] {
  const args = ['run', ...patterns];
  if (flags.base) args.push('--base', resolve(cwd, flags.base));
  for (const s of flags.series) args.push('--series', resolve(cwd, s));
  if (flags.sanitize) args.push('--sanitize');
  for (const c of flags.config) args.push('--config', resolve(cwd, c));
  if (flags.baseConfig !== 'tinyconfig') args.push('--base-config', flags.baseConfig);
  if (flags.machine) args.push('--machine', flags.machine);
  if (flags.qemu) args.push('--qemu', flags.qemu);
  if (flags.shard) args.push('--shard', flags.shard);
  if (flags.jobs && flags.jobs !== 'auto') args.push('--jobs', flags.jobs);
  if (flags.keepFailed) args.push('--keep-failed');
  if (flags.reuseGuests === false) args.push('--no-reuse-guests');
  for (const r of flags.reporter) args.push('--reporter', r);
  return args;
}

/** The script's text: `sh reproduce.sh [OUT]` runs it again into OUT (default: DIR-again). */
export function reproduceScript(opts: { dir: string; args: string[]; commit: string; root: string }): string {
  const sha = opts.commit.split(' ')[0]!;
  return [
    '#!/bin/sh',
    `# Repeats run ${JSON.stringify(opts.dir)}`,
    `# lab commit: ${JSON.stringify(opts.commit)}; inputs and their checksums: identity.json`,
    'set -e',
    `cd ${quote(opts.root)}`,
    `[ "$(git rev-parse HEAD)" = ${quote(sha)} ] || echo "note: the lab is at $(git rev-parse --short HEAD), the run was made at "${quote(sha.slice(0, 12))} >&2`,
    'out=${1:-}',
    `[ -n "$out" ] || out=${quote(`${opts.dir}-again`)}`,
    `exec ./labw ${quoteArgv(opts.args)} --out "$out"`,
    '',
  ].join('\n');
}

export async function writeReproduce(dir: string, patterns: string[], flags: ReproduceFlags): Promise<void> {
  const script = reproduceScript({ dir: resolve(dir), args: reproduceArgs(patterns, flags), commit: await labCommit(), root: repoRoot });
  await writeFile(join(dir, 'reproduce.sh'), script, { mode: 0o755 });
}

// Loading a series: an mbox file, a folder of *.patch (ordered by its `series` file, else by
// name), or a git range REPO:A..B (turned into an mbox by `git format-patch`). An mbox is read
// as bytes; a thread in it goes to b4 first (thread.ts), a series is put in [n/m] order (order.ts).
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../util/errors.ts';
import { gitRevision } from './base.ts';
import { labSeparator, parseMessages, toPatch, type Patch } from './mbox.ts';
import { binary } from './mime.ts';
import { planMbox } from './order.ts';
import { amThread } from './thread.ts';

export type SeriesSpec =
  | { kind: 'mbox'; path: string }
  | { kind: 'dir'; path: string }
  | { kind: 'git-range'; repo: string; range: string };

export function parseSeriesSpec(spec: string, cwd = process.cwd()): SeriesSpec {
  const range = /^(.+):([^:\s]+\.\.[^:\s]*)$/.exec(spec);
  if (range && existsSync(resolve(cwd, range[1]!))) return { kind: 'git-range', repo: resolve(cwd, range[1]!), range: gitRevision(`series ${spec}`, range[2]!) };
  const path = resolve(cwd, spec);
  if (!existsSync(path)) {
    throw new UsageError(`series ${spec}: no such file or directory`, {
      hint: 'give an mbox file, a folder of *.patch files, or a git range REPO:A..B',
    });
  }
  return statSync(path).isDirectory() ? { kind: 'dir', path } : { kind: 'mbox', path };
}

/** Order of patches in a folder: its quilt-style `series` file if present, else file names. */
export function orderPatchFiles(names: string[], seriesFile: string | undefined): string[] {
  if (seriesFile !== undefined) {
    return seriesFile
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim().split(/\s+/)[0] ?? '')
      .filter((l) => l.length > 0);
  }
  return names.filter((n) => n.endsWith('.patch') || n.endsWith('.diff')).sort();
}

export async function loadSeries(spec: SeriesSpec): Promise<Patch[]> {
  let patches: Patch[];
  let where: string;
  switch (spec.kind) {
    case 'mbox':
      where = spec.path;
      patches = await seriesOfMbox(await readFile(spec.path), spec.path);
      break;
    case 'dir': {
      where = spec.path;
      const names = await readdir(spec.path);
      const seriesPath = join(spec.path, 'series');
      const order = orderPatchFiles(names, existsSync(seriesPath) ? await readFile(seriesPath, 'utf8') : undefined);
      patches = [];
      for (const name of order) {
        const file = join(spec.path, name);
        if (!existsSync(file)) throw new UsageError(`series file of ${spec.path} names ${name}, which does not exist`);
        patches.push(patchFromFile(await readFile(file), file, patches.length + 1));
      }
      break;
    }
    case 'git-range': {
      where = `${spec.repo}:${spec.range}`;
      // Bytes, not text: a commit may hold Latin-1 or any other encoding.
      const out = await execa('git', ['-C', spec.repo, 'format-patch', '--stdout', '--no-signature', '--end-of-options', spec.range], {
        reject: false,
        encoding: 'buffer',
        maxBuffer: 2 ** 30,
        env: { GIT_CONFIG_NOSYSTEM: '1' },
      });
      if (out.exitCode !== 0) throw new UsageError(`git range ${where}: ${Buffer.from(out.stderr).toString('utf8').trim() || out.shortMessage}`);
      patches = await seriesOfMbox(Buffer.from(out.stdout), where);
      break;
    }
  }
  if (patches.length === 0) {
    throw new UsageError(`series ${where} contains no patches (no message with a diff)`, {
      hint: 'an mbox as written by `git format-patch --stdout` or `b4 am`, or a folder of *.patch files',
    });
  }
  return patches;
}

/** The series in an mbox: as the lab joined it, as b4 makes it of a thread, or in [n/m] order. */
export async function seriesOfMbox(mbox: Buffer, source: string): Promise<Patch[]> {
  const asWritten = binary(mbox.subarray(0, labSeparator.length + 1)) === `${labSeparator}\n`;
  const plan = planMbox(parseMessages(mbox), source, asWritten);
  if (plan.kind === 'series') return plan.patches;
  const picked = planMbox(parseMessages(await amThread(mbox, source, plan.reason, plan.root)), `${source} (as b4 am picked it)`);
  if (picked.kind === 'thread') throw new UsageError(`series ${source}: b4 am's output is still not one series (${picked.reason})`);
  return picked.patches;
}

/** One patch file; a mail saved from a client may be quoted-printable, which is decoded. */
function patchFromFile(bytes: Buffer, file: string, index: number): Patch {
  const messages = parseMessages(bytes);
  if (!messages.some((m) => m.diff)) throw new UsageError(`${file} is not a patch (it contains no diff)`);
  const patch = toPatch(messages[0]!, index, file);
  const whole = messages.length === 1 ? patch.bytes : bytes.at(-1) === 0x0a ? bytes : Buffer.concat([bytes, Buffer.from('\n')]);
  const subject = messages[0]!.headers.has('subject') ? patch.subject : basename(file);
  return { ...patch, subject, source: file, bytes: whole, text: whole.toString('utf8') };
}

// Loading a series: an mbox file, a folder of *.patch (ordered by its `series` file, else by
// name), or a git range REPO:A..B (turned into an mbox by `git format-patch`).
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../util/errors.ts';
import { hasDiff, parseHeaders, parseMbox, parseSubject, type Patch } from './mbox.ts';

export type SeriesSpec =
  | { kind: 'mbox'; path: string }
  | { kind: 'dir'; path: string }
  | { kind: 'git-range'; repo: string; range: string };

export function parseSeriesSpec(spec: string, cwd = process.cwd()): SeriesSpec {
  const range = /^(.+):([^:\s]+\.\.[^:\s]*)$/.exec(spec);
  if (range && existsSync(resolve(cwd, range[1]!))) return { kind: 'git-range', repo: resolve(cwd, range[1]!), range: range[2]! };
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
      patches = parseMbox(await readFile(spec.path, 'utf8'), spec.path);
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
        patches.push(patchFromFile(await readFile(file, 'utf8'), file, patches.length + 1));
      }
      break;
    }
    case 'git-range': {
      where = `${spec.repo}:${spec.range}`;
      const out = await execa('git', ['-C', spec.repo, 'format-patch', '--stdout', '--no-signature', spec.range], {
        reject: false,
        env: { GIT_CONFIG_NOSYSTEM: '1' },
      });
      if (out.exitCode !== 0) throw new UsageError(`git range ${where}: ${out.stderr.trim()}`);
      patches = parseMbox(out.stdout, where);
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

function patchFromFile(text: string, file: string, index: number): Patch {
  if (!hasDiff(text)) throw new UsageError(`${file} is not a patch (it contains no diff)`);
  const subject = parseHeaders(text).get('subject');
  const parsed = subject ? parseSubject(subject) : { subject: basename(file) };
  return { index, ...parsed, source: file, text: text.endsWith('\n') ? text : `${text}\n` };
}

// A thread mbox (lore's t.mbox.gz, `b4 mbox`) is handed to b4, the tool kernel developers
// use for exactly this: it keeps the latest revision, puts patches in [n/m] order, adds the
// trailers reviewers sent and leaves replies out. Debian's b4 0.12 works offline with -m.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabError } from '../util/errors.ts';
import { isSeparator } from './mbox.ts';
import { binary, bytesOf } from './mime.ts';

/**
 * Folded header lines joined to one line each. b4 0.12 dies on a folded Subject or From
 * (Python's email policy refuses a header value holding a line feed); unfolding is what
 * RFC 5322 says a reader does anyway. Bodies are left byte for byte.
 */
export function unfoldHeaders(mbox: Uint8Array): Buffer {
  const out: string[] = [];
  let inHeaders = true;
  for (const raw of binary(mbox).split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (isSeparator(line)) inHeaders = true;
    else if (inHeaders && line === '') inHeaders = false;
    else if (inHeaders && /^[ \t]/.test(line) && out.length > 0 && !isSeparator(out.at(-1)!)) {
      out[out.length - 1] = `${out.at(-1)!.replace(/\r$/, '')} ${line.trim()}`;
      continue;
    }
    out.push(raw);
  }
  return bytesOf(out.join('\n'));
}

/** The last lines of a Python traceback say what went wrong; the frames do not help a user. */
export function b4Failure(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  const tb = lines.findIndex((l) => l.startsWith('Traceback (most recent call last)'));
  if (tb >= 0) return lines.slice(tb).filter((l) => !/^\s/.test(l) && !l.startsWith('Traceback')).slice(-2).join(' / ');
  return lines.slice(-4).join(' / ') || 'no output';
}

/** `b4 am` on a local thread mbox: the series it picks, as one mbox. */
export async function amThread(mbox: Uint8Array, source: string, why: string, root: string | undefined): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-b4-'));
  try {
    const input = join(dir, 'thread.mbox');
    await writeFile(input, unfoldHeaders(mbox));
    const args = ['am', '-C', '--no-cover', '-m', input, '-o', join(dir, 'out'), '-n', 'series', ...(root ? [root.replace(/^<|>$/g, '')] : [])];
    await mkdir(join(dir, 'out'));
    const out = await execa('b4', args, { reject: false, cwd: dir, stdin: 'ignore', timeout: 120_000 });
    if (out.failed && (out as { code?: string }).code === 'ENOENT') {
      throw new LabError(`series ${source} is a thread (${why}), and the lab hands threads to b4, which is not installed`, {
        hint: 'apt-get install b4 (./labw installs it), or give the series as `git format-patch` or `b4 am` wrote it',
      });
    }
    const files = (await readdir(join(dir, 'out'))).filter((f) => f.endsWith('.mbx'));
    if (out.exitCode !== 0 || files.length === 0) {
      throw new LabError(`b4 am could not make a series of the thread ${source} (exit ${out.exitCode ?? out.signal}): ${b4Failure(out.stderr)}`, {
        hint: `the file is a thread because ${why}; try \`b4 am -m ${source}\` yourself, or give the series as \`git format-patch\` wrote it`,
      });
    }
    return await readFile(join(dir, 'out', files[0]!));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

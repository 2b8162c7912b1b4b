// Packing a staging directory as a newc cpio archive (what the kernel's initramfs unpacker
// reads), owned by root, with stable ordering so identical inputs give identical bytes.
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';

export async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

export async function packCpio(stagingDir: string, outFile: string, compress: boolean): Promise<void> {
  const list = (await listTree(stagingDir)).join('\n') + '\n';
  const cpio = execa('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '--reproducible'], {
    cwd: stagingDir,
    input: list,
    ...(compress ? {} : { stdout: { file: outFile } }),
  });
  if (compress) await cpio.pipe('gzip', ['-n', '-6'], { stdout: { file: outFile } });
  else await cpio;
}

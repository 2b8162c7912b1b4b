// The guest's initramfs, in three concatenated archives (the kernel unpacks them in order):
//   base.cpio.gz   busybox, the SSH server and its libraries, init — cached by content
//   probe.cpio.gz  the C probe, compiled against the uAPI headers of the kernel under test
//   key.cpio       this run's authorized_keys — so a new key never rebuilds an image
import { copyFile, chmod, mkdir, readFile, readdir, symlink, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { memoByStamps } from '../util/memo.ts';
import { LabError } from '../util/errors.ts';
import { fingerprintOfLine, publicKeyLine } from '../util/host-key.ts';
import { keyOf, sha256File } from '../util/hash.ts';
import { repoRoot } from '../util/paths.ts';
import { Store } from '../util/store.ts';
import { packCpio } from './cpio.ts';

export const imageRecipe = 'image-recipe-2';
// The base image's own recipe: 3 records the host key's public half in the manifest; 4 adds
// the entropy seeder; 5 carries busybox's applet links.
const baseRecipe = 'image-recipe-5';
export const busyboxPath = '/bin/busybox';
export const sshdPath = '/usr/sbin/dropbear';
const guestDir = join(repoRoot, 'guest-images');
const probeDir = join(guestDir, 'probe');
const seedRngSource = join(guestDir, 'rng/seed-rng.c');
/** Where the per-run archive puts the entropy seed init credits to the kernel (init.sh). */
export const rngSeedPath = 'etc/lab/rng-seed';

/** Shared libraries a dynamic binary needs, as ldd resolves them on this host. */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/** Remembered while the binary, the libraries and the loader's cache are unchanged (util/memo.ts). */
async function sharedLibs(binary: string): Promise<string[]> {
  return memoByStamps(`ldd ${binary}`, async () => {
    const libs = parseLdd((await execa('ldd', [binary])).stdout);
    return { value: libs, files: [binary, ...libs, '/etc/ld.so.cache'] };
  });
}

async function stageFile(staging: string, from: string, to = from, mode?: number): Promise<void> {
  const dest = join(staging, to);
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(from, dest);
  if (mode !== undefined) await chmod(dest, mode);
}

async function baseInputs() {
  for (const [path, pkg] of [[busyboxPath, 'busybox-static'], [sshdPath, 'dropbear-bin']] as const) {
    if (!existsSync(path)) throw new LabError(`${path} is missing`, { hint: `apt-get install ${pkg} (or run ./lab, which installs it)` });
  }
  const libs = await sharedLibs(sshdPath);
  const files = [busyboxPath, sshdPath, ...libs, join(guestDir, 'init.sh'), join(guestDir, 'floor.sh'), seedRngSource];
  const hashes = await Promise.all(files.map(async (f) => [f, await sha256File(f)]));
  return { libs, key: keyOf({ recipe: baseRecipe, hashes }).slice(0, 32) };
}

/** busybox --list-full, as links to /bin/busybox in the staging tree (what --install -s makes). */
async function linkApplets(staging: string): Promise<void> {
  const applets = parseAppletList((await execa(busyboxPath, ['--list-full'])).stdout);
  for (const path of applets) {
    await mkdir(dirname(join(staging, path)), { recursive: true });
    await symlink('/bin/busybox', join(staging, path));
  }
}

/** The applet paths of `busybox --list-full` (relative to /), without busybox itself. */
export function parseAppletList(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter((l) => l !== '' && l !== 'bin/busybox' && !l.startsWith('/') && !l.includes('..'));
}

export interface BaseImage {
  path: string;
  hit: boolean;
  /** The fingerprint (SHA256:…) of the image's SSH host key: the one key the client accepts. */
  hostKey: string;
}

export async function buildBaseImage(cache: string): Promise<BaseImage> {
  const { libs, key } = await baseInputs();
  const entry = await new Store(join(cache, 'images')).get(`base-${key}`, async (out) => {
    let hostKey = '';
    const staging = join(out, '.staging');
    try {
      await stageFile(staging, busyboxPath, '/bin/busybox', 0o755);
      // The applets' links are made here, not by `busybox --install -s` in init: ~270 symlink
      // calls under TCG were 0.25 s of every boot.
      await linkApplets(staging);
      await stageFile(staging, sshdPath, '/usr/sbin/dropbear', 0o755);
      for (const lib of libs) await stageFile(staging, lib);
      await stageFile(staging, join(guestDir, 'init.sh'), '/init', 0o755);
      await stageFile(staging, join(guestDir, 'floor.sh'), '/floor', 0o755);
      await mkdir(join(staging, 'usr/sbin'), { recursive: true });
      const seeder = await execa('gcc', ['-static', '-Os', '-s', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-o', join(staging, 'usr/sbin/lab-seed-rng'), seedRngSource], { reject: false });
      if (seeder.exitCode !== 0) throw new LabError(`${seedRngSource} does not compile:\n${seeder.stderr.split('\n').slice(0, 10).join('\n')}`, { hint: 'apt-get install gcc libc6-dev (or run ./labw, which installs them)' });
      await mkdir(join(staging, 'etc/dropbear'), { recursive: true });
      await writeFile(join(staging, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      await writeFile(join(staging, 'etc/group'), 'root:x:0:\n');
      await writeFile(join(staging, 'etc/shells'), '/bin/sh\n');
      await mkdir(join(staging, 'root/.ssh'), { recursive: true, mode: 0o700 });
      await chmod(join(staging, 'root'), 0o700);
      // A fixed host key per image: the guest never spends boot time generating one, and its
      // public half, known now, is what the SSH client pins.
      const hostKeyFile = join(staging, 'etc/dropbear/host_key');
      await execa('dropbearkey', ['-t', 'ed25519', '-f', hostKeyFile]);
      await chmod(hostKeyFile, 0o600);
      hostKey = publicKeyLine((await execa('dropbearkey', ['-y', '-f', hostKeyFile])).stdout);
      await packCpio(staging, join(out, 'base.cpio.gz'), true);
      // The archive holds the host's private key: only its owner may read it.
      await chmod(join(out, 'base.cpio.gz'), 0o600);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    return { libs, hostKey };
  });
  const line = entry.manifest.meta.hostKey;
  if (typeof line !== 'string') throw new LabError(`the cached guest image ${entry.dir} records no host key`, { hint: 'delete that directory; the next run rebuilds it' });
  return { path: join(entry.dir, 'base.cpio.gz'), hit: entry.hit, hostKey: fingerprintOfLine(line) };
}

/** Probe sources, in a stable order. */
async function probeSources(): Promise<string[]> {
  return (await readdir(probeDir)).filter((f) => /\.[ch]$/.test(f)).sort().map((f) => join(probeDir, f));
}

export function probeCompileArgs(sources: string[], headers: string, out: string): string[] {
  return ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', `-I${headers}`, '-o', out, ...sources.filter((s) => s.endsWith('.c'))];
}

export async function buildProbeImage(cache: string, kernelKey: string, headers: string): Promise<{ path: string; hit: boolean }> {
  const sources = await probeSources();
  const hashes = await Promise.all(sources.map(async (f) => [basename(f), await sha256File(f)]));
  const key = keyOf({ recipe: imageRecipe, kernelKey, hashes }).slice(0, 32);
  const entry = await new Store(join(cache, 'images')).get(`probe-${key}`, async (out) => {
    const staging = join(out, '.staging');
    try {
      await mkdir(join(staging, 'usr/bin'), { recursive: true });
      const compiled = await execa('gcc', probeCompileArgs(sources, headers, join(staging, 'usr/bin/vfio-probe')), { reject: false });
      if (compiled.exitCode !== 0) {
        throw new LabError(`the guest probe does not compile against this kernel's uAPI headers (${headers}):\n${compiled.stderr.split('\n').slice(0, 15).join('\n')}`);
      }
      await packCpio(staging, join(out, 'probe.cpio.gz'), true);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    return {};
  });
  return { path: join(entry.dir, 'probe.cpio.gz'), hit: entry.hit };
}

/**
 * The per-run archive carrying the SSH public key and a fresh entropy seed (init credits it to
 * the kernel, whose CRNG is then ready before the SSH server's first getrandom()), appended
 * after the cached ones.
 */
export async function buildKeyArchive(dir: string, publicKey: string): Promise<string> {
  const staging = join(dir, 'key-staging');
  await mkdir(join(staging, dirname(rngSeedPath)), { recursive: true });
  await writeFile(join(staging, rngSeedPath), randomBytes(64), { mode: 0o600 });
  await chmod(join(staging, rngSeedPath), 0o600);
  await mkdir(join(staging, 'root/.ssh'), { recursive: true });
  await chmod(join(staging, 'root'), 0o700);
  await chmod(join(staging, 'root/.ssh'), 0o700);
  // Modes set explicitly: the archive records them, and a umask must not loosen or tighten them.
  await writeFile(join(staging, 'root/.ssh/authorized_keys'), `${publicKey.trim()}\n`);
  await chmod(join(staging, 'root/.ssh/authorized_keys'), 0o600);
  const out = join(dir, 'key.cpio');
  await packCpio(staging, out, false);
  await rm(staging, { recursive: true, force: true });
  return out;
}

/**
 * One initrd file: the archives back to back. The kernel skips zero bytes between archives
 * but wants an uncompressed one to start on a 4-byte boundary, so each part is padded.
 */
export async function concatInitrd(parts: string[], out: string): Promise<string> {
  const buffers: Buffer[] = [];
  for (const part of parts) {
    const data = await readFile(part);
    buffers.push(data, Buffer.alloc((4 - (data.length % 4)) % 4));
  }
  // It carries the guest's host private key (from the base archive): owner-only.
  await writeFile(out, Buffer.concat(buffers), { mode: 0o600 });
  await chmod(out, 0o600);
  return out;
}

// QEMU 10 beside the system's 7.2, never instead of it: the .debs come from Debian
// bookworm-backports through a private apt directory (its own sources list, lists, cache and an
// empty dpkg status), so the machine's apt state and its installed QEMU stay as they are. They
// are unpacked with `dpkg -x` into the cache, in a directory named by the hashes of the .debs:
//   $XDG_CACHE_HOME/iommufd-lab/qemu10/<key>/root/usr/bin/qemu-system-x86_64
// A tree unpacked this way loads 7.2's modules and firmware unless told where its own are, so
// every caller runs it through qemu10Command() (QEMU_MODULE_DIR and -L).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabError } from '../util/errors.ts';
import { keyOf, sha256File } from '../util/hash.ts';

/** The packages a headless qemu-system-x86_64 10 needs; seabios because 10.0 wants > 1.16.3-1. */
export const qemu10Packages = ['qemu-system-x86', 'qemu-system-common', 'qemu-system-data', 'seabios'] as const;
const recipe = 'qemu10-recipe-1';
const wantVersion = /^1:10\.0\./;
const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface Qemu10 {
  /** The unpacked tree: usr/bin, usr/lib/x86_64-linux-gnu/qemu, usr/share/qemu. */
  root: string;
  binary: string;
  moduleDir: string;
  dataDir: string;
  /** qemu-system-x86's Debian version, e.g. 1:10.0.2+ds-2+deb13u1~bpo12+1. */
  version: string;
  key: string;
}

const pointerOf = (cache: string) => join(cache, 'qemu10', 'current.json');

export function qemu10Layout(root: string): Pick<Qemu10, 'root' | 'binary' | 'moduleDir' | 'dataDir'> {
  return {
    root,
    binary: join(root, 'usr/bin/qemu-system-x86_64'),
    moduleDir: join(root, 'usr/lib/x86_64-linux-gnu/qemu'),
    dataDir: join(root, 'usr/share/qemu'),
  };
}

/** The argv and environment that make the unpacked QEMU use its own modules and firmware. */
export function qemu10Command(q: Pick<Qemu10, 'binary' | 'moduleDir' | 'dataDir'>, args: string[]): { file: string; args: string[]; env: Record<string, string> } {
  return { file: q.binary, args: ['-L', q.dataDir, ...args], env: { QEMU_MODULE_DIR: q.moduleDir } };
}

/** The unpacked QEMU 10 in the cache, or null (no network, no apt). */
export async function findQemu10(cache: string): Promise<Qemu10 | null> {
  let pointer: { key: string; version: string };
  try {
    pointer = JSON.parse(await readFile(pointerOf(cache), 'utf8')) as { key: string; version: string };
  } catch {
    return null;
  }
  const layout = qemu10Layout(join(cache, 'qemu10', pointer.key, 'root'));
  return existsSync(layout.binary) ? { ...layout, version: pointer.version, key: pointer.key } : null;
}

/**
 * The Debian mirror this machine already uses, from its own apt configuration: the project
 * names no host. The first Packages index of this release's Debian origin wins.
 */
export function parseMirror(indextargets: string): string | null {
  const uri = indextargets.split('\n').map((l) => l.trim()).find((l) => /^https?:\/\//.test(l));
  return uri ? uri.replace(/\/*$/, '/') : null;
}

async function codename(): Promise<string> {
  const text = await readFile('/etc/os-release', 'utf8');
  const m = /^VERSION_CODENAME=("?)([a-z]+)\1$/m.exec(text);
  if (!m) throw new LabError('/etc/os-release names no VERSION_CODENAME', { hint: 'QEMU 10 comes from Debian backports: this needs a Debian machine' });
  return m[2]!;
}

export async function debianMirror(release: string): Promise<string> {
  const r = await execa('apt-get', ['indextargets', '--format', '$(REPO_URI)', `Codename: ${release}`, 'Origin: Debian', 'Identifier: Packages'], { reject: false });
  const mirror = r.exitCode === 0 ? parseMirror(r.stdout) : null;
  if (!mirror) throw new LabError(`apt knows no Debian mirror for ${release}`, { hint: 'run apt-get update once, so apt has the indexes of its own sources' });
  return mirror;
}

/** The sources list of the private apt directory: backports only, signed by Debian's archive key. */
export function backportsSources(mirror: string, release: string): string {
  return `deb [signed-by=${keyring}] ${mirror} ${release}-backports main\n`;
}

/** apt options that point every piece of state apt reads or writes into `dir`. */
export function privateAptOptions(dir: string): string[] {
  const o = (k: string, v: string) => ['-o', `${k}=${v}`];
  return [
    ...o('Dir::Etc::sourcelist', join(dir, 'sources.list')),
    ...o('Dir::Etc::sourceparts', join(dir, 'sources.list.d')),
    ...o('Dir::Etc::preferencesparts', join(dir, 'preferences.d')),
    ...o('Dir::State::lists', join(dir, 'lists')),
    ...o('Dir::State::status', join(dir, 'status')),
    ...o('Dir::Cache', join(dir, 'cache')),
    // The cache may sit under a home _apt cannot enter; the download is checked by apt's hashes.
    ...o('APT::Sandbox::User', 'root'),
    '-q',
  ];
}

export interface FetchProgress {
  (line: string): void;
}

/**
 * Returns QEMU 10 from the cache, or downloads the backports .debs and unpacks them. Needs the
 * network (Debian's mirror) only when nothing is cached, or with refresh.
 */
export async function ensureQemu10(cache: string, options: { refresh?: boolean; say?: FetchProgress } = {}): Promise<Qemu10> {
  const say = options.say ?? (() => {});
  if (!options.refresh) {
    const found = await findQemu10(cache);
    if (found) return found;
  }
  const release = await codename();
  const mirror = await debianMirror(release);
  const top = join(cache, 'qemu10');
  const apt = join(top, 'apt');
  for (const d of ['sources.list.d', 'preferences.d', 'lists/partial', 'cache/archives/partial']) await mkdir(join(apt, d), { recursive: true });
  await writeFile(join(apt, 'sources.list'), backportsSources(mirror, release));
  await writeFile(join(apt, 'status'), '');
  const opts = privateAptOptions(apt);
  say(`apt-get update (${release}-backports only, private lists in ${apt})`);
  await run('apt-get', [...opts, 'update'], 'apt-get update of the private backports list');
  const debs = await mkdtemp(join(top, 'debs-'));
  try {
    say(`apt-get download ${qemu10Packages.join(' ')}`);
    await run('apt-get', [...opts, '-t', `${release}-backports`, 'download', ...qemu10Packages], 'apt-get download', debs);
    const files = (await readdir(debs)).filter((f) => f.endsWith('.deb')).sort();
    const hashes = await Promise.all(files.map(async (f) => [f, await sha256File(join(debs, f))] as const));
    const qemuDeb = files.find((f) => f.startsWith('qemu-system-x86_'));
    if (!qemuDeb || files.length !== qemu10Packages.length) throw new LabError(`apt-get download gave ${files.join(', ') || 'nothing'}, not the ${qemu10Packages.length} packages asked for`);
    const version = (await execa('dpkg-deb', ['-f', join(debs, qemuDeb), 'Version'])).stdout.trim();
    if (!wantVersion.test(version)) throw new LabError(`${release}-backports offers qemu-system-x86 ${version}, not 10.0.x`, { hint: 'the lab is measured against QEMU 10.0; pin the version in lab/src/image/qemu10.ts once a newer one is checked' });
    const key = keyOf({ recipe, hashes }).slice(0, 24);
    const dest = join(top, key);
    if (!existsSync(join(dest, 'root/usr/bin/qemu-system-x86_64'))) {
      const staging = `${dest}.staging-${process.pid}`;
      await rm(staging, { recursive: true, force: true });
      await mkdir(join(staging, 'root'), { recursive: true });
      for (const f of files) {
        say(`dpkg -x ${f}`);
        await run('dpkg', ['-x', join(debs, f), join(staging, 'root')], `dpkg -x ${f}`);
      }
      await writeFile(join(staging, 'debs.json'), JSON.stringify({ version, hashes }, null, 2));
      await rm(dest, { recursive: true, force: true });
      await rename(staging, dest);
    }
    await writeFile(pointerOf(cache), JSON.stringify({ key, version }) + '\n');
    const layout = qemu10Layout(join(dest, 'root'));
    await checkRuns(layout);
    return { ...layout, version, key };
  } finally {
    await rm(debs, { recursive: true, force: true });
  }
}

async function run(file: string, args: string[], what: string, cwd?: string): Promise<void> {
  const r = await execa(file, args, { reject: false, cwd, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new LabError(`${what} failed (exit ${r.exitCode}):\n${(r.stderr || r.stdout).split('\n').slice(-12).join('\n')}`);
}

/** The unpacked QEMU starts with its own modules: `-device help` lists what 10 has and 7.2 lacks. */
export async function checkRuns(q: Pick<Qemu10, 'binary' | 'moduleDir' | 'dataDir'>): Promise<void> {
  const c = qemu10Command(q, ['-nodefaults', '-display', 'none', '-object', 'help']);
  const r = await execa(c.file, c.args, { env: c.env, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0 || !/\biommufd\b/.test(r.stdout)) {
    throw new LabError(`the unpacked QEMU 10 (${q.binary}) does not run or has no iommufd object:\n${(r.stderr || r.stdout).slice(0, 600)}`, { hint: 'ldd it for a missing library; or refresh it: guest-images/vmm/fetch-qemu10.sh --refresh' });
  }
}

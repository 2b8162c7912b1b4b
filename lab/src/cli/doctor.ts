// `./labw doctor`: one line per prerequisite, each missing one with the command that fixes it.
import { existsSync, statfsSync } from 'node:fs';
import { execa } from 'execa';
import { defaultBase } from '../kernel/base.ts';
import { busyboxPath, sshdPath } from '../image/initramfs.ts';
import { cachedVerdict, decideAccel, hostFacts } from '../qemu/accel.ts';
import { qbootRom } from '../qemu/argv.ts';
import { findQemu10 } from '../image/qemu10.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const apt = (pkgs: string) => `apt-get install ${pkgs}`;

async function version(cmd: string, args: string[]): Promise<string | null> {
  const r = await execa(cmd, args, { reject: false });
  return r.exitCode === 0 ? (r.stdout || r.stderr).split('\n')[0]!.trim() : null;
}

export async function runChecks(cache: string): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string, fix?: string) => checks.push({ name, ok, detail, fix: ok ? undefined : fix });

  const qemu = await version('qemu-system-x86_64', ['--version']);
  add('qemu', qemu !== null && existsSync(qbootRom), qemu ?? 'qemu-system-x86_64 not found', apt('qemu-system-x86 qemu-utils'));
  // QEMU 10 lives in the cache beside the system's 7.2, which the rest of the lab runs on.
  const q10 = await findQemu10(cache);
  // Optional: only the nested/ scenarios need it, so its absence does not fail doctor.
  add('qemu 10', true, q10 ? `${q10.version} in ${q10.root} (the vmm image's VMM; the system QEMU stays as it is)` : 'absent (only nested/ needs it): guest-images/vmm/fetch-qemu10.sh unpacks Debian bookworm-backports\' QEMU 10 into the cache, system-wide nothing changes; nested/ runs fetch it themselves');
  // The same decision a run makes: the obvious answers at once, the smoke boot only where KVM might work.
  const decision = decideAccel(await hostFacts());
  const verdict = decision.kind === 'smoke' ? await cachedVerdict(cache) : null;
  add(
    'accelerator',
    true,
    decision.kind === 'decided'
      ? `${decision.accel.toUpperCase()} (${decision.reason})`
      : verdict
        ? `${verdict.accel.toUpperCase()} (${verdict.reason}, checked ${verdict.checkedAt})`
        : `${decision.reason}: the first run boots a KVM smoke test, TCG if it fails`,
  );
  add('kernel source', existsSync(defaultBase), existsSync(defaultBase) ? defaultBase : `${defaultBase} missing`, apt('linux-source-6.12'));
  add('busybox', existsSync(busyboxPath), existsSync(busyboxPath) ? busyboxPath : 'busybox-static missing', apt('busybox-static'));
  add('sshd (guest)', existsSync(sshdPath) && existsSync('/usr/bin/dropbearkey'), existsSync(sshdPath) ? `dropbear ${sshdPath}` : 'dropbear missing', apt('dropbear-bin'));
  const staticOk = await gccStatic();
  add('gcc -static', staticOk, staticOk ? ((await version('gcc', ['--version'])) ?? '') : 'cannot link a static binary', apt('build-essential'));
  for (const [tool, pkg] of [['ccache', 'ccache'], ['flex', 'flex'], ['bison', 'bison'], ['bc', 'bc'], ['cpio', 'cpio'], ['rsync', 'rsync'], ['git', 'git'], ['xz', 'xz-utils']] as const) {
    const v = await version(tool, ['--version']);
    add(tool, v !== null, v ?? `${tool} not found`, apt(pkg));
  }
  for (const [header, pkg] of [['/usr/include/libelf.h', 'libelf-dev'], ['/usr/include/openssl/ssl.h', 'libssl-dev']] as const) {
    add(pkg, existsSync(header), existsSync(header) ? header : `${header} missing`, apt(pkg));
  }
  const free = freeGiB(cache);
  add('free disk', free >= 8, `${free.toFixed(1)} GiB free for ${cache}`, 'free at least 8 GiB (a kernel work tree and its cache take ~3 GiB)');
  return checks;
}

async function gccStatic(): Promise<boolean> {
  const r = await execa('gcc', ['-static', '-x', 'c', '-o', '/dev/null', '-'], { input: 'int main(void){return 0;}', reject: false });
  return r.exitCode === 0;
}

function freeGiB(path: string): number {
  let p = path;
  while (!existsSync(p)) p = p.replace(/\/[^/]+\/?$/, '') || '/';
  const s = statfsSync(p);
  return (s.bavail * s.bsize) / 2 ** 30;
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.ok ? 'ok     ' : 'MISSING'} ${c.name.padEnd(14)} ${c.detail}${c.fix ? `\n        fix: ${c.fix}` : ''}`).join('\n');
}

// Whether a run directory may be resumed: what it was run with (its identity.json) against what
// the new command would run with. A resumed run keeps the old results, so any difference in
// what decides a verdict — lab commit, base, kernel keys, patches, fragments, the QEMU that ran
// the guests — would hand back
// a stale verdict under a new name. Pure: the caller reads the file and computes the present.
import { parseResumeIdentity } from './identity.ts';

export interface RunIdentity {
  labCommit: string;
  /** The base as described by the build ("linux-source-6.12.tar.xz sha256:…"). */
  base: string;
  /** Kernel build key per flavour; null where the recorded run had not built that flavour yet. */
  kernels: { flavour: string; key: string | null }[];
  /** Each patch with its content hash; `sha256s` lists every hash a patch may be recorded under. */
  series: { index: number; subject: string; sha256s: string[] }[];
  /** Config fragment paths, in order. */
  fragments: string[];
  /** The QEMU (--qemu 7.2 or 10) and its --version line; version null where it cannot be told. */
  qemu: { target: string; version: string | null };
}

/** The identity recorded in identity.json (report/identity.ts, written by scenario/session.ts), or why it is unreadable. */
export function recordedIdentity(json: unknown): RunIdentity | string {
  const o = parseResumeIdentity(json);
  if (typeof o === 'string') return o;
  if (!o.kernel) return 'identity.json has no kernel base';
  return {
    labCommit: o.labCommit,
    base: o.kernel.base,
    kernels: o.kernels,
    series: o.series.map((p) => ({ index: p.index, subject: p.subject, sha256s: [p.sha256] })),
    fragments: o.fragments,
    // Runs from before --qemu were all on the system's QEMU (7.2), whose version they recorded.
    qemu: { target: o.qemuTarget ?? '7.2', version: o.qemu !== undefined && o.qemu !== 'unknown' ? o.qemu : null },
  };
}

const short = (s: string) => (/^[0-9a-f]{16,}/.test(s) ? s.slice(0, 12) : s);

/** Every way `now` differs from `recorded`, one line each; empty when the run may be resumed. */
export function identityDifferences(recorded: RunIdentity, now: RunIdentity): string[] {
  const out: string[] = [];
  if (recorded.labCommit !== now.labCommit) out.push(`lab commit: ${short(recorded.labCommit)} then, ${short(now.labCommit)} now`);
  if (recorded.base !== now.base) out.push(`base: ${recorded.base} then, ${now.base} now`);
  const n = Math.max(recorded.series.length, now.series.length);
  if (recorded.series.length !== now.series.length) out.push(`series: ${recorded.series.length} patch(es) then, ${now.series.length} now`);
  for (let i = 0; i < n; i++) {
    const was = recorded.series[i];
    const is = now.series[i];
    if (!was || !is) continue;
    if (!was.sha256s.some((h) => is.sha256s.includes(h))) out.push(`patch ${is.index} ("${is.subject}"): its content changed (sha256 ${short(was.sha256s[0] ?? '?')} then, ${short(is.sha256s[0] ?? '?')} now)`);
  }
  if (recorded.fragments.join('\n') !== now.fragments.join('\n')) {
    const added = now.fragments.filter((f) => !recorded.fragments.includes(f));
    const removed = recorded.fragments.filter((f) => !now.fragments.includes(f));
    const parts = [...added.map((f) => `+${f}`), ...removed.map((f) => `-${f}`)];
    out.push(`config fragments: ${parts.length ? parts.join(', ') : 'same files, another order'}`);
  }
  if (recorded.qemu.target !== now.qemu.target) out.push(`QEMU: --qemu ${recorded.qemu.target} then, --qemu ${now.qemu.target} now`);
  else if (recorded.qemu.version && now.qemu.version && recorded.qemu.version !== now.qemu.version) out.push(`QEMU version: ${recorded.qemu.version} then, ${now.qemu.version} now`);
  for (const k of now.kernels) {
    const was = recorded.kernels.find((r) => r.flavour === k.flavour)?.key;
    // A flavour the interrupted run never built has nothing to contradict.
    if (was && k.key && was !== k.key) out.push(`kernel key (${k.flavour}): ${short(was)} then, ${short(k.key)} now`);
  }
  return out;
}

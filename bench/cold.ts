// bench/cold: the first `./labw run` on a machine, as a new user meets it: a throwaway cache
// (XDG_CACHE_HOME, so no kernel, image or ccache entry is reused), the whole suite. Prints the
// total beside its floor, the lab kernel's own build (the goal: cold pipeline ≤ one kernel
// build + 2 min), and where the rest went, read from the run's timestamped progress lines.
// It takes a kernel build or two (~11 min each on 2 cores): run it on an otherwise idle machine.
// With --cache DIR the run fills DIR (an XDG_CACHE_HOME that holds no lab kernel yet) and keeps
// it: a fresh machine's first run is then both the figure and the cache the next runs use.
// Run: ./labw bench cold [--cache DIR] [PATTERN…]
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { repoRoot } from '../lab/src/util/paths.ts';

const args = process.argv.slice(2);
const at = args.indexOf('--cache');
const kept = at >= 0 ? args.splice(at, 2)[1] : undefined;
if (at >= 0 && !kept) throw new Error('--cache needs a directory');
const patterns = args.filter((a) => !a.startsWith('--'));
const scratch = mkdtempSync(join(tmpdir(), 'lab-bench-cold-'));
const cacheHome = kept ?? join(scratch, 'cache');
const kernels = join(cacheHome, 'iommufd-lab/kernels');
if (existsSync(kernels) && readdirSync(kernels).length > 0) {
  console.error(`${kernels} already holds kernels: a cold figure needs a cache without them`);
  process.exit(2);
}
$.verbose = false;
$.cwd = repoRoot;
$.env = { ...process.env, CI: '1', LAB_NO_BOOTSTRAP: '1', XDG_CACHE_HOME: cacheHome };

const t0 = Date.now();
const r = await $`./labw run --out ${join(scratch, 'out')} ${patterns}`.nothrow();
const total = (Date.now() - t0) / 1000;

// "[hh:mm:ss] kernel <key> (…) …: built in 642.1s" and the like: the phases' own durations.
const lines = `${r.stderr}\n${r.stdout}`.split('\n');
const durations = lines.flatMap((l) => {
  const m = /^\[[\d:]+\] (.+?) \((\d+(?:\.\d+)?)s\)$/.exec(l.trim());
  return m ? [{ what: m[1]!, s: Number(m[2]) }] : [];
});
const builds = durations.filter((d) => /^kernel /.test(d.what)).sort((a, b) => b.s - a.s);
const floor = builds[0]?.s;
console.log(`cold ./labw run ${patterns.join(' ')}: ${total.toFixed(1)} s   (exit ${r.exitCode}: ${lines.filter((l) => /^\d+ passed/.test(l)).at(-1) ?? '?'})`);
for (const b of builds) console.log(`  ${b.what}: ${b.s.toFixed(1)} s`);
if (floor !== undefined) {
  console.log(`floor (the longest kernel build, the lab kernel's make): ${floor.toFixed(1)} s`);
  console.log(`total − floor: ${(total - floor).toFixed(1)} s   goal: ≤ 120 s   ratio total / floor: ${(total / floor).toFixed(2)}`);
} else {
  console.log('no kernel build was reported: was the cache really empty?');
}
rmSync(scratch, { recursive: true, force: true });

// bench/mutation: the mutation score of the judging code (verdict, compare, watchdog, teeth,
// fingerprint, guest-log) under the unit tests, with StrykerJS (stryker.config.mjs). Goal: ≥ 80 %
// per module; every surviving mutant is a missing test, listed with where it is.
// Run: ./labw bench mutation [MODULE…]   (e.g. ./labw bench mutation compare teeth)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { repoRoot } from '../lab/src/util/paths.ts';

const modules = process.argv.slice(2).filter((a) => !a.startsWith('--'));
$.verbose = false;
$.cwd = repoRoot;
$.env = { ...process.env, LAB_MUTATE: modules.join(','), CI: '1', LAB_NO_BOOTSTRAP: '1' };

const t0 = Date.now();
const run = await $`npx stryker run`.nothrow();
const s = (Date.now() - t0) / 1000;
interface Mutant { status: string; mutatorName: string; replacement?: string; location: { start: { line: number } } }
const report = JSON.parse(await readFile(join(repoRoot, 'reports/mutation/mutation.json'), 'utf8')) as { files: Record<string, { mutants: Mutant[] }> };
const goal = 80;
console.log(`bench/mutation — ${Object.keys(report.files).length} module(s), ${s.toFixed(0)} s (stryker exit ${run.exitCode})`);
let below = 0;
for (const [file, { mutants }] of Object.entries(report.files)) {
  // Stryker's score: killed (or timed out) over every valid mutant; compile and runtime errors are not counted.
  const counted = mutants.filter((m) => ['Killed', 'Timeout', 'Survived', 'NoCoverage'].includes(m.status));
  const killed = counted.filter((m) => m.status === 'Killed' || m.status === 'Timeout').length;
  const score = counted.length ? (100 * killed) / counted.length : 100;
  if (score < goal) below++;
  console.log(`  ${file.padEnd(34)} ${score.toFixed(1).padStart(5)} %   (${killed}/${counted.length} killed)${score < goal ? '   BELOW the goal' : ''}`);
  for (const m of counted.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage').slice(0, 8)) console.log(`      survived: line ${m.location.start.line} ${m.mutatorName}${m.replacement ? ` → ${m.replacement.slice(0, 60)}` : ''}`);
}
console.log(`modules below ${goal} %: ${below}`);

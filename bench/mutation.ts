// bench/mutation: the mutation score of the judging code (verdict, compare, watchdog,
// fingerprint, teeth, guest-log, expect) under the unit tests, with StrykerJS (stryker.config.mjs,
// one Stryker run per module). Goal: ≥ 80 % per module; every surviving mutant is a missing test,
// printed with its line. Exit 1 when a module is below the goal (the nightly runs it).
// Run: ./labw bench mutation [MODULE…]   (e.g. ./labw bench mutation compare teeth)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { repoRoot } from '../lab/src/util/paths.ts';

const judging = JSON.parse(await readFile(join(repoRoot, 'bench/mutation-modules.json'), 'utf8')) as Record<string, string[]>;

const asked = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const unknown = asked.filter((m) => !(m in judging));
if (unknown.length) {
  console.error(`bench/mutation: not a judging module: ${unknown.join(', ')} (one of ${Object.keys(judging).join(', ')})`);
  process.exit(2);
}
const modules = asked.length ? asked : Object.keys(judging);
const goal = 80;
interface Mutant { status: string; mutatorName: string; replacement?: string; location: { start: { line: number } } }
$.verbose = false;
$.cwd = repoRoot;

console.log(`bench/mutation — ${modules.length} module(s), goal ${goal} %`);
const t0 = Date.now();
let below = 0;
for (const module of modules) {
  const t = Date.now();
  const run = await $({ env: { ...process.env, LAB_MUTATE: module, CI: '1', LAB_NO_BOOTSTRAP: '1' } })`npx stryker run`.nothrow();
  const s = (Date.now() - t) / 1000;
  if (run.exitCode !== 0) {
    below++;
    console.log(`  ${module.padEnd(12)} stryker exit ${run.exitCode} after ${s.toFixed(0)} s:\n${run.stderr.trim().split('\n').slice(-8).join('\n')}`);
    continue;
  }
  const report = JSON.parse(await readFile(join(repoRoot, `reports/mutation/${module}.json`), 'utf8')) as { files: Record<string, { mutants: Mutant[] }> };
  const mutants = Object.values(report.files).flatMap((f) => f.mutants);
  // Stryker's score: killed (or timed out) over every valid mutant; compile and runtime errors are not counted.
  const counted = mutants.filter((m) => ['Killed', 'Timeout', 'Survived', 'NoCoverage'].includes(m.status));
  const killed = counted.filter((m) => m.status === 'Killed' || m.status === 'Timeout').length;
  const score = counted.length ? (100 * killed) / counted.length : 100;
  if (score < goal) below++;
  console.log(`  ${module.padEnd(12)} ${score.toFixed(1).padStart(5)} %   (${killed}/${counted.length} killed, ${s.toFixed(0)} s)${score < goal ? '   BELOW the goal' : ''}`);
  const survivors = counted.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage');
  for (const m of survivors.slice(0, 12)) console.log(`      survived: line ${m.location.start.line} ${m.mutatorName}${m.replacement ? ` → ${m.replacement.replace(/\s+/g, ' ').slice(0, 60)}` : ''}`);
  if (survivors.length > 12) console.log(`      … and ${survivors.length - 12} more (reports/mutation/${module}.json)`);
}
console.log(`modules below ${goal} %: ${below} of ${modules.length}; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exitCode = below ? 1 : 0;

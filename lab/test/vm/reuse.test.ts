// Guest reuse keeps verdicts honest: a scenario that leaves the device open in a reused guest is
// the one that fails (the checked reset names what it left), the next one starts clean; a
// scenario that fails only in a guest another scenario used is re-run fresh and reported as
// "fails in a reused guest, passes fresh"; the one after is unaffected. DMA scenarios run in a
// reused guest too: one whose faults fit the kernel's DMAR rate limit keeps its verdict; one whose
// faults the earlier scenario's messages pushed over the limit runs again fresh, with a note; a
// leak the reused attempt showed still fails it then, and a failure there that dropped messages
// cannot explain is reported as the difference it is. With pacing (the default) the runner waits
// for room in the window instead, and the scenario after the burst keeps its reused verdict. What
// the kernel logs during a reset belongs to the scenario before it.
// Real guests, one lane.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { ScenarioResult } from '../../src/report/events.ts';
import { liveQemus, missingArtifacts, runFixtures } from './harness.ts';

let byId: Map<string, ScenarioResult>;
let runDir: string;
/** e and f again, with the runner making room in the rate limit before f. */
let paced: Map<string, ScenarioResult>;

test.before(async () => {
  // Without pacing: the windows e, h and j fill are the ones the runner must answer for.
  ({ runDir, byId } = await runFixtures('scenarios-reuse', { paceDmar: false }));
  ({ byId: paced } = await runFixtures('scenarios-reuse', { patterns: ['reuse/d-', 'reuse/e-', 'reuse/f-'] }));
});

const row = (id: string) => byId.get(`reuse/${id}`)!;

test.serial('a scenario that leaves the device open fails, naming what it left; its own expectations held', (t) => {
  const r = row('a-holds-the-device-open');
  t.is(r.status, 'failed', JSON.stringify(r.error ?? r.failures));
  t.regex(r.failures.join('\n'), /^left for the next user of the guest: \/proc\/\d+ still holds \/dev\/vfio\/devices\/vfio\d+$/m);
  t.false(r.failures.some((f) => /open FDs of the cdev/.test(f)), r.failures.join('\n'));
});

test.serial('the scenario after it gets a clean guest and passes', (t) => {
  t.is(row('b-marks-the-guest').status, 'passed', JSON.stringify(row('b-marks-the-guest').failures));
});

test.serial('a failure only a reused guest shows is re-run fresh and reported, not passed', (t) => {
  const r = row('c-fails-where-marked');
  t.is(r.status, 'failed');
  t.regex(r.failures[0]!, /^fails in a reused guest, passes fresh: the guest is clean: expected .*clean.*, got .*marked/);
  t.true(Object.keys(r.artifacts).some((k) => k.startsWith('fresh-')), Object.keys(r.artifacts).join(' '));
});

test.serial('the scenario after is unaffected', (t) => {
  t.is(row('d-after').status, 'passed', JSON.stringify(row('d-after').failures));
});

const firstPhase = (r: ScenarioResult) => r.phases?.[0]?.phase;

test.serial('a DMA scenario runs in the reused guest, sees only its own log, and keeps its verdict', (t) => {
  const r = row('e-faults-within-the-limit');
  t.is(r.status, 'passed', JSON.stringify(r.failures));
  t.not(firstPhase(r), 'boot', 'it ran in the guest d-after handed on');
  t.is(r.notes, undefined);
  t.deepEqual(r.dmar.observed.map((f) => f.address), ['0x40000000', '0x40001000', '0x40002000']);
  // Its verdict's log starts at its marker: the boot is the first scenario's.
  t.notRegex(readFileSync(join(runDir, r.artifacts.dmesg!), 'utf8'), /Linux version \d/);
});

test.serial('faults the earlier scenario pushed over the rate limit do not decide: run again fresh, passed, with a note', (t) => {
  const r = row('f-sees-both-its-faults');
  t.is(r.status, 'passed', JSON.stringify(r.failures));
  t.regex(r.notes?.[0] ?? '', /^run again in a fresh guest, its verdict discarded from the reused one: the kernel's DMAR message rate limit \(10 per 5 s\) was reached from [\d.]+ s, 9 of its calls before this scenario began/);
  t.is(firstPhase(r), 'boot', 'the verdict is the fresh guest\'s');
  t.true('reused-dmesg' in r.artifacts, Object.keys(r.artifacts).join(' '));
  t.deepEqual(r.dmar.observed.map((f) => f.address), ['0x50000000', '0x50001000']);
  t.regex(r.notes?.[1] ?? '', /^in the reused guest it failed where dropped messages can explain it: DMAR faults in this scenario's log: /);
});

test.serial('with pacing, the scenario after a burst waits for room in the window and keeps its reused guest’s verdict', (t) => {
  const r = paced.get('reuse/f-sees-both-its-faults')!;
  t.is(r.status, 'passed', JSON.stringify(r.failures));
  t.is(r.notes, undefined);
  t.not(firstPhase(r), 'boot', 'it ran in the guest e handed on');
  t.deepEqual(r.dmar.observed.map((f) => f.address), ['0x50000000', '0x50001000']);
  // e's first fault must leave the 5.5 s window before f begins: a wait of seconds, in its setup.
  const setup = r.phases?.find((p) => p.phase === 'setup')?.ms ?? 0;
  t.true(setup > 1000, `setup ${setup} ms`);
});

test.serial('a leak found in the reused guest stands when the DMAR verdict is taken fresh', (t) => {
  const r = row('h-bursts-and-leaves-the-device-open');
  t.is(r.status, 'failed', JSON.stringify(r.failures));
  t.is(firstPhase(r), 'boot', 'the DMAR verdict is the fresh guest\'s');
  t.regex(r.failures.join('\n'), /^left for the next user of the guest: \/proc\/\d+ still holds \/dev\/vfio\/devices\/vfio\d+$/m);
  t.regex(r.notes?.[0] ?? '', /^run again in a fresh guest, its verdict discarded from the reused one: /);
});

test.serial('a rate-limited attempt that failed for a reason its log cannot explain is reported, not discarded', (t) => {
  const r = row('j-bursts-and-fails-where-marked');
  t.is(r.status, 'failed', JSON.stringify(r.failures));
  t.regex(r.failures[0]!, /^fails in a reused guest, passes fresh: the guest is clean: expected .*clean.*, got .*marked/);
  t.regex(r.notes?.[0] ?? '', /^its DMAR messages in the reused guest may have been rate-limited \(.+\); its failure there does not depend on them$/);
  t.true(Object.keys(r.artifacts).some((k) => k.startsWith('fresh-')), Object.keys(r.artifacts).join(' '));
});

test.serial('a WARN while the reset rebinds the device fails the scenario that ran; the next is unaffected', (t) => {
  const r = row('k-warns-in-the-reset');
  t.is(r.status, 'failed', JSON.stringify(r.failures));
  t.deepEqual(r.findings.map((f) => f.title), ['WARNING in lkdtm_WARNING']);
  t.false(r.failures.some((f) => /no WARN during the body/.test(f)), r.failures.join('\n'));
  const next = row('l-after-the-warn');
  t.is(next.status, 'passed', JSON.stringify(next.failures));
  t.deepEqual(next.findings, []);
});

test.serial('the scenarios that hand their guests on pass', (t) => {
  for (const id of ['g-marks-the-guest-again', 'i-marks-the-guest-once-more']) t.is(row(id).status, 'passed', `${id}: ${JSON.stringify(row(id).failures)}`);
});

test.serial('every artifact a result names is on disk, a handed-on guest’s command line included', (t) => {
  t.deepEqual(missingArtifacts(runDir, byId.values()), []);
});

test.serial('no QEMU is left', async (t) => {
  t.deepEqual(await liveQemus(), []);
});

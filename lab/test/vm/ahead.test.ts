// Booting ahead: while one machine's scenarios run, the runner boots the guest the next machine
// needs. That guest is fresh: the first scenario in it is judged as in any fresh guest (a failure
// is its own, never re-run as a reused guest's), its artifacts point at that guest's files, and
// the scenario after a failure gets a clean guest. Real guests, one lane.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { ScenarioResult } from '../../src/report/events.ts';
import { liveQemus, missingArtifacts, runFixtures } from './harness.ts';

let byId: Map<string, ScenarioResult>;
let runDir: string;

test.before(async () => {
  ({ runDir, byId } = await runFixtures('scenarios-ahead'));
});

const row = (id: string) => byId.get(`ahead/${id}`)!;

test.serial('the first machine’s scenario boots its own guest and passes', (t) => {
  t.is(row('a-runs-on-default').status, 'passed', JSON.stringify(row('a-runs-on-default').failures));
});

test.serial('the next machine’s first scenario runs in the guest booted ahead, and its failure is its own', (t) => {
  const r = row('b-fails-in-a-guest-booted-ahead');
  t.is(r.status, 'failed');
  t.deepEqual(r.failures, ["the fixture’s own failure: expected 'passing', got 'failing on purpose'"]);
  t.is(r.artifacts['qemu-cmdline'], 'guests/ahead-1/qemu-cmdline.sh');
  t.deepEqual(Object.keys(r.artifacts).filter((k) => /^(fresh|reused)-/.test(k)), []);
  t.deepEqual(r.notes ?? [], []);
  // Its wait for the guest is its boot phase.
  t.deepEqual(r.phases?.map((p) => p.phase), ['boot', 'setup', 'scenario', 'verdict']);
});

test.serial('the scenario after the failure gets a clean guest and passes', (t) => {
  const r = row('c-runs-after-on-pt');
  t.is(r.status, 'passed', JSON.stringify(r.failures));
  t.not(r.artifacts['qemu-cmdline'], row('b-fails-in-a-guest-booted-ahead').artifacts['qemu-cmdline']);
});

test.serial('the first scenario in a guest is judged on its whole kernel log, boot included', (t) => {
  // A boot-time oops or WARN belongs to the first verdict in that guest, handed on or not.
  for (const id of ['a-runs-on-default', 'b-fails-in-a-guest-booted-ahead', 'c-runs-after-on-pt']) {
    const dmesg = readFileSync(join(runDir, row(id).artifacts.dmesg!), 'utf8');
    t.regex(dmesg, /Linux version \d/, id);
  }
});

test.serial('every artifact a result names is on disk', (t) => {
  t.deepEqual(missingArtifacts(runDir, byId.values()), []);
});

test.serial('no QEMU is left', async (t) => {
  t.deepEqual(await liveQemus(), []);
});

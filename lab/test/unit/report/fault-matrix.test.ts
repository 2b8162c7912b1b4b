import test from 'ava';
import { matrixEnd, matrixStart, renderFaultMatrix, withFaultMatrix } from '../../../src/report/fault-matrix.ts';
import { result } from './report-fixture.ts';

const fixture = (name: string, concern: string, extra: Parameters<typeof result>[4]) => {
  const r = result('faults', name, 'failed', 1234, extra);
  return { ...r, scenario: { ...r.scenario, concern: { text: `fault matrix: ${concern}`, ref: 'issue 8' } } };
};

test('one row per fault, in id order, with the words that stay and none of the numbers that change', (t) => {
  const table = renderFaultMatrix([
    fixture('warn', 'WARN with the command alive', {
      failures: ['kernel log: WARNING in lkdtm_WARNING (WARNING: CPU: 0 PID: 71 at drivers/misc/lkdtm/bugs.c:108 lkdtm_WARNING+0x2f/0x40)'],
      findings: [{ kind: 'WARN', title: 'WARNING in lkdtm_WARNING', line: '', excerpt: '' }],
      artifacts: { serial: 's', dmesg: 'd' },
    }),
    { ...fixture('hang', 'a guest | that hangs', { artifacts: {} }), status: 'errored', error: { phase: 'watchdog', message: 'no answer for 13.0 s\nmore' } },
    { ...fixture('marker', 'a marker', { failures: ['last console line: IOMMUFD-LAB-BEGIN faults/x#1796642982992'] }) },
  ]);
  t.is(table.split('\n').length, 5);
  t.is(table.split('\n')[3], '| a marker | `faults/marker` | failed | last console line: IOMMUFD-LAB-BEGIN faults/x#… | no finding — nothing kept |');
  t.is(table.split('\n')[2], '| a guest \\| that hangs | `faults/hang` | errored (watchdog) | no answer for N s | no finding — nothing kept |');
  t.is(table.split('\n')[4], '| WARN with the command alive | `faults/warn` | failed | kernel log: WARNING in lkdtm_WARNING (WARNING: CPU: N PID: N at drivers/misc/lkdtm/bugs.c:108 lkdtm_WARNING) | findings: WARNING in lkdtm_WARNING — kept: dmesg, serial |');
});

test('the README section between the markers is replaced, the rest kept; no markers is an error', (t) => {
  const readme = `# x\n\n${matrixStart}\nold\n${matrixEnd}\n\nafter\n`;
  t.is(withFaultMatrix(readme, 'NEW'), `# x\n\n${matrixStart}\nNEW\n${matrixEnd}\n\nafter\n`);
  t.throws(() => withFaultMatrix('# x\n', 'NEW'), { message: /README\.md has no fault-matrix section/ });
});

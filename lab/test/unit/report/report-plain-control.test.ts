import test from 'ava';
import { PlainReporter } from '../../../src/report/plain.ts';
import { sink } from './report-fixture.ts';

test('text from the guest or a patch cannot drive the terminal through the plain reporter', async (t) => {
  const stream = sink(false);
  const reporter = new PlainReporter({ stream, now: () => new Date('2025-01-01T12:34:56Z') });
  await reporter.onEvent({
    type: 'scenario-end',
    result: {
      scenario: { id: 'cdev/x', name: 'x', file: 'x', area: 'cdev', tags: [], devices: [], machine: 'default', flavour: 'lab', concern: { text: '', ref: '' } },
      status: 'failed',
      ms: 1000,
      steps: [],
      failures: ['guest said \u001b[2J\u001b]0;owned\u0007 hello'],
      observations: [],
      dmar: { expected: [], observed: [], unexpected: [] },
      findings: [],
      artifacts: {},
    },
  });
  const out = stream.text();
  t.regex(out, /guest said +hello/);
  t.false(out.includes('\u001b'), JSON.stringify(out));
  t.false(out.includes('\u0007'));
});

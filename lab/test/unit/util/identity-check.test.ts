import test from 'ava';
import { identityDifferences, recordedIdentity, type RunIdentity } from '../../../src/util/identity-check.ts';

// The shape scenario/session.ts writes, trimmed to what the check reads plus a little noise.
const file = {
  runId: 'r1',
  kernel: { release: '6.12.117-lab', key: 'aaaaaaaaaaaaaaaa1111', base: 'linux-source-6.12.tar.xz sha256:ab12', patches: [] },
  labCommit: '0123456789abcdef0123456789abcdef01234567',
  kernels: [{ flavour: 'lab', key: 'aaaaaaaaaaaaaaaa1111' }, { flavour: 'selftest', key: null }],
  series: [
    { index: 1, subject: 'vfio: park the fd', source: 'a.mbox#1', sha256: '1111111111111111aaaa' },
    { index: 2, subject: 'iommufd: check owner', source: 'a.mbox#2', sha256: '2222222222222222bbbb' },
  ],
  fragments: ['/repo/kernel-patches/config/lab.config'],
  compiler: 'gcc 12',
};

const recorded = recordedIdentity(file) as RunIdentity;
const same = (): RunIdentity => structuredClone(recorded);

test('identity.json is read into the fields that decide a verdict', (t) => {
  t.is(recorded.base, 'linux-source-6.12.tar.xz sha256:ab12');
  t.deepEqual(recorded.kernels, [{ flavour: 'lab', key: 'aaaaaaaaaaaaaaaa1111' }, { flavour: 'selftest', key: null }]);
  t.deepEqual(recorded.series.map((p) => p.sha256s), [['1111111111111111aaaa'], ['2222222222222222bbbb']]);
  // What is wrong is named by the schema session.ts writes with (util/identity.ts), field by field.
  t.is(recordedIdentity({ kernel: null }), 'identity.json: labCommit: Invalid input: expected string, received undefined; kernels: Invalid input: expected array, received undefined; series: Invalid input: expected array, received undefined');
  t.is(recordedIdentity({ ...file, kernel: null }), 'identity.json has no kernel base');
  t.regex(recordedIdentity('x') as string, /^identity\.json: \(top\): Invalid input: expected object, received string$/);
});

test('the same inputs: nothing differs, and a flavour the old run never built is no difference', (t) => {
  const now = same();
  now.kernels = [{ flavour: 'lab', key: 'aaaaaaaaaaaaaaaa1111' }, { flavour: 'selftest', key: 'cccccccccccccccc' }];
  t.deepEqual(identityDifferences(recorded, now), []);
});

test('a patch hashed another way (bytes or text) still matches when one of its hashes does', (t) => {
  const now = same();
  now.series[1]!.sha256s = ['ffffffffffffffff0000', '2222222222222222bbbb'];
  t.deepEqual(identityDifferences(recorded, now), []);
});

test('each difference is named: lab commit, base, patch content, patch count, fragments, kernel key', (t) => {
  const now = same();
  now.labCommit = 'fedcba9876543210fedcba9876543210fedcba98 (with local changes)';
  now.base = 'linux-6.13.tar.xz sha256:cd34';
  now.series[1]!.sha256s = ['3333333333333333cccc'];
  now.series.push({ index: 3, subject: 'more', sha256s: ['4444'] });
  now.fragments = ['/repo/kernel-patches/config/lab.config', '/tmp/extra.config'];
  now.kernels = [{ flavour: 'lab', key: 'bbbbbbbbbbbbbbbb2222' }];
  t.deepEqual(identityDifferences(recorded, now), [
    'lab commit: 0123456789ab then, fedcba987654 now',
    'base: linux-source-6.12.tar.xz sha256:ab12 then, linux-6.13.tar.xz sha256:cd34 now',
    'series: 2 patch(es) then, 3 now',
    'patch 2 ("iommufd: check owner"): its content changed (sha256 222222222222 then, 333333333333 now)',
    'config fragments: +/tmp/extra.config',
    'kernel key (lab): aaaaaaaaaaaa then, bbbbbbbbbbbb now',
  ]);
});

test('fragments in another order are a difference too (the later one wins in kconfig)', (t) => {
  const a = { ...same(), fragments: ['/a', '/b'] };
  const b = { ...same(), fragments: ['/b', '/a'] };
  t.deepEqual(identityDifferences(a, b), ['config fragments: same files, another order']);
});

import test from 'ava';
import { toYaml } from '../../../src/report/yaml.ts';

test('plain scalars stay plain; anything YAML could misread is quoted', (t) => {
  t.deepEqual(toYaml({ a: 'EINVAL', b: 'ok (ret 0)', c: 'yes', d: '42', e: 'a: b', f: '#x', g: ' lead', h: 'tab\tin', i: 1500, j: true, k: null }), [
    'a: EINVAL',
    'b: ok (ret 0)',
    'c: "yes"',
    'd: "42"',
    'e: "a: b"',
    'f: "#x"',
    'g: " lead"',
    'h: "tab\\tin"',
    'i: 1500',
    'j: true',
    'k: null',
  ]);
});

test('nested sequences and mappings, empty ones inline, multi-line text as a literal block', (t) => {
  t.deepEqual(toYaml({ list: ['x', { op: 'open', count: 1 }, []], none: [], text: 'line 1\n  line 2' }, 2), [
    '  list:',
    '    - x',
    '    - op: open',
    '      count: 1',
    '    - []',
    '  none: []',
    '  text: |-',
    '    line 1',
    '      line 2',
  ]);
});

test('text a literal block cannot carry is quoted with escapes', (t) => {
  t.deepEqual(toYaml({ a: ' starts with space\nx', b: 'bell\x07\nx', c: 'del\x7f', d: 'ends\n' }), [
    'a: " starts with space\\nx"',
    'b: "bell\\u0007\\nx"',
    'c: "del\\u007f"',
    'd: "ends\\n"',
  ]);
});

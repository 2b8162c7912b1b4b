import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JunitReporter } from '../../../src/report/junit.ts';
import { xmlAttr, xmlText } from '../../../src/report/xml.ts';
import { feed, interruptedEvents, outsideEvents } from './report-fixture.ts';

interface Element {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: Element[];
}

const ENTITY = /&(?!(?:lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function decode(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (e in named) return named[e]!;
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

// A deliberately small but strict XML reader for what the JUnit reporter emits: elements,
// attributes and text only. It rejects raw '<' or '&' in data, unknown entities, "]]>",
// characters XML cannot carry, duplicate attributes and unbalanced tags.
function parseXml(xml: string): Element {
  const decl = '<?xml version="1.0" encoding="UTF-8"?>\n';
  if (!xml.startsWith(decl)) throw new Error('missing XML declaration');
  const body = xml.slice(decl.length);
  if (NOT_XML_CHAR.test(body)) throw new Error('character not allowed in XML');
  if (body.includes(']]>')) throw new Error('"]]>" in character data');
  const root: Element = { name: '#document', attrs: {}, text: '', children: [] };
  const stack = [root];
  for (const [token] of body.matchAll(/<[^>]*>|[^<]+/g)) {
    const top = stack.at(-1)!;
    if (!token.startsWith('<')) {
      if (ENTITY.test(token)) throw new Error(`bare '&' in text: ${token}`);
      if (top === root && token.trim()) throw new Error('text outside the root element');
      top.text += decode(token);
      continue;
    }
    const close = /^<\/([A-Za-z][\w.-]*)>$/.exec(token);
    if (close) {
      if (stack.length < 2 || top.name !== close[1]) throw new Error(`unbalanced </${close[1]}>`);
      stack.pop();
      continue;
    }
    const open = /^<([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w.:-]*="[^"<]*")*)\s*(\/?)>$/.exec(token);
    if (!open) throw new Error(`malformed tag: ${token}`);
    const attrs: Record<string, string> = {};
    for (const [, k, v] of open[2]!.matchAll(/([A-Za-z][\w.:-]*)="([^"]*)"/g)) {
      if (k! in attrs) throw new Error(`duplicate attribute ${k}`);
      if (ENTITY.test(v!)) throw new Error(`bare '&' in attribute ${k}`);
      attrs[k!] = decode(v!);
    }
    const el: Element = { name: open[1]!, attrs, text: '', children: [] };
    if (top === root && root.children.length) throw new Error('more than one root element');
    top.children.push(el);
    if (!open[3]) stack.push(el);
  }
  if (stack.length !== 1 || root.children.length !== 1) throw new Error('unclosed elements');
  return root.children[0]!;
}

const find = (el: Element, name: string): Element[] => [
  ...el.children.filter((c) => c.name === name),
  ...el.children.flatMap((c) => find(c, name)),
];

async function junit(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-report-junit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'nested', 'report.xml');
  await feed(new JunitReporter(path));
  return readFile(path, 'utf8');
}

test('well-formed XML with totals on testsuites and on each area suite', async (t) => {
  const xml = await junit(t);
  const root = parseXml(xml);
  t.is(root.name, 'testsuites');
  t.like(root.attrs, { tests: '5', failures: '1', errors: '2', skipped: '1', time: '95.250' });
  const suites = find(root, 'testsuite');
  t.deepEqual(suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.failures, s.attrs.errors, s.attrs.skipped, s.attrs.time]), [
    ['cdev', '2', '1', '0', '0', '4.700'],
    ['iommufd', '2', '0', '1', '1', '90.500'],
    // The lone skip: its contract was checked on no machine.
    ['not-judged', '1', '0', '1', '0', '0.000'],
  ]);
  // The same totals, read as the raw attributes a CI system greps for.
  t.regex(xml, /<testsuites [^>]*tests="5" failures="1" errors="2" skipped="1"/);
  const cases = find(root, 'testcase');
  t.deepEqual(cases.map((c) => [c.attrs.classname, c.attrs.name, c.attrs.time]), [
    ['cdev', 'cdev/parked-fd', '3.200'],
    ['cdev', 'cdev/double-bind', '1.500'],
    ['iommufd', 'iommufd/ioas-map', '90.500'],
    ['iommufd', 'iommufd/nested-s2', '0.000'],
    ['not-judged', 'not judged: iommufd/nested-s2', '0.000'],
  ]);
});

test('failure, error and skip carry their data, escaped, with no raw markup from the data', async (t) => {
  const xml = await junit(t);
  t.false(xml.includes('<&>'));
  t.false(xml.includes('<EBUSY>'));
  t.false(xml.includes('\x07'));
  t.false(xml.includes('\x1b'));
  const cases = find(parseXml(xml), 'testcase');
  const [passed, failed, errored, skipped] = cases;

  t.deepEqual(passed!.children.map((c) => c.name), ['system-out']);

  const failure = find(failed!, 'failure')[0]!;
  t.is(failure.attrs.message, 'second BIND returned 0, expected <EBUSY> & nothing else (+1 more)');
  t.true(failure.text.includes('VFIO_DEVICE_BIND_IOMMUFD#2: expected EBUSY, observed ok (ret 0)'));
  t.false(failure.text.includes('VFIO_DEVICE_BIND_IOMMUFD: expected ok'));
  t.true(failure.text.includes('00:03.0 write 0x20000000'));

  const error = find(errored!, 'error')[0]!;
  t.is(error.attrs.type, 'boot');
  t.is(error.attrs.message, 'guest did not reach sshd within 90.0 s');
  t.true(error.text.includes('pci 0000:00:03.0: <&> "quoted" bell'));
  t.true(error.text.includes('Kernel panic - not syncing ]]>'));

  const skip = find(skipped!, 'skipped')[0]!;
  t.is(skip.attrs.message, 'needs "nested" #VT-d & KVM');

  const out = find(failed!, 'system-out')[0]!;
  t.regex(out.text, /^ {2}dmesg: \/var\/lab\/runs\/20250101-120000-abcd\/cdev\/double-bind\/dmesg\.txt$/m);
});

test('escaping drops what XML cannot carry and keeps attribute newlines', (t) => {
  t.is(xmlText('a\x00b\x1b[1mc\x1b[0m]]>\uFFFE\uD800d'), 'abc]]&gt;d');
  t.is(xmlAttr('"x"\n\ty'), '&quot;x&quot;&#10;&#9;y');
  t.is(xmlText('😀 & <'), '😀 &amp; &lt;');
});

test('an interrupted run counts the interrupted scenario and every one never started as errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-report-junit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'report.xml');
  await feed(new JunitReporter(path), interruptedEvents());
  const root = parseXml(await readFile(path, 'utf8'));
  t.like(root.attrs, { tests: '6', failures: '1', errors: '4', skipped: '0' });
  const suites = find(root, 'testsuite');
  t.deepEqual(suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.errors]), [['cdev', '3', '1'], ['not-run', '3', '3']]);
  const errors = find(root, 'error');
  t.deepEqual(errors.map((e) => e.attrs.type), ['interrupted', 'not-run', 'not-run', 'not-run']);
  t.deepEqual(find(root, 'testcase').slice(3).map((c) => c.attrs.name), ['not run 4 of 6', 'not run 5 of 6', 'not run 6 of 6']);
});

test('a finding outside every scenario is a failed case in a kernel-log suite, counted in the totals', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-report-junit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'report.xml');
  await feed(new JunitReporter(path), outsideEvents());
  const root = parseXml(await readFile(path, 'utf8'));
  t.like(root.attrs, { tests: '6', failures: '2', errors: '2', skipped: '1' });
  const suite = find(root, 'testsuite').find((s) => s.attrs.name === 'kernel-log');
  t.like(suite?.attrs, { tests: '1', failures: '1' });
  const failure = find(suite!, 'failure')[0]!;
  t.is(failure.attrs.message, 'WARNING in iommufd_fops_release');
  t.regex(failure.text, /log: \/var\/lab\/runs\/20250101-120000-abcd\/guests\/worker-1-guest-1\/outside-1\.log/);
  t.is(find(suite!, 'testcase')[0]!.attrs.name, 'kernel log between cdev/parked-fd and cdev/double-bind');
});

// Just enough YAML for TAP diagnostics blocks: mappings, sequences and scalars from our own
// data. Strings that could be misread (numbers, booleans, ": ", "#", leading punctuation)
// are double-quoted; multi-line text such as a serial tail becomes a literal block.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

const PLAIN = /^[A-Za-z_/][\w ./()+,=@-]*$/;
const RESERVED = /^(?:true|false|yes|no|on|off|y|n|null|~)$/i;
// YAML's printable set excludes DEL and the C1 range; JSON.stringify already escapes C0
// controls and lone surrogates, and U+2028/2029 are line breaks to some YAML 1.1 parsers.
const NON_PRINTABLE = /[\x7f-\x9f\u2028\u2029\ufffe\uffff]/g;
const BLOCK_UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]/;

function quote(s: string): string {
  // A JSON string is a valid YAML double-quoted scalar once the non-printables are escaped.
  return JSON.stringify(s).replace(NON_PRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v !== 'string') return Number.isFinite(v) || typeof v === 'boolean' ? String(v) : quote(String(v));
  return PLAIN.test(v) && !RESERVED.test(v) && !v.endsWith(' ') ? v : quote(v);
}

// A literal block keeps a serial tail readable. It cannot carry control characters, a first
// line starting with a space (the indentation would be misdetected) or trailing newlines.
function blockSafe(s: string): boolean {
  if (!s.includes('\n') || BLOCK_UNSAFE.test(s) || /\n$/.test(s)) return false;
  const first = s.split('\n').find((l) => l !== '');
  return first !== undefined && !/^[ \t]/.test(first);
}

/** Lines for `key: value` at the given indentation. */
function entry(key: string, v: YamlValue, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const k = scalar(key);
  if (typeof v === 'string' && blockSafe(v)) return [`${pad}${k}: |-`, ...v.split('\n').map((l) => (l ? `${pad}  ${l}` : ''))];
  if (Array.isArray(v)) return v.length ? [`${pad}${k}:`, ...toYaml(v, indent + 2)] : [`${pad}${k}: []`];
  if (v !== null && typeof v === 'object') return Object.keys(v).length ? [`${pad}${k}:`, ...toYaml(v, indent + 2)] : [`${pad}${k}: {}`];
  return [`${pad}${k}: ${scalar(v)}`];
}

/** Renders a mapping or sequence as block YAML lines, each prefixed with `indent` spaces. */
export function toYaml(value: YamlValue, indent = 0): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (Array.isArray(item) && item.length === 0) return [`${pad}- []`];
      if (item !== null && typeof item === 'object' && Object.keys(item).length === 0) return [`${pad}- {}`];
      // Render the item one level deeper, then put the dash in place of its first indent.
      const lines = item !== null && typeof item === 'object' ? toYaml(item, indent + 2) : entryless(item, indent + 2);
      const [first = '', ...rest] = lines;
      return [`${pad}- ${first.slice(indent + 2)}`, ...rest];
    });
  }
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => entry(k, v, indent));
  return entryless(value, indent);
}

function entryless(v: string | number | boolean | null, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (typeof v === 'string' && blockSafe(v)) return [`${pad}|-`, ...v.split('\n').map((l) => (l ? `${pad}  ${l}` : ''))];
  return [`${pad}${scalar(v)}`];
}

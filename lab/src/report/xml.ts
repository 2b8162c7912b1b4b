// XML escaping for the JUnit report. XML 1.0 cannot carry most control characters even as
// character references, and serial logs are full of them (NUL, BEL, escape sequences), so
// they are removed rather than escaped; a parser would otherwise reject the whole report.
import { stripAnsi } from './text.ts';

// Everything outside XML 1.0's Char production: C0 controls except tab/LF/CR, lone
// surrogates, U+FFFE and U+FFFF.
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function xmlClean(text: string): string {
  return stripAnsi(text).replace(NOT_XML_CHAR, '');
}

/** Character data. Escaping '>' too means "]]>" can never appear. */
export function xmlText(text: string): string {
  return xmlClean(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A double-quoted attribute value; newlines and tabs survive attribute-value normalisation. */
export function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

/** ` a="1" b="x"` for the defined entries, in order. */
export function xmlAttrs(attrs: Record<string, string | number | undefined>): string {
  return Object.entries(attrs)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
}

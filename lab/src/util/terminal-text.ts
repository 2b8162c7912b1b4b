// Text from the guest (serial console, dmesg, probe output) and from patches (subjects, author
// names) is untrusted: written raw to a terminal, an escape sequence can retitle the window,
// rewrite what was printed before (CR, cursor moves, screen clears), plant a hyperlink (OSC 8)
// or query the terminal. It is reduced to printable text, newlines and tabs first.

// ESC-introduced sequences: CSI (ESC [ … final byte); OSC/DCS/SOS/PM/APC strings up to BEL, ST
// or the end of the line (one stray ESC ] must not swallow the rest of a log); and two-byte
// escapes (ESC plus one character). The 8-bit C1 forms (U+009B CSI, U+009D OSC…) are matched
// too: some terminals still honour them.
const escapeSequence = new RegExp(
  [
    '(?:\\x1b\\[|\\x9b)[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]?',
    '(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d\\x9e\\x9f])[^\\x07\\x1b\\x9c\\n]*(?:\\x07|\\x1b\\\\|\\x9c)?',
    '\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]?',
  ].join('|'),
  'g',
);
// Every other C0/C1 control except tab and newline; DEL; and the Unicode bidi controls that
// make a line display in an order other than its bytes' ("Trojan Source", CVE-2021-42574).
const loneControl = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Untrusted text made safe for a terminal: escape sequences and control characters removed. */
export function stripControl(text: string): string {
  // A serial console ends its lines in CRLF: keep the line break, drop only the CR.
  return text.replace(/\r\n/g, '\n').replace(escapeSequence, '').replace(loneControl, '');
}

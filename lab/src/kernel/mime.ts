// The little of MIME a patch mail needs: RFC 2047 encoded words in headers (for display) and
// quoted-printable or base64 bodies (decoded before applying). Pure. Messages are handled as
// "binary strings" (one char per byte, Buffer's 'latin1'), so no byte is ever re-encoded.

/** Bytes → binary string, and back: exact for every byte. */
export const binary = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
export const bytesOf = (bin: string): Buffer => Buffer.from(bin, 'latin1');

function decodeCharset(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset.toLowerCase(), { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

/** A raw header value (binary string) for display: 8-bit bytes read as UTF-8, then encoded words. */
export function decodeHeader(bin: string): string {
  const text = decodeCharset(bytesOf(bin), 'utf-8');
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 §6.2).
  return text.replace(/(=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[QqBb]\?[^?\s]*\?=)/g, '$1').replace(
    /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=/g,
    (word, charset: string, encoding: string, data: string) => {
      const bytes = encoding.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : bytesOf(unQ(data.replace(/_/g, ' ')));
      try {
        return new TextDecoder(charset.toLowerCase(), { fatal: true }).decode(bytes);
      } catch {
        return word; // an unknown charset or bad bytes: show the word as sent
      }
    },
  );
}

/** "=XX" escapes to bytes (binary string in, binary string out). */
function unQ(bin: string): string {
  return bin.replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A quoted-printable body (RFC 2045 §6.7): soft line breaks joined, escapes decoded. */
export function decodeQuotedPrintable(bin: string): string {
  return unQ(bin.replace(/=\r?\n/g, ''));
}

/** A body in its transfer encoding → the bytes it stands for (binary strings). */
export function decodeTransfer(bin: string, encoding: string | undefined): string {
  switch (encoding?.trim().toLowerCase()) {
    case 'quoted-printable':
      return decodeQuotedPrintable(bin);
    case 'base64':
      return binary(Buffer.from(bin.replace(/\s+/g, ''), 'base64'));
    default:
      return bin;
  }
}

// The end of a serial log, for the HTML report of a failed scenario: the events carry the
// console only when the lab errored, yet a failed expectation is often explained by the last
// kernel messages. Reads only the file's last bytes; a missing file is no excerpt, not an error.
import { open } from 'node:fs/promises';

export async function readTail(path: string, lines: number, maxBytes = 64 * 1024): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - maxBytes);
      const buffer = Buffer.alloc(size - start);
      await fh.read(buffer, 0, buffer.length, start);
      let text = buffer.toString('utf8');
      // Reading from the middle of the file cuts its first line (and maybe a UTF-8 sequence).
      if (start > 0) text = text.slice(text.indexOf('\n') + 1);
      const all = text.trimEnd().split(/\r\n|\r|\n/);
      return all.slice(-lines).join('\n');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

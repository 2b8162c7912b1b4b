// The lab's own NDJSON log (pino) for post-mortems; users read the progress lines instead.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';

let current: Logger = pino({ level: 'silent' });

export function openLog(path: string): Logger {
  mkdirSync(dirname(path), { recursive: true });
  current = pino({ level: 'debug', base: undefined }, pino.destination({ dest: path, sync: true }));
  return current;
}

export function log(): Logger {
  return current;
}

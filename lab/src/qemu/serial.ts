// Reading the guest's serial log: the ready marker, panics, and a tail for error messages.
import { readFile } from 'node:fs/promises';

export const readyMarker = 'IOMMUFD-LAB-READY';

export async function readSerial(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

export function tail(text: string, lines = 25): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Why a guest stopped, in words, from its console output. */
export function diagnoseExit(serial: string): string {
  const panic = /Kernel panic - not syncing:[^\n]*/.exec(serial);
  if (panic) return `the guest kernel panicked (${panic[0].trim()})`;
  if (/reboot: Power down|System halted/.test(serial)) return 'the guest powered off';
  if (serial.trim() === '') return 'QEMU exited before the guest printed anything';
  return 'QEMU exited unexpectedly';
}

// SSH host key fingerprints, shared by the image build (which records the guest's key) and the
// SSH client (which refuses any other).
import { createHash } from 'node:crypto';
import { LabError } from './errors.ts';

/** OpenSSH's fingerprint format: SHA256 over the key blob, unpadded base64. */
export function fingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The public key line ("ssh-ed25519 AAAA… comment") that `dropbearkey -y` prints. */
export function publicKeyLine(dropbearkeyOutput: string): string {
  const line = dropbearkeyOutput.split('\n').find((l) => /^ssh-[\w-]+ [A-Za-z0-9+/]+=* ?/.test(l));
  if (!line) throw new LabError(`dropbearkey -y printed no public key line:\n${dropbearkeyOutput.slice(0, 400)}`);
  const [type, blob] = line.trim().split(/\s+/);
  return `${type} ${blob}`;
}

export function fingerprintOfLine(line: string): string {
  const blob = line.trim().split(/\s+/)[1];
  if (!blob) throw new LabError(`not an SSH public key line: ${line.slice(0, 80)}`);
  return fingerprintOfBlob(Buffer.from(blob, 'base64'));
}

// Small string helpers shared by the reporters. Serial consoles and kernel messages bring
// escape sequences and stray control bytes; every output format has to neutralise them.

// CSI sequences (colours, cursor moves) as a guest console emits them.
const ANSI_CSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_CSI, '');
}

/** Collapses a possibly multi-line message to one line (for attributes and one-line slots). */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}


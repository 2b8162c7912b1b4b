// POSIX single-quote quoting: safe for busybox sh in the guest and for a user's shell.
// (zx's quote() emits bash-only $'…', which busybox sh rejects.)

export function quote(arg: string): string {
  if (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function quoteArgv(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

/** A tagged template: interpolated values are quoted, arrays become several words. */
export function sh(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((out, s, i) => {
    if (i === 0) return s;
    const v = values[i - 1];
    const words = Array.isArray(v) ? v.map((x) => quote(String(x))).join(' ') : quote(String(v));
    return `${out}${words}${s}`;
  }, '');
}

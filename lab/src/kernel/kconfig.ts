// Kernel config fragments: parsing, checking the merged .config against what the fragments
// asked for, and explaining why Kconfig dropped an option. Pure except `explainDrops`.
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

export type ConfigValue = string; // 'y' | 'm' | 'n' | a number or a quoted string

export interface Request {
  name: string; // CONFIG_FOO
  value: ConfigValue;
  fragment: string;
  line: number;
}

export function parseConfig(text: string, fragment = '<config>'): Request[] {
  const out: Request[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (unset) out.push({ name: unset[1]!, value: 'n', fragment, line: i + 1 });
    else if (set) out.push({ name: set[1]!, value: set[2]!, fragment, line: i + 1 });
  });
  return out;
}

export function configMap(text: string): Map<string, ConfigValue> {
  return new Map(parseConfig(text).map((r) => [r.name, r.value]));
}

/** Later fragments win, as with merge_config.sh. */
export function mergeRequests(fragments: Request[][]): Request[] {
  const byName = new Map<string, Request>();
  for (const f of fragments) for (const r of f) byName.set(r.name, r);
  return [...byName.values()];
}

export interface Mismatch {
  request: Request;
  got: ConfigValue; // 'n' when absent
}

/** Every request whose value did not survive olddefconfig. */
export function checkConfig(requests: Request[], final: Map<string, ConfigValue>): Mismatch[] {
  return requests
    .map((request) => ({ request, got: final.get(request.name) ?? 'n' }))
    .filter(({ request, got }) => got !== request.value);
}

export interface KconfigSymbol {
  name: string; // without CONFIG_
  file: string;
  dependsOn: string[];
  /** Conditions of enclosing `if` blocks in the same file. */
  inside: string[];
}

/** Symbols defined in one Kconfig file, with their direct dependencies. */
export function parseKconfig(text: string, file: string): KconfigSymbol[] {
  const symbols: KconfigSymbol[] = [];
  const ifStack: string[] = [];
  let current: KconfigSymbol | undefined;
  // Help text is prose ("if the system crashes…"): it runs from a `help` line to the first line
  // indented no deeper than that line, and none of it is syntax.
  let helpIndent: number | undefined;
  const indentOf = (raw: string) => (/^[\t ]*/.exec(raw)?.[0] ?? '').replace(/\t/g, '        ').length;
  for (const raw of text.split('\n')) {
    if (helpIndent !== undefined) {
      if (raw.trim() === '' || indentOf(raw) > helpIndent) continue;
      helpIndent = undefined;
    }
    const line = raw.replace(/#.*$/, '').trim();
    if (/^(?:---)?help(?:---)?$/.test(line)) {
      helpIndent = indentOf(raw);
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^(?:menu)?config\s+(\w+)$/.exec(line))) {
      current = { name: m[1]!, file, dependsOn: [], inside: [...ifStack] };
      symbols.push(current);
    } else if ((m = /^if\s+(.+)$/.exec(line))) {
      ifStack.push(m[1]!);
      current = undefined;
    } else if (line === 'endif') {
      ifStack.pop();
      current = undefined;
    } else if (/^(choice|endchoice|menu\b|endmenu|source\b|comment\b)/.test(line)) {
      current = undefined;
    } else if (current && (m = /^depends\s+on\s+(.+)$/.exec(line))) {
      current.dependsOn.push(m[1]!);
    }
  }
  return symbols;
}

/** One sentence per mismatch: what was asked, what came out, and why if Kconfig says. */
export function describeMismatch(m: Mismatch, symbols: KconfigSymbol[] | undefined): string {
  const { request, got } = m;
  const where = `${request.fragment}:${request.line}`;
  const asked = request.value === 'n' ? 'not set' : `=${request.value}`;
  const short = request.name.replace(/^CONFIG_/, '');
  if (symbols && symbols.length === 0) {
    return `${request.name} (${where}) does not exist in this kernel — misspelt, or removed from its Kconfig`;
  }
  const deps = (symbols ?? []).flatMap((s) => [...s.inside.map((c) => `if ${c}`), ...s.dependsOn.map((d) => `depends on ${d}`)]);
  const why = deps.length > 0 ? `; Kconfig for ${short}: ${[...new Set(deps)].join(', ')}` : '';
  return `${request.name} asked ${asked} (${where}) but is ${got === 'n' ? 'not set' : `=${got}`} in the final .config${why}`;
}

/** Reads every Kconfig file of a tree and explains each mismatch. */
export async function explainDrops(srcDir: string, mismatches: Mismatch[]): Promise<string[]> {
  const wanted = new Set(mismatches.map((m) => m.request.name.replace(/^CONFIG_/, '')));
  const found = new Map<string, KconfigSymbol[]>();
  for (const entry of await readdir(srcDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.startsWith('Kconfig')) continue;
    const path = join(entry.parentPath, entry.name);
    // The lab builds x86 kernels: other architectures' definitions of a symbol do not apply.
    if (/^arch\/(?!x86\/)/.test(relative(srcDir, path))) continue;
    const text = await readFile(path, 'utf8');
    for (const sym of parseKconfig(text, relative(srcDir, path))) {
      if (wanted.has(sym.name)) found.set(sym.name, [...(found.get(sym.name) ?? []), sym]);
    }
  }
  return mismatches.map((m) => describeMismatch(m, found.get(m.request.name.replace(/^CONFIG_/, '')) ?? []));
}

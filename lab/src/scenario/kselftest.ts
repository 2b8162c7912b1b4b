// Reading kselftest TAP output (tools/testing/selftests/kselftest_harness.h): one result per
// test instance. Pure.

export interface KselftestResult {
  number: number;
  name: string;
  status: 'pass' | 'fail' | 'skip' | 'xfail';
  reason?: string;
}

export function parseKselftestTap(output: string): { plan: number | null; results: KselftestResult[] } {
  const plan = /^1\.\.(\d+)$/m.exec(output);
  const results: KselftestResult[] = [];
  for (const line of output.split('\n')) {
    const m = /^(not )?ok (\d+) (.+?)(?:\s+#\s*(SKIP|XFAIL|TODO)\b\s*(.*))?$/.exec(line.trimEnd());
    if (!m) continue;
    const directive = m[4];
    const status = directive === 'SKIP' ? 'skip' : directive === 'XFAIL' ? 'xfail' : m[1] ? 'fail' : 'pass';
    results.push({ number: Number(m[2]), name: m[3]!.trim(), status, ...(m[5] ? { reason: m[5].trim() } : {}) });
  }
  return { plan: plan ? Number(plan[1]) : null, results };
}

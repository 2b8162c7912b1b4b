// The run's identity record (identity.json): what decides a verdict that report.json does not
// carry — the lab's commit, the kernel keys, the patches' contents, the config, the QEMU. One
// schema, written by scenario/session.ts and read by --resume (util/identity-check.ts) and
// `report merge` (report/merge.ts), as the probe's steps are (scenario/probe-schema.ts).
import { z } from 'zod';

export const identitySchema = z.looseObject({
  runId: z.string(),
  runDir: z.string(),
  startedAt: z.string(),
  labVersion: z.string(),
  kernel: z.looseObject({ release: z.string(), key: z.string(), base: z.string(), patches: z.array(z.looseObject({ index: z.number(), subject: z.string() })) }).nullable(),
  accel: z.string(),
  total: z.number(),
  shard: z.object({ index: z.number(), count: z.number(), planned: z.number() }).optional(),
  labCommit: z.string(),
  /** QEMU's first --version line ('unknown' where it could not be told). */
  qemu: z.string(),
  /** What --qemu named (7.2, 10); runs from before --qemu have none (they ran 7.2). */
  qemuTarget: z.string().optional(),
  accelReason: z.string(),
  /** Kernel build key per flavour; null for a flavour the run had not built (yet). */
  kernels: z.array(z.object({ flavour: z.string(), key: z.string().nullable() })),
  series: z.array(z.looseObject({ index: z.number(), subject: z.string(), sha256: z.string() })),
  fragments: z.array(z.string()),
  /** sha256 of the kernel's final .config (absent in older records). */
  configSha256: z.string().optional(),
  compiler: z.string().optional(),
  kernelBuildLog: z.string().optional(),
  scenarios: z.array(z.object({ id: z.string(), machine: z.string(), flavour: z.string(), file: z.string() })).optional(),
});

export type IdentityRecord = z.infer<typeof identitySchema>;

/** The record as session.ts writes it: checked against the schema first, so what is written is what readers accept. */
export function identityJson(record: IdentityRecord): string {
  return JSON.stringify(identitySchema.parse(record), null, 2);
}

const issues = (e: z.ZodError) => `identity.json: ${e.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`;

/**
 * What --resume compares, from the same schema: the fields that decide a verdict, required (of
 * the kernel only its base); the QEMU's version line optional (older records have none).
 */
const resumeSchema = identitySchema.pick({ labCommit: true, kernels: true, series: true, fragments: true, qemuTarget: true }).extend({ kernel: z.looseObject({ base: z.string() }).nullable(), qemu: z.string().optional() });

export function parseResumeIdentity(json: unknown): z.infer<typeof resumeSchema> | string {
  const r = resumeSchema.safeParse(json);
  return r.success ? r.data : issues(r.error);
}

/** What a merge compares, from a record that may lack any of it (it is then compared on report.json only). */
const factsSchema = identitySchema.pick({ labCommit: true, configSha256: true, series: true }).partial();

export function parseIdentityFacts(json: unknown): z.infer<typeof factsSchema> | string {
  const r = factsSchema.safeParse(json);
  return r.success ? r.data : issues(r.error);
}

/** Shapes shared by bench/run.ts and the bench/*.bench.ts modules. */

export interface Metric {
  id: string;
  value: number | null;
  unit: string;
  baseline: number | null;
  /** value / baseline */
  ratio: number | null;
  target: number;
  /** Whether the ratio should be at least ("higher", the default) or at most ("lower") the target. */
  better?: "higher" | "lower";
  note?: string;
}

export interface BenchContext {
  /** PostgreSQL for benchmarks that need one; each must use its own schema and drop it. */
  postgresUrl: string;
  /** Versions worth recording next to the figures (modules may add their own). */
  versions: Record<string, string | null>;
  log(message: string): void;
}

export interface BenchModule {
  run(ctx: BenchContext): Promise<Metric[]>;
}

/** Builds a metric with its ratio; null when the value or baseline could not be measured. */
export function metric(fields: Omit<Metric, "ratio">): Metric {
  const ratio = fields.value !== null && fields.baseline ? round(fields.value / fields.baseline, 3) : null;
  return { ...fields, value: fields.value === null ? null : round(fields.value, 3), baseline: fields.baseline === null ? null : round(fields.baseline, 3), ratio };
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function metTarget(m: Metric): boolean | null {
  if (m.ratio === null) return null;
  return m.better === "lower" ? m.ratio <= m.target : m.ratio >= m.target;
}


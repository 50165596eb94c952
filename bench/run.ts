/**
 * Runs the benchmark modules bench/*.bench.ts and records their metrics in bench/results.
 *
 *   npm run bench                  every module
 *   npm run bench -- eventstore    only modules whose file name contains "eventstore"
 *
 * Each module exports `run(ctx): Promise<Metric[]>` (types in bench/metrics.ts). Baselines are measured in the same run as
 * the values they are compared with. latest.json keeps the newest value of every metric id, so a
 * partial run leaves the other modules' metrics in place; each run also leaves a timestamped copy.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createPool } from "../server/db/postgres.ts";
import { metTarget, type BenchContext, type BenchModule, type Metric } from "./metrics.ts";

interface Results {
  machine: { cpus: number; cpuModel: string; memory: number; node: string; platform: string };
  versions: Record<string, string | null>;
  ranAt: string;
  metrics: Metric[];
}

const ROOT = path.resolve(import.meta.dirname, "..");
const RESULTS_DIR = path.join(ROOT, "bench", "results");

function packageVersion(name: string): string | null {
  try {
    const file = path.join(ROOT, "node_modules", name, "package.json");
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return null;
  }
}

async function postgresVersion(url: string): Promise<string | null> {
  // The same connection defaults as the app (a URL without a user name means the OS user).
  const pool = createPool(url, 1);
  try {
    const { rows } = await pool.query<{ server_version: string }>("SHOW server_version");
    return rows[0]?.server_version ?? null;
  } catch {
    return null;
  } finally {
    await pool.end().catch(() => {});
  }
}

/** Versions of this run over the previous ones; a version this run could not read keeps the known one. */
function mergeVersions(previous: Record<string, string | null> | undefined, current: Record<string, string | null>): Record<string, string | null> {
  const merged = { ...previous };
  for (const [name, version] of Object.entries(current)) if (version !== null || !(name in merged)) merged[name] = version;
  return merged;
}

function readResults(file: string): Results | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Results;
  } catch {
    return undefined;
  }
}

function writeJson(file: string, value: unknown): void {
  const partial = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(partial, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(partial, file);
}

function formatRow(m: Metric): string {
  const met = metTarget(m);
  const verdict = met === null ? "n/a " : met ? "MET " : "MISS";
  const comparison = m.better === "lower" ? "<=" : ">=";
  return `${verdict} ${m.id.padEnd(40)} ${String(m.value).padStart(10)} ${m.unit.padEnd(10)} baseline ${String(m.baseline).padStart(10)}  ratio ${String(m.ratio).padStart(7)} (target ${comparison} ${m.target})${m.note ? `\n     ${m.note}` : ""}`;
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2).filter((arg) => arg !== "--");
  const files = fs
    .readdirSync(path.join(ROOT, "bench"))
    .filter((file) => file.endsWith(".bench.ts"))
    .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
    .sort();
  if (files.length === 0) {
    console.error(`No benchmark matches ${filters.join(", ")}`);
    process.exitCode = 1;
    return;
  }
  const postgresUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://127.0.0.1:5432/test";
  const ctx: BenchContext = {
    postgresUrl,
    versions: {
      node: process.version,
      "@electric-sql/pglite": packageVersion("@electric-sql/pglite"),
      pg: packageVersion("pg"),
      postgresql: await postgresVersion(postgresUrl),
    },
    log: (message) => console.log(`  ${message}`),
  };

  const metrics: Metric[] = [];
  for (const file of files) {
    console.log(`# ${file}`);
    const started = Date.now();
    const module = (await import(pathToFileURL(path.join(ROOT, "bench", file)).href)) as BenchModule;
    const produced = await module.run(ctx);
    for (const m of produced) console.log(formatRow(m));
    console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    metrics.push(...produced);
  }

  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const latestFile = path.join(RESULTS_DIR, "latest.json");
  const previous = readResults(latestFile);
  const byId = new Map((previous?.metrics ?? []).map((m) => [m.id, m]));
  for (const m of metrics) byId.set(m.id, m);
  const ranAt = new Date().toISOString();
  const results: Results = {
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      memory: os.totalmem(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    versions: mergeVersions(previous?.versions, ctx.versions),
    ranAt,
    metrics: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true })),
  };
  writeJson(latestFile, results);
  writeJson(path.join(RESULTS_DIR, `${ranAt.replace(/[:.]/g, "-")}.json`), results);
  console.log(`wrote ${path.relative(ROOT, latestFile)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
  // Drivers may keep sockets or timers alive; the results are written.
  process.exit(process.exitCode ?? 0);
}

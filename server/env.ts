import path from "node:path";
import { z } from "zod";

const portNumber = z.coerce
  .number({ error: "must be a number" })
  .int("must be a whole number")
  .min(1, "must be between 1 and 65535")
  .max(65535, "must be between 1 and 65535");

const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "postgresql:" || url.protocol === "postgres:") && url.hostname !== "";
    } catch {
      return false;
    }
  },
  { error: "must be a URL like postgresql://user@host:5432/database" },
);

const redisUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "";
    } catch {
      return false;
    }
  },
  { error: "must be a URL like redis://host:6379" },
);

/** NATS takes a comma-separated list of servers: `host:port` or `nats://host:port`. */
const natsServers = z.string().refine(
  (value) => value.split(",").every((server) => /^(nats|tls|wss?):\/\/[^\s/:]+(:\d{1,5})?\/?$|^[^\s/:]+(:\d{1,5})?$/.test(server.trim())),
  { error: "must be host:port or nats://host:port, comma-separated for several servers" },
);

const flag = z
  .enum(["", "0", "1", "true", "false"], { error: "must be 1 or 0" })
  .transform((value) => value === "1" || value === "true");

export const envSchema = z.object({
  PORT: portNumber.default(3000),
  HOST: z.string().min(1, "must not be empty").default("127.0.0.1"),
  DATABASE_URL: postgresUrl.optional(),
  SAGABOARD_DATA_DIR: z.string().min(1, "must not be empty").default(".sagaboard/data"),
  SAGABOARD_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  SAGABOARD_MAX_BODY_BYTES: z.coerce
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1024, "must be at least 1024")
    .default(1024 * 1024),
  SAGABOARD_NO_EXAMPLES: flag.default(false),
  SAGABOARD_REDIS_URL: redisUrl.default("redis://127.0.0.1:6379"),
  SAGABOARD_NATS_URL: natsServers.default("127.0.0.1:4222"),
  SAGABOARD_WORKER_CONCURRENCY: z.coerce
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be between 1 and 256")
    .max(256, "must be between 1 and 256")
    .optional(),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses settings from the environment; the error names the first bad setting in one line. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const present = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => {
      const value = source[key];
      return value === undefined || value === "" ? [] : [[key, value]];
    }),
  );
  const result = envSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? "environment");
    throw new ConfigError(`${key} ${issue.message} (got ${JSON.stringify(present[key] ?? "")})`);
  }
  return { ...result.data, SAGABOARD_DATA_DIR: path.resolve(result.data.SAGABOARD_DATA_DIR) };
}

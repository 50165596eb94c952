import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");

/** Starts `npm start`'s entry point with settings that must make it stop before it builds or serves. */
function startWith(env: Record<string, string>) {
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "server/main.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", NODE_ENV: "production", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: result.status, stderr: result.stderr.trim(), stdout: result.stdout.trim() };
}

describe("npm start with bad configuration", () => {
  const dataDir = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sagaboard-main-")), "data");

  it.each([
    [{ DATABASE_URL: "mysql://localhost/x" }, /^sagaboard: DATABASE_URL must be a URL like postgresql:/],
    [{ DATABASE_URL: "postgresql://127.0.0.1:1/test" }, /^sagaboard: DATABASE_URL postgresql:\/\/127\.0\.0\.1:1\/test cannot be reached: connection refused/],
    [{ PORT: "seventy" }, /^sagaboard: PORT must be a number/],
    [{ SAGABOARD_TOKEN: "short" }, /^sagaboard: SAGABOARD_TOKEN must be at least 16 characters/],
    [{ SAGABOARD_REDIS_URL: "127.0.0.1:6379" }, /^sagaboard: SAGABOARD_REDIS_URL must be a URL like redis:\/\/host:6379/],
    [{ SAGABOARD_NATS_URL: "nats://a b" }, /^sagaboard: SAGABOARD_NATS_URL must be host:port or nats:\/\/host:port/],
    [{ SAGABOARD_WORKER_CONCURRENCY: "0" }, /^sagaboard: SAGABOARD_WORKER_CONCURRENCY must be between 1 and 256/],
  ])("%o gives one clear line and a non-zero exit", (env, message) => {
    const result = startWith({ SAGABOARD_DATA_DIR: dataDir(), ...env });
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it("refuses an unwritable data directory", () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "sagaboard-main-"));
    fs.writeFileSync(path.join(parent, "plain-file"), "");
    const result = startWith({ SAGABOARD_DATA_DIR: path.join(parent, "plain-file", "data") });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^sagaboard: SAGABOARD_DATA_DIR .*plain-file\/data cannot be used: a part of the path is a file, not a directory$/);
  });

  it("refuses a data directory locked by a live process, naming its PID", () => {
    const dir = dataDir();
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      fs.writeFileSync(`${dir}.lock`, `${holder.pid}\nhost\n`);
      const result = startWith({ SAGABOARD_DATA_DIR: dir });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`in use by another Sagaboard process (PID ${holder.pid})`);
      expect(fs.readFileSync(`${dir}.lock`, "utf8").startsWith(`${holder.pid}\n`)).toBe(true);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});

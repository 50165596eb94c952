import fs from "node:fs";
import os from "node:os";

export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(
      `SAGABOARD_DATA_DIR ${dataDir} is in use by another Sagaboard process (PID ${pid}). ` +
        `Stop it, or choose another SAGABOARD_DATA_DIR. If no such process runs, delete ${lockFile}.`,
    );
  }
}

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, "utf8").split("\n")[0] ?? "", 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PGlite has no lock of its own: a second process on the same directory silently loses writes.
 * The lock file sits beside the data directory (which may not exist yet) and holds the owner's PID;
 * a lock whose PID is dead is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = `${dataDir}.lock`;
  const content = `${process.pid}\n${os.hostname()}\n${new Date().toISOString()}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, "wx", 0o644);
      fs.writeSync(fd, content);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      heldHere.add(file);
      const release = () => {
        if (!heldHere.delete(file)) return;
        if (readOwner(file) === process.pid) fs.rmSync(file, { force: true });
        process.off("exit", release);
      };
      process.on("exit", release);
      return { file, release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = readOwner(file);
      const ownerLives = owner === process.pid ? heldHere.has(file) : owner !== undefined && isAlive(owner);
      if (ownerLives) throw new DataDirLockedError(dataDir, owner!, file);
      // Dead owner (or a reused PID that is ours now), or a lock file cut short by a crash: take it over.
      const stale = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, stale);
        fs.rmSync(stale, { force: true });
      } catch (renameError) {
        if ((renameError as NodeJS.ErrnoException).code !== "ENOENT") throw renameError;
      }
    }
  }
  throw new Error(`Could not take the lock ${file}: other processes keep racing for it`);
}

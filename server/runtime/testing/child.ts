/** Starts testing/crash-worker.ts as a child process and follows what it prints. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const CHILD = path.resolve(import.meta.dirname, "crash-worker.ts");
const ROOT = path.resolve(import.meta.dirname, "../../..");

export interface WorkerChild {
  process: ChildProcess;
  /** Called with every line the child prints on stdout. */
  onLine(listener: (line: string) => void): void;
  /** Resolves with the signal that ended it; rejects if it ended on its own. */
  exited: Promise<NodeJS.Signals>;
  stderr(): string;
}

export function spawnWorkerChild(args: string[]): WorkerChild {
  // `node --import tsx`: the tsx CLI would run the script in a grandchild that SIGKILL misses.
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const listeners: ((line: string) => void)[] = [];
  let buffered = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) for (const listener of listeners) listener(line);
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals>((resolve, reject) => {
    child.on("exit", (code, signal) => {
      if (signal) resolve(signal);
      else reject(new Error(`worker child exited with ${code} before it was killed:\n${stderr}`));
    });
  });
  exited.catch(() => {});
  return { process: child, onLine: (listener) => listeners.push(listener), exited, stderr: () => stderr };
}

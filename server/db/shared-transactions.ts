/**
 * Group commit for short transactions that want to run at the same time: bodies submitted in the
 * same tick, or while earlier groups hold their connections, run together in one database
 * transaction. They share its round trips and its COMMIT, and statements that opt in through
 * `coalesce` (event appends, outbox rows) become one statement for the whole group.
 *
 * Every caller still sees what a transaction of its own would have done. If any body of a group
 * throws, or the group's COMMIT fails, the group is rolled back as a whole and each body runs again
 * alone, and its caller gets that run's result or error. So a body may run twice, and must do
 * nothing outside the transaction it is given.
 */
import type { Sql, SqlQueryable, SqlTransaction } from "./sql.ts";

export interface SharedTransactionsOptions {
  /** Most bodies in one transaction. */
  maxBodies?: number;
  /** Groups running at once, each on its own connection; bodies arriving meanwhile wait to form the next group. */
  maxGroups?: number;
}

export interface SharedTransactionStats {
  groups: number;
  bodies: number;
  /** Groups rolled back because one of their bodies failed; their bodies then ran alone. */
  fallbacks: number;
}

interface Waiting {
  body: (tx: SqlTransaction) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

class GroupFailedError extends Error {}

export class SharedTransactions {
  readonly stats: SharedTransactionStats = { groups: 0, bodies: 0, fallbacks: 0 };
  private readonly waiting: Waiting[] = [];
  private readonly maxBodies: number;
  private readonly maxGroups: number;
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly sql: Sql,
    options: SharedTransactionsOptions = {},
  ) {
    this.maxBodies = options.maxBodies ?? 32;
    // PGlite has one connection: a second group would only wait for it, and grows better by waiting here.
    this.maxGroups = options.maxGroups ?? (sql.kind === "pglite" ? 1 : 2);
  }

  /** Runs `body` in a transaction, possibly shared with others; commits when it resolves, rolls back when it throws. */
  transaction<T>(body: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ body, resolve: resolve as (value: unknown) => void, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      process.nextTick(() => {
        this.scheduled = false;
        this.startGroups();
      });
    });
  }

  private startGroups(): void {
    while (this.waiting.length > 0 && this.running < this.maxGroups) {
      const group = this.waiting.splice(0, this.maxBodies);
      this.running += 1;
      void this.runGroup(group).finally(() => {
        this.running -= 1;
        this.startGroups();
      });
    }
  }

  private async runGroup(group: Waiting[]): Promise<void> {
    this.stats.groups += 1;
    this.stats.bodies += group.length;
    if (group.length === 1) return this.runAlone(group[0]!);
    let results: unknown[];
    try {
      results = await this.sql.transaction(async (tx) => {
        const shared = new SharedTransaction(tx);
        const settled = await Promise.allSettled(group.map((waiting) => waiting.body(shared)));
        shared.flush();
        return settled.map((outcome) => {
          if (outcome.status === "rejected") throw new GroupFailedError();
          return outcome.value;
        });
      });
    } catch {
      this.stats.fallbacks += 1;
      await Promise.all(group.map((waiting) => this.runAlone(waiting)));
      return;
    }
    group.forEach((waiting, index) => waiting.resolve(results[index]));
  }

  private runAlone(waiting: Waiting): Promise<void> {
    return this.sql.transaction(waiting.body).then(waiting.resolve, waiting.reject);
  }
}

type Coalesced =
  | { kind: "query"; inputs: unknown[]; callers: { resolve(value: unknown): void; reject(error: unknown): void }[]; run(inputs: unknown[]): Promise<unknown[]> }
  | { kind: "write"; inputs: unknown[]; write(tx: SqlTransaction, inputs: unknown[]): void };

/** The transaction a group's bodies share; statements of one kind issued in the same tick are merged. */
class SharedTransaction implements SqlTransaction {
  private pending = new Map<string, Coalesced>();
  private flushScheduled = false;

  constructor(private readonly tx: SqlTransaction) {}

  query<Row>(text: string, params?: readonly unknown[]) {
    return this.tx.query<Row>(text, params);
  }

  exec(text: string) {
    return this.tx.exec(text);
  }

  write(text: string, params?: readonly unknown[], mapError?: (error: unknown) => unknown) {
    this.tx.write(text, params, mapError);
  }

  coalesce<In, Out>(kind: string, input: In, run: (inputs: In[]) => Promise<Out[]>): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      let entry = this.pending.get(kind);
      if (!entry) {
        entry = { kind: "query", inputs: [], callers: [], run: run as (inputs: unknown[]) => Promise<unknown[]> };
        this.pending.set(kind, entry);
      }
      if (entry.kind !== "query") throw new Error(`${kind} is coalesced as a write elsewhere`);
      entry.inputs.push(input);
      entry.callers.push({ resolve: resolve as (value: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  writeCoalesced<In>(kind: string, input: In, write: (tx: SqlTransaction, inputs: In[]) => void): void {
    let entry = this.pending.get(kind);
    if (!entry) {
      entry = { kind: "write", inputs: [], write: write as (tx: SqlTransaction, inputs: unknown[]) => void };
      this.pending.set(kind, entry);
    }
    if (entry.kind !== "write") throw new Error(`${kind} is coalesced as a query elsewhere`);
    entry.inputs.push(input);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After the promise jobs of this tick: the other bodies resumed by the same answers add theirs first.
    process.nextTick(() => this.flush());
  }

  /** Sends what waits to be merged, in the order its kinds first came; the group calls it before its COMMIT. */
  flush(): void {
    this.flushScheduled = false;
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) {
      if (entry.kind === "write") {
        entry.write(this.tx, entry.inputs);
        continue;
      }
      entry.run(entry.inputs).then(
        (outputs) => entry.callers.forEach((caller, index) => caller.resolve(outputs[index])),
        (error: unknown) => entry.callers.forEach((caller) => caller.reject(error)),
      );
    }
  }
}

/**
 * Runs `run` for `input` now, or, inside a shared transaction, together with the other inputs of
 * the same kind issued in this tick (as one statement). `run` gets the inputs in the order they
 * came and returns one output per input; if it throws, every caller gets its error.
 */
export function coalesce<In, Out>(db: SqlQueryable, kind: string, input: In, run: (inputs: In[]) => Promise<Out[]>): Promise<Out> {
  if (db instanceof SharedTransaction) return db.coalesce(kind, input, run);
  return run([input]).then((outputs) => outputs[0]!);
}

/**
 * Sends `write` for `input` now, or, inside a shared transaction, as one write with the other
 * inputs of the same kind sent in this tick (still before the transaction commits). A merged
 * write may go out after a statement the same body sends later in the same tick, so use it only
 * for rows nothing in the transaction reads back.
 */
export function writeCoalesced<In>(tx: SqlTransaction, kind: string, input: In, write: (tx: SqlTransaction, inputs: In[]) => void): void {
  if (tx instanceof SharedTransaction) tx.writeCoalesced(kind, input, write);
  else write(tx, [input]);
}

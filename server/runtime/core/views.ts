/**
 * `$view(readModel, key)` in aggregate rules: the current row of a read model of the aggregate's
 * own context (event-carried state transfer: other contexts' state arrives as events the context
 * projects itself), read when the command is decided. The read itself is passed in, so deciders
 * stay free of I/O; the row is as current as the view's projector, i.e. eventually consistent.
 */
import { VIEW_FUNCTION } from "../../definition/expression-analysis.ts";
import type { ExpressionFunctions } from "../../definition/expressions.ts";
import type { AggregateDefinition, ReadModelDefinition } from "../../definition/v1.ts";

export type ViewRow = Record<string, unknown>;

/** Reads one row of a read model; undefined when the row, or the whole view, does not exist yet. */
export type ReadViewRow = (readModel: ReadModelDefinition, key: string) => Promise<ViewRow | undefined>;

export interface ViewSource {
  /** The read models of the definition; only those of the aggregate's context can be read. */
  readModels: readonly ReadModelDefinition[];
  readRow: ReadViewRow;
}

/** Distinct rows one decision may read; with the evaluation time limit it bounds the work a rule can cause. */
export const MAX_VIEW_READS_PER_DECISION = 200;

/** A `$view` call the definition should not have made; deterministic, like any expression failure. */
export class ViewReadError extends Error {
  override name = "ViewReadError";
}

export interface BoundViews {
  functions: ExpressionFunctions;
  /**
   * What the row reader threw (a database error), if anything. JSONata reports it as a failure
   * of the expression; the caller rethrows this instead, so it is retried rather than parked.
   */
  readonly readFailure: unknown;
}

/** `$view` for one decision of one aggregate: rows are read once per decision and reused. */
export function bindViews(aggregate: AggregateDefinition, source: ViewSource | undefined): BoundViews {
  const contextId = aggregate.context?.id ?? null;
  const own = new Map((source?.readModels ?? []).filter((readModel) => (readModel.context?.id ?? null) === contextId).map((readModel) => [readModel.name, readModel]));
  const rows = new Map<string, Promise<ViewRow | undefined>>();
  const bound: { functions: ExpressionFunctions; readFailure: unknown } = { functions: {}, readFailure: undefined };

  const view = (name: unknown, key: unknown): Promise<ViewRow | undefined> | undefined => {
    if (typeof name !== "string") throw new ViewReadError(`$${VIEW_FUNCTION}() takes the name of a read model first, not ${JSON.stringify(name) ?? "nothing"}.`);
    const readModel = own.get(name);
    if (!readModel || !source) {
      const names = [...own.keys()];
      throw new ViewReadError(
        `${aggregate.name} reads only views of its own context (${aggregate.context?.name ?? "none"}): ${names.length > 0 ? names.join(", ") : "it has none"}; not "${name}".`,
      );
    }
    if (key === undefined || key === null || key === "") return undefined;
    if (typeof key === "number" && Number.isFinite(key)) key = String(key);
    if (typeof key !== "string" || key.length > 400) {
      throw new ViewReadError(`$${VIEW_FUNCTION}('${name}', key) needs a string or number key of at most 400 characters, not ${JSON.stringify(key)?.slice(0, 100) ?? "a function"}.`);
    }
    const cacheKey = `${name}\u0000${key}`;
    const cached = rows.get(cacheKey);
    if (cached) return cached;
    if (rows.size >= MAX_VIEW_READS_PER_DECISION) throw new ViewReadError(`${aggregate.name} read more than ${MAX_VIEW_READS_PER_DECISION} view rows in one decision.`);
    const read = source.readRow(readModel, key).catch((error: unknown) => {
      bound.readFailure ??= error;
      throw error;
    });
    rows.set(cacheKey, read);
    return read;
  };
  bound.functions = { [VIEW_FUNCTION]: view };
  return bound;
}

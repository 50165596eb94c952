/**
 * Undo/redo as two stacks of snapshots. A change records the state *before* it; changes with
 * the same key close together (typing into one field) collapse into one undo step.
 */
export interface History<T> {
  past: T[];
  future: T[];
  lastKey?: string;
  lastAt?: number;
}

export const HISTORY_LIMIT = 200;
export const COALESCE_MS = 1200;

export const emptyHistory = <T>(): History<T> => ({ past: [], future: [] });

export interface RecordOptions {
  /** Changes with equal keys within COALESCE_MS of each other are one step. */
  key?: string;
  at: number;
}

export function record<T>(history: History<T>, before: T, options: RecordOptions): History<T> {
  const coalesces = options.key !== undefined && options.key === history.lastKey && history.lastAt !== undefined && options.at - history.lastAt <= COALESCE_MS;
  if (coalesces) return { ...history, future: [], lastAt: options.at };
  const past = history.past.length >= HISTORY_LIMIT ? history.past.slice(history.past.length - HISTORY_LIMIT + 1) : history.past.slice();
  past.push(before);
  return { past, future: [], lastKey: options.key, lastAt: options.at };
}

export function undo<T>(history: History<T>, present: T): { history: History<T>; present: T } | undefined {
  const previous = history.past.at(-1);
  if (previous === undefined) return undefined;
  return { history: { past: history.past.slice(0, -1), future: [...history.future, present] }, present: previous };
}

export function redo<T>(history: History<T>, present: T): { history: History<T>; present: T } | undefined {
  const next = history.future.at(-1);
  if (next === undefined) return undefined;
  return { history: { past: [...history.past, present], future: history.future.slice(0, -1) }, present: next };
}

export const canUndo = (history: History<unknown>) => history.past.length > 0;
export const canRedo = (history: History<unknown>) => history.future.length > 0;

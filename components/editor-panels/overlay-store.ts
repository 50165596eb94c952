/**
 * What the editor panels draw on top of nodes (problem badges, live counters, context state),
 * kept outside React Flow's node data: each node subscribes to its own entry, so a counter
 * changing re-renders that node only, and editing the board does not touch this store.
 */
import { createContext, useCallback, useContext, useSyncExternalStore } from "react";
import type { ContextState, NodeCounter } from "./live-map.ts";

export interface NodeProblems {
  errors: number;
  warnings: number;
  /** The messages, one per line, for the badge's title. */
  summary: string;
}

export interface NodeOverlay {
  problems?: NodeProblems;
  counter?: NodeCounter;
  context?: { state: ContextState; onChange: (state: ContextState) => void };
}

const EMPTY: NodeOverlay = {};

export class NodeOverlayStore {
  private overlays = new Map<string, NodeOverlay>();
  private listeners = new Map<string, Set<() => void>>();

  get(id: string): NodeOverlay {
    return this.overlays.get(id) ?? EMPTY;
  }

  subscribe(id: string, listener: () => void): () => void {
    let set = this.listeners.get(id);
    if (!set) {
      set = new Set();
      this.listeners.set(id, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Replaces one layer (problems, counter or context) for every node: absent ids lose it. */
  setLayer<K extends keyof NodeOverlay>(layer: K, values: ReadonlyMap<string, NodeOverlay[K]>): void {
    const touched = new Set<string>();
    for (const [id, overlay] of this.overlays) {
      if (overlay[layer] !== undefined && !values.has(id)) {
        const { [layer]: _dropped, ...rest } = overlay;
        this.overlays.set(id, rest);
        touched.add(id);
      }
    }
    for (const [id, value] of values) {
      const overlay = this.overlays.get(id) ?? EMPTY;
      if (sameValue(overlay[layer], value)) continue;
      this.overlays.set(id, { ...overlay, [layer]: value });
      touched.add(id);
    }
    for (const id of touched) for (const listener of this.listeners.get(id) ?? []) listener();
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => (a as Record<string, unknown>)[key] === (b as Record<string, unknown>)[key]);
}

export const NodeOverlayContext = createContext<NodeOverlayStore | null>(null);

export function useNodeOverlay(id: string): NodeOverlay {
  const store = useContext(NodeOverlayContext);
  const subscribe = useCallback((listener: () => void) => (store ? store.subscribe(id, listener) : () => {}), [store, id]);
  const read = useCallback(() => (store ? store.get(id) : EMPTY), [store, id]);
  return useSyncExternalStore(subscribe, read, read);
}

"use client";

import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import type { SidePanelTab } from "@/components/board/side-panel.tsx";
import { useTRPC, useTRPCClient } from "@/components/trpc/client.tsx";
import type { BoardDocument } from "@/server/board/document.ts";
import { compileBoard } from "@/server/compiler/compile.ts";
import type { Diagnostic } from "@/server/compiler/diagnostics.ts";
import { commandIdsOf, contextState, countersReducer, edgesOnPath, hitOf, liveIndexOf, outboxByNode, settingsFor, type ContextState, type LiveIndex, type NodeCounters } from "./live-map.ts";
import { NodeOverlayStore, type NodeOverlay, type NodeProblems } from "./overlay-store.ts";
import { ProblemsPanel } from "./problems-panel.tsx";
import { RunPanel } from "./run-panel.tsx";
import { VersionsPanel } from "./versions-panel.tsx";
import "./editor-panels.css";

export const RECOMPILE_DELAY_MS = 300;
/** Above this many nodes the board is checked on the server, after it is saved. */
export const LARGE_BOARD_NODES = 300;
const FLASH_MS = 900;
const PATH_WINDOW_MS = 2500;

export interface EditorPanelsInput {
  boardId: string;
  boardName: string;
  /** Counts every change of the document. */
  version: number;
  /** True while the latest edits are not saved yet (publishing compiles the saved board). */
  unsaved: boolean;
  getDocument: () => BoardDocument;
  focusNode: (id: string) => void;
  focusEdge: (id: string) => void;
}

const uncheckable = (error: unknown): Diagnostic => ({
  code: "SB004",
  severity: "error",
  message: `The board could not be checked: ${error instanceof Error ? error.message : String(error)}`,
  hint: "Undo the last change.",
});

function problemsByNode(diagnostics: readonly Diagnostic[]): Map<string, NodeProblems> {
  const byNode = new Map<string, NodeProblems>();
  for (const item of diagnostics) {
    if (!item.nodeId || item.severity === "info") continue;
    const current = byNode.get(item.nodeId) ?? { errors: 0, warnings: 0, summary: "" };
    byNode.set(item.nodeId, {
      errors: current.errors + (item.severity === "error" ? 1 : 0),
      warnings: current.warnings + (item.severity === "warning" ? 1 : 0),
      summary: `${current.summary}${current.summary ? "\n" : ""}${item.code} ${item.message}`,
    });
  }
  return byNode;
}

/** The Problems, Versions and Run tabs, the store of node overlays, and the live canvas (an element to mount). */
export function useEditorPanels(input: EditorPanelsInput): { tabs: SidePanelTab[]; overlays: NodeOverlayStore; live: ReactNode } {
  const { boardId, boardName, version, unsaved, getDocument, focusNode, focusEdge } = input;
  const [overlays] = useState(() => new NodeOverlayStore());
  const [diagnostics, setDiagnostics] = useState<Diagnostic[] | null>(null);
  const [checkedVersion, setCheckedVersion] = useState(-1);
  const [liveIndex, setLiveIndex] = useState<{ index: LiveIndex; commands: Map<string, string>; edges: BoardDocument["edges"] } | null>(null);

  const client = useTRPCClient();
  const accept = useCallback(
    (document: BoardDocument, result: Diagnostic[], checked: number) => {
      setDiagnostics(result);
      setCheckedVersion(checked);
      setLiveIndex({ index: liveIndexOf(document), commands: commandIdsOf(document), edges: document.edges });
      overlays.setLayer("problems", problemsByNode(result));
    },
    [overlays],
  );

  useEffect(() => {
    if (checkedVersion === version) return;
    const document = getDocument();
    // Checking a big board takes long enough to freeze the editor; the server checks the saved copy instead.
    if (document.nodes.length > LARGE_BOARD_NODES) {
      if (unsaved) return;
      let current = true;
      client.definition.compile
        .query({ boardId })
        .then((result) => current && accept(document, result.diagnostics, version))
        .catch((error: unknown) => current && accept(document, [uncheckable(error)], version));
      return () => {
        current = false;
      };
    }
    const timer = setTimeout(
      () => {
        const latest = getDocument();
        let result: Diagnostic[];
        try {
          result = compileBoard(latest, { id: boardId, name: boardName.trim() || "Process" }).diagnostics;
        } catch (error) {
          result = [uncheckable(error)];
        }
        accept(latest, result, version);
      },
      checkedVersion < 0 ? 0 : RECOMPILE_DELAY_MS,
    );
    return () => clearTimeout(timer);
    // Recompiles when the document changes; the name only matters for the definition, not for diagnostics.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [version, unsaved, boardId, getDocument, accept, client]);

  const errors = diagnostics?.filter((item) => item.severity === "error").length ?? 0;
  const warnings = diagnostics?.filter((item) => item.severity === "warning").length ?? 0;
  const publishBlocked =
    diagnostics === null ? "Checking the board…" : errors > 0 ? `Fix the ${errors} error${errors === 1 ? "" : "s"} in Problems first.` : unsaved ? "Saving the latest changes…" : null;

  const pick = useCallback((item: Diagnostic) => (item.nodeId ? focusNode(item.nodeId) : item.edgeId ? focusEdge(item.edgeId) : undefined), [focusEdge, focusNode]);

  const tabs: SidePanelTab[] = [
    { id: "problems", label: "Problems", badge: errors + warnings, render: () => <ProblemsPanel diagnostics={diagnostics} checking={checkedVersion !== version} onPick={pick} /> },
    { id: "versions", label: "Versions", render: () => <VersionsPanel boardId={boardId} boardName={boardName} publishBlocked={publishBlocked} /> },
    { id: "run", label: "Run", render: () => <RunPanel boardId={boardId} /> },
  ];
  const live = useMemo(() => (liveIndex ? <LiveCanvas boardId={boardId} overlays={overlays} index={liveIndex.index} commands={liveIndex.commands} edges={liveIndex.edges} /> : null), [boardId, liveIndex, overlays]);
  return { tabs, overlays, live };
}

/** Restarts a CSS animation on the element a node or edge is drawn in. */
function flash(selector: string, className: string) {
  const element = document.querySelector(selector);
  if (!element) return;
  element.classList.remove(className);
  // Reading layout restarts the animation when the class comes back.
  void (element as HTMLElement).getBoundingClientRect?.();
  element.classList.add(className);
  setTimeout(() => element.classList.remove(className), FLASH_MS);
}

function toMap<T>(record: Readonly<Record<string, T>>): Map<string, T> {
  return new Map(Object.entries(record));
}

/**
 * Follows the board's live stream while the editor is open: flashes nodes and edges, keeps the
 * counters and the contexts' fault state on the node overlays. Renders nothing itself, so a
 * stream event re-renders only the nodes whose overlay changed.
 */
function LiveCanvas({ boardId, overlays, index, commands, edges }: { boardId: string; overlays: NodeOverlayStore; index: LiveIndex; commands: Map<string, string>; edges: BoardDocument["edges"] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const counters = useRef<NodeCounters>({});
  const lastHitAt = useRef(new Map<string, number>());
  const publishScheduled = useRef(false);
  const indexRef = useRef({ index, edges });
  indexRef.current = { index, edges };

  const publishCounters = useCallback(() => {
    if (publishScheduled.current) return;
    publishScheduled.current = true;
    requestAnimationFrame(() => {
      publishScheduled.current = false;
      overlays.setLayer("counter", toMap(counters.current));
    });
  }, [overlays]);

  useSubscription(
    trpc.live.onEvents.subscriptionOptions(
      { stream: `definition-${boardId}` },
      {
        onData: (tracked) => {
          const hit = hitOf(tracked.data, indexRef.current.index);
          if (!hit) return;
          counters.current = countersReducer(counters.current, { kind: "hit", hit });
          publishCounters();
          switch (hit.kind) {
            case "flow": {
              const now = Date.now();
              for (const edge of edgesOnPath(indexRef.current.edges, hit.nodeIds, lastHitAt.current, now, PATH_WINDOW_MS)) flash(`.react-flow__edge[data-id="${CSS.escape(edge)}"]`, "ep-live-path");
              for (const id of hit.nodeIds) {
                lastHitAt.current.set(id, now);
                flash(`.react-flow__node[data-id="${CSS.escape(id)}"]`, "ep-live-flash");
              }
              break;
            }
            case "failure":
              flash(`.react-flow__node[data-id="${CSS.escape(hit.nodeId)}"]`, "ep-live-fail");
              break;
            case "status":
              void queryClient.invalidateQueries({ queryKey: trpc.runtime.instances.queryKey() });
              break;
            default: {
              const unreachable: never = hit;
              throw new Error(`unknown live hit ${JSON.stringify(unreachable)}`);
            }
          }
        },
      },
    ),
  );

  const deadLetters = useQuery({ ...trpc.runtime.deadLetters.list.queryOptions({ boardId, limit: 200 }), refetchInterval: 3000 });
  // What stuck instances still wait for marks the nodes they are stuck at; a few suffice to point there.
  const stuck = useQuery({ ...trpc.runtime.instances.queryOptions({ boardId, status: "stuck", limit: 5 }), refetchInterval: 5000 });
  const stuckDetails = useQueries({
    queries: (stuck.data?.instances ?? []).map((instance) => ({ ...trpc.runtime.instance.queryOptions({ instanceId: instance.id }), refetchInterval: 5000 })),
  });
  const stuckPending = stuckDetails.flatMap((detail) => detail.data?.pending ?? []);
  const stuckKey = stuckPending.map((message) => message.id).join(",");
  useEffect(() => {
    if (!deadLetters.data) return;
    counters.current = countersReducer(counters.current, { kind: "outbox", parked: outboxByNode(deadLetters.data.messages, commands), stuck: outboxByNode(stuckPending, commands) });
    publishCounters();
    // stuckKey stands for stuckPending, which is a new array on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [commands, deadLetters.data, stuckKey, publishCounters]);

  const contexts = useQuery({ ...trpc.runtime.contexts.list.queryOptions({ boardId }), refetchInterval: 5000 });
  const update = useMutation(trpc.runtime.contexts.update.mutationOptions({ onSettled: () => void queryClient.invalidateQueries({ queryKey: trpc.runtime.contexts.list.queryKey({ boardId }) }) }));
  const mutate = update.mutate;
  const changers = useRef(new Map<string, (state: ContextState) => void>());
  useEffect(() => {
    if (!contexts.data) return;
    const layer = new Map<string, NodeOverlay["context"]>();
    for (const settings of contexts.data) {
      let onChange = changers.current.get(settings.contextId);
      if (!onChange) {
        onChange = (state: ContextState) => mutate({ boardId, contextId: settings.contextId, ...settingsFor(state) });
        changers.current.set(settings.contextId, onChange);
      }
      layer.set(settings.contextId, { state: contextState(settings), onChange });
    }
    overlays.setLayer("context", layer);
  }, [boardId, contexts.data, mutate, overlays]);

  return null;
}

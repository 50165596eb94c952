"use client";

import "@xyflow/react/dist/style.css";
import "./board.css";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type FinalConnectionState,
  type IsValidConnection,
  type NodeChange,
  type ReactFlowState,
  useStore,
} from "@xyflow/react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type DragEvent, type ReactNode } from "react";
import { connectionVerdict } from "@/server/board/connections.ts";
import type { BoardDocument, NodeData, NodeKind } from "@/server/board/document.ts";
import { BoardDocumentError, migrateBoardDocument } from "@/server/board/migrations.ts";
import type { RouterOutputs } from "@/server/api/root.ts";
import { useTRPC, useTRPCClient } from "@/components/trpc/client.tsx";
import { NodeOverlayContext } from "@/components/editor-panels/overlay-store.ts";
import { useEditorPanels } from "@/components/editor-panels/use-editor-panels.tsx";
import { ConflictDialog } from "./conflict-dialog.tsx";
import { edgeTypes } from "./edges.tsx";
import { editorReducer, initialEditorState } from "./editor-state.ts";
import { buildCatalog, type Catalog } from "./inspector/catalog.ts";
import { Inspector, type InspectorActions, type InspectorSelection } from "./inspector/inspector.tsx";
import { copySelection, parseClipboard, pasteSelection, serializeClipboard, type ClipboardPayload } from "./model/clipboard.ts";
import { defaultNodeSize, kindTitle } from "./model/defaults.ts";
import { boardFileName } from "./model/file-name.ts";
import type { BoardGraph, FlowEdge, FlowNode } from "./model/flow-types.ts";
import {
  addNode,
  connectNodes,
  createNode,
  documentFromGraph,
  findNodes,
  graphFromDocument,
  randomId,
  removeElements,
  selectOnly,
  setNodeContext,
  updateNodeData,
} from "./model/graph.ts";
import { canRedo, canUndo } from "./model/history.ts";
import { applyLayout, layoutInput } from "./model/layout.ts";
import { nodeTypes } from "./nodes.tsx";
import { Palette, PALETTE_MIME } from "./palette.tsx";
import { SaveStatus, type SaveState } from "./save-status.tsx";
import { ShortcutsHelp } from "./shortcuts-help.tsx";
import { SidePanel, type SidePanelTab } from "./side-panel.tsx";
import { ToastProvider, useToast } from "./ui/toast.tsx";

type LoadedBoard = RouterOutputs["board"]["get"];

export const AUTOSAVE_DELAY_MS = 600;

/** What extra side-panel tabs (compiler problems, run console) get from the editor. */
export interface EditorPanelContext {
  boardId: string;
  /** Counts every stored change; recompute derived views when it moves. */
  version: number;
  getDocument: () => BoardDocument;
  /** Selects one element and brings it into view. */
  focusNode: (id: string) => void;
}

export interface BoardEditorProps {
  boardId: string;
  /** Further right-hand panel tabs, after the inspector. */
  extraPanels?: (context: EditorPanelContext) => SidePanelTab[];
}

export function BoardEditor({ boardId, extraPanels }: BoardEditorProps) {
  const trpc = useTRPC();
  const board = useQuery(trpc.board.get.queryOptions({ id: boardId }, { staleTime: Infinity, retry: false, refetchOnWindowFocus: false }));
  if (board.isPending) {
    return (
      <div className="editor-message" role="status">
        Loading board…
      </div>
    );
  }
  if (board.isError) {
    const missing = board.error.data?.code === "NOT_FOUND";
    return (
      <div className="editor-message">
        <h1>{missing ? "This board does not exist" : "The board could not be loaded"}</h1>
        <p className="muted">{missing ? "It may have been deleted." : board.error.message}</p>
        <Link className="button" href="/processes">
          Back to processes
        </Link>
      </div>
    );
  }
  return (
    <ToastProvider>
      <ReactFlowProvider>
        <LoadedEditor key={board.data.id} board={board.data} extraPanels={extraPanels} />
      </ReactFlowProvider>
    </ToastProvider>
  );
}

function isEditable(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.closest("input, textarea, select, [contenteditable='true']") !== null || target.isContentEditable);
}

function errorCode(error: unknown): string | undefined {
  return (error as { data?: { code?: string } } | null)?.data?.code;
}

function downloadJson(fileName: string, value: unknown) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: "application/json" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * Keeps the catalog object while nothing it describes changed (ids, kinds, contexts, data,
 * connections), so that dragging re-renders neither the inspector nor anything else that reads it.
 */
function useCatalog(graph: BoardGraph): Catalog {
  const cache = useRef<{ nodes: FlowNode[]; edges: FlowEdge[]; catalog: Catalog } | undefined>(undefined);
  const cached = cache.current;
  const same =
    cached !== undefined &&
    cached.nodes.length === graph.nodes.length &&
    cached.nodes.every((node, index) => {
      const current = graph.nodes[index]!;
      return node === current || (node.id === current.id && node.type === current.type && node.parentId === current.parentId && node.data === current.data);
    }) &&
    (cached.edges === graph.edges || (cached.edges.length === graph.edges.length && cached.edges.every((edge, index) => edge.source === graph.edges[index]!.source && edge.target === graph.edges[index]!.target)));
  if (same) return cached.catalog;
  const catalog = buildCatalog(graph);
  cache.current = { nodes: graph.nodes, edges: graph.edges, catalog };
  return catalog;
}

/** Coarse zoom bands: far-out views drop detail that would be unreadable anyway, which keeps big boards fluid. */
type ZoomBand = "near" | "mid" | "far";
const zoomBand = (state: ReactFlowState): ZoomBand => (state.transform[2] >= 0.55 ? "near" : state.transform[2] >= 0.3 ? "mid" : "far");

function LoadedEditor({ board, extraPanels }: { board: LoadedBoard; extraPanels?: (context: EditorPanelContext) => SidePanelTab[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const toast = useToast();
  const flow = useReactFlow<FlowNode, FlowEdge>();
  const [state, dispatch] = useReducer(editorReducer, board.document, (document: BoardDocument) => initialEditorState(graphFromDocument(document)));
  const stateRef = useRef(state);
  stateRef.current = state;
  const documentBase = useRef<Pick<BoardDocument, "process" | "viewport">>({ process: board.document.process });
  const revision = useRef(board.revision);
  const [savedVersion, setSavedVersion] = useState(0);
  const [saveState, setSaveState] = useState<SaveState>({ kind: "saved", at: board.updatedAt });
  const [conflict, setConflict] = useState<{ revision?: number } | undefined>(undefined);
  const [conflictBusy, setConflictBusy] = useState(false);
  const [name, setName] = useState(board.name);
  const [helpOpen, setHelpOpen] = useState(false);
  const [snap, setSnap] = useState(true);
  const [labelsAlways, setLabelsAlways] = useState(false);
  const [layingOut, setLayingOut] = useState(false);
  // The overview map re-renders a shape per element on every change; big boards start without it.
  const [showMap, setShowMap] = useState(board.document.nodes.length <= 400);
  const canvasRef = useRef<HTMLDivElement>(null);
  const findRef = useRef<HTMLInputElement>(null);
  const addCount = useRef(0);
  const pasteCount = useRef(new Map<string, number>());

  const getDocument = useCallback(() => documentFromGraph(stateRef.current.graph, documentBase.current), []);

  // ——— Saving ———
  // The plain client: its identity is stable, so the autosave effect does not re-run on every render.
  const client = useTRPCClient();
  const renameMutation = useMutation(trpc.board.rename.mutationOptions());
  const createMutation = useMutation(trpc.board.create.mutationOptions());
  const inFlight = useRef(false);
  const blocked = conflict !== undefined;

  const flush = useCallback(async () => {
    if (inFlight.current) return;
    const { graph, version } = stateRef.current;
    const document = documentFromGraph(graph, documentBase.current);
    try {
      migrateBoardDocument(document);
    } catch (error) {
      if (!(error instanceof BoardDocumentError)) throw error;
      setSaveState({ kind: "error", message: error.problems[0] ?? "the board is not valid" });
      return;
    }
    inFlight.current = true;
    setSaveState({ kind: "saving" });
    try {
      const saved = await client.board.save.mutate({ id: board.id, baseRevision: revision.current, document });
      revision.current = saved.revision;
      setSavedVersion((previous) => Math.max(previous, version));
      setSaveState(version === stateRef.current.version ? { kind: "saved", at: saved.updatedAt } : { kind: "unsaved" });
    } catch (error) {
      if (errorCode(error) === "CONFLICT") {
        setSaveState({ kind: "conflict" });
        setConflict({});
        const current = await queryClient.fetchQuery({ ...trpc.board.get.queryOptions({ id: board.id }), staleTime: 0 }).catch(() => undefined);
        setConflict({ revision: current?.revision });
      } else {
        setSaveState({ kind: "error", message: error instanceof Error ? error.message.split("\n")[0]! : "the server did not answer" });
      }
    } finally {
      inFlight.current = false;
    }
  }, [board.id, client, queryClient, trpc]);

  const dirty = state.version > savedVersion;
  useEffect(() => {
    if (!dirty || blocked) return;
    setSaveState((current) => (current.kind === "saving" || current.kind === "unsaved" ? current : { kind: "unsaved" }));
    const timer = setTimeout(() => void flush(), AUTOSAVE_DELAY_MS);
    return () => clearTimeout(timer);
    // saveState is left out on purpose: a finished save re-runs this through savedVersion.
  }, [state.version, savedVersion, dirty, blocked, flush]);

  // A rename is saved by its own request: until it lands, the board is not saved either.
  const renaming = renameMutation.isPending;
  useEffect(() => {
    if (!dirty && !renaming) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty, renaming]);

  const reloadTheirs = useCallback(async () => {
    setConflictBusy(true);
    try {
      const current = await queryClient.fetchQuery({ ...trpc.board.get.queryOptions({ id: board.id }), staleTime: 0 });
      revision.current = current.revision;
      documentBase.current = { process: current.document.process };
      setName(current.name);
      dispatch({ type: "load", graph: graphFromDocument(current.document) });
      setSavedVersion(0);
      setSaveState({ kind: "saved", at: current.updatedAt });
      setConflict(undefined);
      toast("Reloaded the saved board.", { tone: "success" });
    } catch (error) {
      toast(`Could not reload: ${(error as Error).message}`, { tone: "error" });
    } finally {
      setConflictBusy(false);
    }
  }, [board.id, queryClient, toast, trpc]);

  const keepMineAsCopy = useCallback(async () => {
    setConflictBusy(true);
    try {
      const copy = await createMutation.mutateAsync({ name: `${name} (my copy)`.slice(0, 120), description: board.description, document: getDocument() });
      await queryClient.invalidateQueries({ queryKey: trpc.board.list.queryKey() });
      setSavedVersion(stateRef.current.version);
      setConflict(undefined);
      router.push(`/processes/${copy.id}`);
    } catch (error) {
      toast(`Could not save a copy: ${(error as Error).message}`, { tone: "error" });
      setConflictBusy(false);
    }
  }, [board.description, createMutation, getDocument, name, queryClient, router, toast, trpc]);

  const rename = useCallback(
    async (next: string) => {
      const trimmed = next.trim();
      if (!trimmed || trimmed === name) return;
      try {
        const renamed = await renameMutation.mutateAsync({ id: board.id, name: trimmed });
        setName(renamed.name);
        void queryClient.invalidateQueries({ queryKey: trpc.board.list.queryKey() });
      } catch (error) {
        toast(`Could not rename: ${(error as Error).message}`, { tone: "error" });
      }
    },
    [board.id, name, queryClient, renameMutation, toast, trpc],
  );

  // ——— Editing ———
  const edit = useCallback((update: (graph: BoardGraph) => BoardGraph, key?: string) => dispatch({ type: "edit", update, key, at: Date.now() }), []);

  const addAt = useCallback(
    (kind: NodeKind, center: { x: number; y: number }) => {
      const size = defaultNodeSize[kind];
      const node = createNode(kind, { x: Math.round(center.x - size.width / 2), y: Math.round(center.y - size.height / 2) }, randomId(kind));
      edit((graph) => addNode(graph, node as FlowNode));
    },
    [edit],
  );

  const addInView = useCallback(
    (kind: NodeKind) => {
      const rect = canvasRef.current?.getBoundingClientRect();
      if (!rect) return;
      const step = (addCount.current++ % 8) * 24;
      addAt(kind, flow.screenToFlowPosition({ x: rect.left + rect.width / 2 + step, y: rect.top + rect.height / 2 + step }));
    },
    [addAt, flow],
  );

  const onDragOver = useCallback((event: DragEvent) => {
    if (!event.dataTransfer.types.includes(PALETTE_MIME)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback(
    (event: DragEvent) => {
      const kind = event.dataTransfer.getData(PALETTE_MIME) as NodeKind;
      if (!kind || !(kind in defaultNodeSize)) return;
      event.preventDefault();
      addAt(kind, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
    },
    [addAt, flow],
  );

  const onNodesChange = useCallback((changes: NodeChange<FlowNode>[]) => dispatch({ type: "nodesChanged", changes, at: Date.now() }), []);
  const onEdgesChange = useCallback((changes: EdgeChange<FlowEdge>[]) => dispatch({ type: "edgesChanged", changes }), []);

  const isValidConnection = useCallback<IsValidConnection<FlowEdge>>((connection) => {
    const { graph } = stateRef.current;
    const source = graph.nodes.find((node) => node.id === connection.source);
    const target = graph.nodes.find((node) => node.id === connection.target);
    if (!source || !target || source.id === target.id) return false;
    if (graph.edges.some((edge) => edge.source === source.id && edge.target === target.id)) return false;
    return connectionVerdict(source.type, target.type).ok;
  }, []);

  const onConnect = useCallback(
    (connection: Connection) => {
      const result = connectNodes(stateRef.current.graph, connection.source, connection.target, randomId("edge"));
      if (result.ok) edit(() => result.graph);
      else toast(`Not connected: ${result.reason}.`, { tone: "error" });
    },
    [edit, toast],
  );

  const onConnectEnd = useCallback(
    (_event: MouseEvent | TouchEvent, connection: FinalConnectionState) => {
      if (connection.isValid !== false || !connection.fromNode || !connection.toNode) return;
      const fromTarget = connection.fromHandle?.type === "target";
      const [source, target] = fromTarget ? [connection.toNode.id, connection.fromNode.id] : [connection.fromNode.id, connection.toNode.id];
      const result = connectNodes(stateRef.current.graph, source, target, "probe");
      if (!result.ok) toast(`Not connected: ${result.reason}.`, { tone: "error" });
    },
    [toast],
  );

  const deleteSelection = useCallback(() => {
    const { graph } = stateRef.current;
    const nodeIds = graph.nodes.filter((node) => node.selected).map((node) => node.id);
    const edgeIds = graph.edges.filter((edge) => edge.selected).map((edge) => edge.id);
    if (nodeIds.length === 0 && edgeIds.length === 0) return;
    edit((current) => removeElements(current, nodeIds, edgeIds));
  }, [edit]);

  const selectedIds = useCallback(() => stateRef.current.graph.nodes.filter((node) => node.selected).map((node) => node.id), []);

  const paste = useCallback(
    (payload: ClipboardPayload, text: string) => {
      const times = (pasteCount.current.get(text) ?? 0) + 1;
      pasteCount.current.set(text, times);
      edit((graph) => pasteSelection(graph, payload, { x: 32 * times, y: 32 * times }, randomId).graph);
      toast(`Pasted ${payload.nodes.length} element${payload.nodes.length === 1 ? "" : "s"}.`);
    },
    [edit, toast],
  );

  const duplicate = useCallback(() => {
    const payload = copySelection(stateRef.current.graph, selectedIds());
    if (payload) paste(payload, `duplicate:${serializeClipboard(payload)}`);
  }, [paste, selectedIds]);

  const focusNode = useCallback(
    (id: string) => {
      dispatch({ type: "select", update: (graph) => selectOnly(graph, [id]) });
      requestAnimationFrame(() => void flow.fitView({ nodes: [{ id }], duration: 300, maxZoom: 1.2, padding: 0.6 }));
    },
    [flow],
  );

  // ——— Editor panels (Problems, Versions, Run, live canvas) ———
  const focusEdge = useCallback(
    (id: string) => {
      const edge = stateRef.current.graph.edges.find((candidate) => candidate.id === id);
      if (!edge) return;
      dispatch({ type: "select", update: (graph) => ({ ...selectOnly(graph, []), edges: graph.edges.map((candidate) => (candidate.id === id ? { ...candidate, selected: true } : candidate.selected ? { ...candidate, selected: false } : candidate)) }) });
      requestAnimationFrame(() => void flow.fitView({ nodes: [{ id: edge.source }, { id: edge.target }], duration: 300, maxZoom: 1.2, padding: 0.4 }));
    },
    [flow],
  );
  const editorPanels = useEditorPanels({ boardId: board.id, boardName: name, version: state.version, unsaved: dirty, getDocument, focusNode, focusEdge });

  // A plain click on one element of a multi-selection selects just that element (a drag moves them all).
  const onNodeClick = useCallback((event: React.MouseEvent, node: FlowNode) => {
    if (event.shiftKey || event.ctrlKey || event.metaKey) return;
    if (stateRef.current.graph.nodes.filter((candidate) => candidate.selected).length > 1) dispatch({ type: "select", update: (graph) => selectOnly(graph, [node.id]) });
  }, []);

  const fit = useCallback(() => void flow.fitView({ padding: 0.15, duration: 300 }), [flow]);

  const autoLayout = useCallback(async () => {
    setLayingOut(true);
    try {
      const { default: ELK } = await import("elkjs/lib/elk.bundled.js");
      const graph = stateRef.current.graph;
      const laidOut = await new ELK().layout(layoutInput(graph));
      edit((current) => applyLayout(current, laidOut));
      requestAnimationFrame(() => void flow.fitView({ padding: 0.15, duration: 300 }));
    } catch (error) {
      toast(`Auto-layout failed: ${(error as Error).message}`, { tone: "error" });
    } finally {
      setLayingOut(false);
    }
  }, [edit, flow, toast]);

  const exportBoard = useCallback(() => {
    downloadJson(boardFileName(name), { name, description: board.description, document: getDocument() });
  }, [board.description, getDocument, name]);

  // ——— Keyboard and clipboard ———
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      if (mod && key === "f") {
        event.preventDefault();
        findRef.current?.focus();
        findRef.current?.select();
        return;
      }
      if (isEditable(event.target) || document.querySelector("dialog[open]")) return;
      if (mod && key === "z") {
        event.preventDefault();
        dispatch({ type: event.shiftKey ? "redo" : "undo" });
      } else if (mod && key === "y") {
        event.preventDefault();
        dispatch({ type: "redo" });
      } else if (mod && key === "a") {
        event.preventDefault();
        dispatch({ type: "select", update: (graph) => selectOnly(graph, graph.nodes.map((node) => node.id)) });
      } else if (mod && key === "d") {
        event.preventDefault();
        duplicate();
      } else if (!mod && (event.key === "Delete" || event.key === "Backspace")) {
        event.preventDefault();
        deleteSelection();
      } else if (event.key === "?") {
        event.preventDefault();
        setHelpOpen(true);
      } else if (!mod && !event.altKey && key === "f") {
        fit();
      } else if (!mod && !event.altKey && key === "l") {
        void autoLayout();
      } else if (event.key === "Escape") {
        dispatch({ type: "select", update: (graph) => selectOnly(graph, []) });
      }
    };
    const onCopy = (event: ClipboardEvent, cut: boolean) => {
      if (isEditable(event.target) || document.querySelector("dialog[open]")) return;
      const payload = copySelection(stateRef.current.graph, selectedIds());
      if (!payload || !event.clipboardData) return;
      event.preventDefault();
      event.clipboardData.setData("text/plain", serializeClipboard(payload));
      if (cut) deleteSelection();
      toast(`${cut ? "Cut" : "Copied"} ${payload.nodes.length} element${payload.nodes.length === 1 ? "" : "s"}.`);
    };
    const onPaste = (event: ClipboardEvent) => {
      if (isEditable(event.target) || document.querySelector("dialog[open]")) return;
      const text = event.clipboardData?.getData("text/plain") ?? "";
      const payload = parseClipboard(text);
      if (!payload) return;
      event.preventDefault();
      paste(payload, text);
    };
    const copy = (event: ClipboardEvent) => onCopy(event, false);
    const cut = (event: ClipboardEvent) => onCopy(event, true);
    window.addEventListener("keydown", onKeyDown);
    document.addEventListener("copy", copy);
    document.addEventListener("cut", cut);
    document.addEventListener("paste", onPaste);
    return () => {
      window.removeEventListener("keydown", onKeyDown);
      document.removeEventListener("copy", copy);
      document.removeEventListener("cut", cut);
      document.removeEventListener("paste", onPaste);
    };
  }, [autoLayout, deleteSelection, duplicate, fit, paste, selectedIds, toast]);

  // ——— Inspector ———
  const catalog = useCatalog(state.graph);
  const selectedNodes = state.graph.nodes.filter((node) => node.selected);
  const selectedEdges = state.graph.edges.filter((edge) => edge.selected);
  const single = selectedNodes.length === 1 && selectedEdges.length === 0 ? selectedNodes[0] : undefined;
  const singleEdge = selectedNodes.length === 0 && selectedEdges.length === 1 ? selectedEdges[0] : undefined;
  const selectionKind = single ? "node" : singleEdge ? "edge" : selectedNodes.length + selectedEdges.length > 0 ? "many" : "none";
  const selection = useMemo<InspectorSelection>(() => {
    switch (selectionKind) {
      case "node":
        return { kind: "node", id: single!.id, type: single!.type, data: single!.data as NodeData<NodeKind>, parentId: single!.parentId };
      case "edge":
        return { kind: "edge", id: singleEdge!.id, source: singleEdge!.source, target: singleEdge!.target, data: singleEdge!.data };
      case "many":
        return { kind: "many", nodes: selectedNodes.length, edges: selectedEdges.length };
      case "none":
        return { kind: "none" };
    }
    // Only the fields the inspector shows matter; positions do not.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectionKind, single?.id, single?.data, single?.parentId, singleEdge?.id, selectedNodes.length, selectedEdges.length]);

  const inspectorActions = useMemo<InspectorActions>(
    () => ({
      updateData: (id, kind, update, key) => edit((graph) => updateNodeData(graph, id, kind, update), key),
      setContext: (id, contextId) => edit((graph) => setNodeContext(graph, id, contextId)),
      deleteSelection,
    }),
    [deleteSelection, edit],
  );

  const panelContext = useMemo<EditorPanelContext>(() => ({ boardId: board.id, version: state.version, getDocument, focusNode }), [board.id, state.version, getDocument, focusNode]);
  const tabs: SidePanelTab[] = [
    { id: "inspector", label: "Inspector", render: () => <Inspector key={selection.kind === "node" || selection.kind === "edge" ? selection.id : selection.kind} selection={selection} catalog={catalog} actions={inspectorActions} /> },
    ...editorPanels.tabs,
    ...(extraPanels?.(panelContext) ?? []),
  ];

  const large = state.graph.nodes.length > 250;
  const band = useStore(zoomBand);

  return (
    <div className="editor" data-testid="board-editor">
      <header className="editor-header">
        <Link href="/processes" className="editor-back" aria-label="All processes">
          ←
        </Link>
        <BoardName name={name} onRename={(next) => void rename(next)} />
        <SaveStatus state={renaming && saveState.kind === "saved" ? { kind: "saving" } : saveState} />
        <div className="toolbar" role="toolbar" aria-label="Board tools">
          <ToolbarButton label="Undo" shortcut="Ctrl+Z" disabled={!canUndo(state.history)} onClick={() => dispatch({ type: "undo" })}>
            ↶
          </ToolbarButton>
          <ToolbarButton label="Redo" shortcut="Ctrl+Shift+Z" disabled={!canRedo(state.history)} onClick={() => dispatch({ type: "redo" })}>
            ↷
          </ToolbarButton>
          <span className="toolbar-sep" aria-hidden />
          <ToolbarButton label="Auto-layout" shortcut="L" disabled={layingOut || state.graph.nodes.length === 0} onClick={() => void autoLayout()}>
            ⇶ Layout
          </ToolbarButton>
          <ToolbarButton label="Zoom to fit" shortcut="F" onClick={fit}>
            ⤢ Fit
          </ToolbarButton>
          <ToolbarButton label="Snap to grid" pressed={snap} onClick={() => setSnap(!snap)}>
            # Snap
          </ToolbarButton>
          <ToolbarButton label="Show connection labels" pressed={labelsAlways} onClick={() => setLabelsAlways(!labelsAlways)}>
            ⋯ Labels
          </ToolbarButton>
          <ToolbarButton label="Show overview map" pressed={showMap} onClick={() => setShowMap(!showMap)}>
            ▣ Map
          </ToolbarButton>
          <span className="toolbar-sep" aria-hidden />
          <FindBox inputRef={findRef} graph={state.graph} onPick={focusNode} />
          <ToolbarButton label="Export as JSON" onClick={exportBoard}>
            ⇩ Export
          </ToolbarButton>
          <ToolbarButton label="Keyboard shortcuts" shortcut="?" onClick={() => setHelpOpen(true)}>
            ?
          </ToolbarButton>
        </div>
      </header>
      <Palette onAdd={addInView} />
      <div className={`canvas${labelsAlways ? " labels-always" : ""}`} data-zoom={band} ref={canvasRef} onDragOver={onDragOver} onDrop={onDrop} data-testid="canvas">
        <svg className="marker-defs" aria-hidden>
          <defs>
            <marker id="sagaboard-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" className="edge-arrow" />
            </marker>
          </defs>
        </svg>
        {editorPanels.live}
        <NodeOverlayContext.Provider value={editorPanels.overlays}>
        <ReactFlow<FlowNode, FlowEdge>
          nodes={state.graph.nodes}
          edges={state.graph.edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onConnect={onConnect}
          onNodeClick={onNodeClick}
          onConnectEnd={onConnectEnd}
          isValidConnection={isValidConnection}
          deleteKeyCode={null}
          selectionKeyCode="Shift"
          multiSelectionKeyCode={["Meta", "Control"]}
          snapToGrid={snap}
          snapGrid={[16, 16]}
          connectionRadius={28}
          minZoom={0.05}
          maxZoom={2.5}
          // Fitting an empty board would jump to the first element added.
          fitView={board.document.nodes.length > 0}
          fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
          onlyRenderVisibleElements={large}
          elevateEdgesOnSelect
          ariaLabelConfig={{ "node.a11yDescription.default": "Press Enter or Space to select; arrow keys move it." }}
        >
          {/* Far out the dots would be a grey haze, and repainting them on every pan frame costs big boards a quarter of their frame rate. */}
          {band === "far" ? null : <Background variant={BackgroundVariant.Dots} gap={16} size={1.2} />}
          <Controls showInteractive={false} position="bottom-left" />
          {showMap ? <MiniMap pannable zoomable position="bottom-right" style={{ width: 168, height: 112 }} nodeColor={(node) => `var(--kind-${node.type})`} nodeStrokeWidth={2} ariaLabel="Board overview" /> : null}
        </ReactFlow>
        </NodeOverlayContext.Provider>
        {state.graph.nodes.length === 0 ? (
          <div className="canvas-empty" aria-hidden>
            <p>Drag a context, a command or an event here to start.</p>
          </div>
        ) : null}
      </div>
      <SidePanel tabs={tabs} />
      {conflict ? <ConflictDialog revision={conflict.revision} busy={conflictBusy} onReloadTheirs={() => void reloadTheirs()} onKeepMineAsCopy={() => void keepMineAsCopy()} /> : null}
      {helpOpen ? <ShortcutsHelp onClose={() => setHelpOpen(false)} /> : null}
    </div>
  );
}

function ToolbarButton({ label, shortcut, pressed, disabled, onClick, children }: { label: string; shortcut?: string; pressed?: boolean; disabled?: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <button type="button" className="tool-button" aria-label={label} aria-pressed={pressed} title={shortcut ? `${label} (${shortcut})` : label} disabled={disabled} onClick={onClick}>
      {children}
    </button>
  );
}

function BoardName({ name, onRename }: { name: string; onRename: (name: string) => void }) {
  const [draft, setDraft] = useState(name);
  useEffect(() => setDraft(name), [name]);
  return (
    <input
      className="board-name"
      aria-label="Board name"
      value={draft}
      maxLength={120}
      onChange={(event) => setDraft(event.target.value)}
      onBlur={() => (draft.trim() ? onRename(draft) : setDraft(name))}
      onKeyDown={(event) => {
        if (event.key === "Enter") event.currentTarget.blur();
        if (event.key === "Escape") {
          setDraft(name);
          event.currentTarget.blur();
        }
      }}
    />
  );
}

function FindBox({ graph, onPick, inputRef }: { graph: BoardGraph; onPick: (id: string) => void; inputRef: React.RefObject<HTMLInputElement | null> }) {
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const matches = useMemo(() => (open ? findNodes(graph, query).slice(0, 8) : []), [graph, open, query]);
  const pick = (id: string) => {
    onPick(id);
    setOpen(false);
  };
  return (
    <div className="find-box">
      <input
        ref={inputRef}
        type="search"
        className="input find-input"
        placeholder="Find element (Ctrl+F)"
        aria-label="Find element by name"
        role="combobox"
        aria-expanded={matches.length > 0}
        aria-controls="find-results"
        aria-autocomplete="list"
        value={query}
        onChange={(event) => {
          setQuery(event.target.value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(event) => {
          if (event.key === "ArrowDown") {
            event.preventDefault();
            setActive((index) => Math.min(index + 1, matches.length - 1));
          } else if (event.key === "ArrowUp") {
            event.preventDefault();
            setActive((index) => Math.max(index - 1, 0));
          } else if (event.key === "Enter" && matches[active]) {
            event.preventDefault();
            pick(matches[active].id);
          } else if (event.key === "Escape") {
            setOpen(false);
            event.currentTarget.blur();
          }
        }}
      />
      {open && query.trim() ? (
        <ul id="find-results" role="listbox" className="find-results" aria-label="Matching elements">
          {matches.length === 0 ? (
            <li className="find-empty">No element is called that.</li>
          ) : (
            matches.map((node, index) => (
              <li
                key={node.id}
                role="option"
                aria-selected={index === active}
                className="find-result"
                onMouseDown={(event) => {
                  event.preventDefault();
                  pick(node.id);
                }}
              >
                <span className={`swatch swatch-${node.type}`} aria-hidden />
                <span className="find-name">{node.data.name}</span>
                <span className="find-kind">{kindTitle(node.type)}</span>
              </li>
            ))
          )}
        </ul>
      ) : null}
    </div>
  );
}

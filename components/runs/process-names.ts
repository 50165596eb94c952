"use client";

/** Names for what the runtime identifies by id: boards, their process managers, their versions and contexts. */
import { useQueries, useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc/client.tsx";

export interface ProcessNames {
  /** "Quotes", or "Orders · Shipping" when a board has several process managers. */
  processLabel: (boardId: string, processId: string) => string;
  versionNumber: (versionId: string | null) => number | null;
  contextName: (boardId: string, contextId: string | null) => string | null;
}

/** `boardIds`: the boards whose names are needed (the distinct boards of what is on screen). */
export function useProcessNames(boardIds: readonly string[], options: { contexts?: boolean } = {}): ProcessNames {
  const trpc = useTRPC();
  const boards = useQuery({ ...trpc.board.list.queryOptions({ search: "" }), staleTime: 30_000 });
  const versions = useQueries({ queries: boardIds.map((boardId) => ({ ...trpc.runtime.versions.queryOptions({ boardId }), staleTime: 30_000 })) });
  const contexts = useQueries({ queries: options.contexts ? boardIds.map((boardId) => ({ ...trpc.runtime.contexts.list.queryOptions({ boardId }), staleTime: 30_000 })) : [] });

  // A handful of boards: rebuilt on every render rather than memoised on query results.
  const boardNames = new Map((boards.data ?? []).map((board) => [board.id, board.name]));
  const processNames = new Map<string, string>();
  const processCounts = new Map<string, number>();
  const versionNumbers = new Map<string, number>();
  for (const { data: list } of versions) {
    for (const version of list ?? []) {
      versionNumbers.set(version.id, version.version);
      processCounts.set(version.boardId, Math.max(processCounts.get(version.boardId) ?? 0, version.processes.length));
      for (const process of version.processes) processNames.set(`${version.boardId}/${process.id}`, process.name);
    }
  }
  const contextNames = new Map<string, string>();
  for (const { data: list } of contexts) for (const context of list ?? []) if (context.name) contextNames.set(`${context.boardId}/${context.contextId}`, context.name);
  return {
    processLabel: (boardId, processId) => {
      const board = boardNames.get(boardId);
      const process = processNames.get(`${boardId}/${processId}`);
      if (board && process && (processCounts.get(boardId) ?? 1) > 1) return `${board} · ${process}`;
      return board ?? process ?? processId;
    },
    versionNumber: (versionId) => (versionId === null ? null : (versionNumbers.get(versionId) ?? null)),
    contextName: (boardId, contextId) => (contextId === null ? null : (contextNames.get(`${boardId}/${contextId}`) ?? contextId)),
  };
}

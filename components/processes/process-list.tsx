"use client";

import "../board/board.css";
import "./processes.css";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useDeferredValue, useEffect, useRef, useState, type ChangeEvent } from "react";
import { BoardDocumentError } from "@/server/board/migrations.ts";
import { readBoardFile } from "@/server/board/file.ts";
import type { RouterOutputs } from "@/server/api/root.ts";
import { useTRPC } from "@/components/trpc/client.tsx";
import { boardFileName } from "../board/model/file-name.ts";
import { ToastProvider, useToast } from "../board/ui/toast.tsx";

type BoardSummary = RouterOutputs["board"]["list"][number];

const INVALID_BOARD_MESSAGE = "The board is not valid:";
const MAX_IMPORT_BYTES = 900 * 1024;

function relativeTime(date: Date, now: number): string {
  const seconds = Math.round((date.getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 45) return "just now";
  if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return format.format(Math.round(seconds / 3600), "hour");
  if (abs < 7 * 86_400) return format.format(Math.round(seconds / 86_400), "day");
  return date.toLocaleDateString("en", { day: "numeric", month: "short", year: "numeric" });
}

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function ProcessList() {
  return (
    <ToastProvider>
      <ProcessListContent />
    </ToastProvider>
  );
}

function ProcessListContent() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const toast = useToast();
  const [search, setSearch] = useState("");
  const deferredSearch = useDeferredValue(search);
  const boards = useQuery({ ...trpc.board.list.queryOptions({ search: deferredSearch }), placeholderData: (previous) => previous });
  const templates = useQuery(trpc.board.templates.queryOptions());
  const [confirmDelete, setConfirmDelete] = useState<BoardSummary | undefined>(undefined);
  const [importProblems, setImportProblems] = useState<{ fileName: string; problems: string[] } | undefined>(undefined);
  const fileInput = useRef<HTMLInputElement>(null);
  const now = useNow(30_000);

  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.board.list.queryKey() });
  const create = useMutation(trpc.board.create.mutationOptions());
  const duplicate = useMutation(trpc.board.duplicate.mutationOptions({ onSuccess: invalidate }));
  const remove = useMutation(trpc.board.delete.mutationOptions({ onSuccess: invalidate }));
  const restore = useMutation(trpc.board.restore.mutationOptions({ onSuccess: invalidate }));
  const importBoard = useMutation(trpc.board.import.mutationOptions({ onSuccess: invalidate }));

  const createBlank = async () => {
    try {
      const board = await create.mutateAsync({ name: "Untitled process" });
      await invalidate();
      router.push(`/processes/${board.id}`);
    } catch (error) {
      toast(`Could not create a process: ${(error as Error).message}`, { tone: "error" });
    }
  };

  const createFromTemplate = async (templateId: string, name: string) => {
    try {
      const board = await create.mutateAsync({ name, templateId });
      await invalidate();
      router.push(`/processes/${board.id}`);
    } catch (error) {
      toast(`Could not create from the template: ${(error as Error).message}`, { tone: "error" });
    }
  };

  const deleteBoard = async (board: BoardSummary) => {
    setConfirmDelete(undefined);
    try {
      await remove.mutateAsync({ id: board.id });
      toast(`Deleted “${board.name}”.`, {
        action: {
          label: "Undo",
          run: () =>
            void restore.mutateAsync({ id: board.id }).then(
              () => toast(`Restored “${board.name}”.`, { tone: "success" }),
              (error: Error) => toast(`Could not restore: ${error.message}`, { tone: "error" }),
            ),
        },
      });
    } catch (error) {
      toast(`Could not delete: ${(error as Error).message}`, { tone: "error" });
    }
  };

  const exportBoard = async (board: BoardSummary) => {
    try {
      const file = await queryClient.fetchQuery({ ...trpc.board.export.queryOptions({ id: board.id }), staleTime: 0 });
      const url = URL.createObjectURL(new Blob([JSON.stringify(file, null, 2)], { type: "application/json" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = boardFileName(file.name);
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      toast(`Could not export: ${(error as Error).message}`, { tone: "error" });
    }
  };

  const onImportFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = "";
    if (!file) return;
    const fail = (problems: string[]) => setImportProblems({ fileName: file.name, problems });
    if (file.size > MAX_IMPORT_BYTES) return fail([`the file is ${Math.round(file.size / 1024)} KiB; boards up to ${MAX_IMPORT_BYTES / 1024} KiB can be imported`]);
    let json: unknown;
    try {
      json = JSON.parse(await file.text());
    } catch (error) {
      return fail([`the file is not JSON: ${(error as Error).message}`]);
    }
    const fallbackName = file.name.replace(/\.sagaboard\.json$|\.json$/i, "").slice(0, 120) || "Imported process";
    const bare = typeof json === "object" && json !== null && "schemaVersion" in json && !("document" in json);
    // The same checks the server makes, so that every problem shows at once and nothing is sent.
    try {
      readBoardFile(json, bare ? fallbackName : undefined);
    } catch (error) {
      if (error instanceof BoardDocumentError) return fail(error.problems);
      throw error;
    }
    try {
      const board = await importBoard.mutateAsync({ file: json, ...(bare ? { name: fallbackName } : {}) });
      toast(`Imported “${board.name}”.`, { tone: "success" });
    } catch (error) {
      const message = (error as Error).message;
      fail(message.startsWith(INVALID_BOARD_MESSAGE) ? message.split("\n").slice(1) : [message]);
    }
  };

  const list = boards.data ?? [];
  const searching = deferredSearch.trim() !== "";

  return (
    <div className="page processes-page">
      <div className="page-head">
        <div>
          <h1>Processes</h1>
          <p className="muted">Draw a process with contexts, commands, events and policies, then run it.</p>
        </div>
        <div className="page-actions">
          <input ref={fileInput} type="file" accept=".json,application/json" className="visually-hidden" aria-label="Board file to import" data-testid="import-file" onChange={(event) => void onImportFile(event)} />
          <button type="button" className="button" onClick={() => fileInput.current?.click()}>
            Import…
          </button>
          <button type="button" className="button primary" disabled={create.isPending} onClick={() => void createBlank()}>
            New process
          </button>
        </div>
      </div>

      {templates.data && templates.data.length > 0 ? (
        <section className="templates" aria-labelledby="templates-title">
          <h2 id="templates-title">Start from a template</h2>
          <div className="template-grid">
            {templates.data.map((template) => (
              <article key={template.id} className="card template-card">
                <h3>{template.name}</h3>
                <p className="muted small template-description">{template.description}</p>
                <div className="template-meta">
                  <span className="badge">{template.nodeCount} elements</span>
                  {template.contexts.slice(0, 3).map((context) => (
                    <span key={context} className="badge">
                      {context}
                    </span>
                  ))}
                </div>
                <button type="button" className="button small" aria-label={`Use template ${template.name}`} disabled={create.isPending} onClick={() => void createFromTemplate(template.id, template.name)}>
                  Use template
                </button>
              </article>
            ))}
          </div>
        </section>
      ) : null}

      <section aria-labelledby="boards-title" className="boards">
        <div className="boards-head">
          <h2 id="boards-title">Your processes</h2>
          <input type="search" className="input search-input" placeholder="Search by name" aria-label="Search processes by name" value={search} onChange={(event) => setSearch(event.target.value)} />
        </div>
        {boards.isError ? <p className="error-text">Could not load the processes: {boards.error.message}</p> : null}
        {boards.isPending ? (
          <p className="muted">Loading…</p>
        ) : list.length === 0 ? (
          <div className="empty-state card">
            {searching ? (
              <p>No process is called anything like “{deferredSearch.trim()}”.</p>
            ) : (
              <>
                <h3>No processes yet</h3>
                <p className="muted">Create a blank process, start from a template, or import a board file.</p>
                <button type="button" className="button primary" onClick={() => void createBlank()}>
                  New process
                </button>
              </>
            )}
          </div>
        ) : (
          <table className="table boards-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Last edited</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((board) => (
                <BoardRow
                  key={board.id}
                  board={board}
                  now={now}
                  onDuplicate={() =>
                    void duplicate.mutateAsync({ id: board.id }).then(
                      (copy) => toast(`Duplicated as “${copy.name}”.`, { tone: "success" }),
                      (error: Error) => toast(`Could not duplicate: ${error.message}`, { tone: "error" }),
                    )
                  }
                  onExport={() => void exportBoard(board)}
                  onDelete={() => setConfirmDelete(board)}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>

      {confirmDelete ? <ConfirmDelete board={confirmDelete} onCancel={() => setConfirmDelete(undefined)} onConfirm={() => void deleteBoard(confirmDelete)} /> : null}
      {importProblems ? <ImportProblems fileName={importProblems.fileName} problems={importProblems.problems} onClose={() => setImportProblems(undefined)} /> : null}
    </div>
  );
}

function BoardRow({ board, now, onDuplicate, onExport, onDelete }: { board: BoardSummary; now: number; onDuplicate: () => void; onExport: () => void; onDelete: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [renaming, setRenaming] = useState(false);
  const [draft, setDraft] = useState(board.name);
  const rename = useMutation(trpc.board.rename.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.board.list.queryKey() }) }));
  const commit = async () => {
    const name = draft.trim();
    setRenaming(false);
    if (!name || name === board.name) return setDraft(board.name);
    try {
      await rename.mutateAsync({ id: board.id, name });
    } catch (error) {
      setDraft(board.name);
      toast(`Could not rename: ${(error as Error).message}`, { tone: "error" });
    }
  };
  return (
    <tr data-testid="board-row" data-board-id={board.id}>
      <td className="board-cell">
        {renaming ? (
          <input
            className="input"
            aria-label={`New name for ${board.name}`}
            value={draft}
            maxLength={120}
            autoFocus
            onChange={(event) => setDraft(event.target.value)}
            onBlur={() => void commit()}
            onKeyDown={(event) => {
              if (event.key === "Enter") void commit();
              if (event.key === "Escape") {
                setDraft(board.name);
                setRenaming(false);
              }
            }}
          />
        ) : (
          <>
            <Link href={`/processes/${board.id}`} className="board-link">
              {board.name}
            </Link>
            {board.description ? <div className="muted small board-description">{board.description}</div> : null}
          </>
        )}
      </td>
      <td className="muted">
        <time dateTime={board.updatedAt.toISOString()} title={board.updatedAt.toLocaleString("en")}>
          {relativeTime(board.updatedAt, now)}
        </time>
      </td>
      <td className="row-buttons">
        <button type="button" className="button small" aria-label={`Rename ${board.name}`} onClick={() => setRenaming(true)}>
          Rename
        </button>
        <button type="button" className="button small" aria-label={`Duplicate ${board.name}`} onClick={onDuplicate}>
          Duplicate
        </button>
        <button type="button" className="button small" aria-label={`Export ${board.name}`} onClick={onExport}>
          Export
        </button>
        <button type="button" className="button small danger" aria-label={`Delete ${board.name}`} onClick={onDelete}>
          Delete
        </button>
      </td>
    </tr>
  );
}

function ModalDialog({ labelledBy, children, onClose, testId }: { labelledBy: string; children: React.ReactNode; onClose: () => void; testId?: string }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby={labelledBy} onClose={onClose} data-testid={testId}>
      {children}
    </dialog>
  );
}

function ConfirmDelete({ board, onCancel, onConfirm }: { board: BoardSummary; onCancel: () => void; onConfirm: () => void }) {
  return (
    <ModalDialog labelledBy="delete-title" onClose={onCancel} testId="confirm-delete">
      <h2 id="delete-title">Delete “{board.name}”?</h2>
      <p className="muted">It disappears from the list. You can undo this right after.</p>
      <div className="dialog-actions">
        <button type="button" className="button" autoFocus onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="button danger" onClick={onConfirm}>
          Delete
        </button>
      </div>
    </ModalDialog>
  );
}

function ImportProblems({ fileName, problems, onClose }: { fileName: string; problems: string[]; onClose: () => void }) {
  return (
    <ModalDialog labelledBy="import-title" onClose={onClose} testId="import-problems">
      <h2 id="import-title">“{fileName}” cannot be imported</h2>
      <p>
        {problems.length === 1 ? "There is a problem" : `There are ${problems.length} problems`} with this file. Nothing was imported.
      </p>
      <ul className="problem-list">
        {problems.map((problem, index) => (
          <li key={index}>{problem}</li>
        ))}
      </ul>
      <div className="dialog-actions">
        <button type="button" className="button primary" autoFocus onClick={onClose}>
          Close
        </button>
      </div>
    </ModalDialog>
  );
}

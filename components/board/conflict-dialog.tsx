"use client";

import { useEffect, useRef } from "react";

/** Shown when a save finds the board changed elsewhere: nothing is overwritten until the user chooses. */
export function ConflictDialog({ revision, busy, onReloadTheirs, onKeepMineAsCopy }: { revision: number | undefined; busy: boolean; onReloadTheirs: () => void; onKeepMineAsCopy: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="conflict-title" aria-describedby="conflict-text" data-testid="conflict-dialog" onCancel={(event) => event.preventDefault()}>
      <h2 id="conflict-title">This board was changed elsewhere</h2>
      <p id="conflict-text">
        Someone (or another window) saved this board{revision ? ` (now at revision ${revision})` : ""} while you were editing. Your latest changes have not been saved. Choose which version to keep:
      </p>
      <div className="dialog-actions">
        <button type="button" className="button" disabled={busy} onClick={onReloadTheirs}>
          Reload theirs
        </button>
        <button type="button" className="button primary" disabled={busy} onClick={onKeepMineAsCopy}>
          Keep mine as a copy
        </button>
      </div>
    </dialog>
  );
}

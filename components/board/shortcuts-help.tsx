"use client";

import { useEffect, useRef } from "react";

export const shortcuts: { keys: string; action: string }[] = [
  { keys: "Ctrl/⌘ + Z", action: "Undo" },
  { keys: "Ctrl/⌘ + Shift + Z, Ctrl + Y", action: "Redo" },
  { keys: "Ctrl/⌘ + C, X, V", action: "Copy, cut, paste (works between boards)" },
  { keys: "Ctrl/⌘ + D", action: "Duplicate the selection" },
  { keys: "Ctrl/⌘ + A", action: "Select everything" },
  { keys: "Delete, Backspace", action: "Delete the selection" },
  { keys: "Ctrl/⌘ + F", action: "Find an element by name" },
  { keys: "Shift + drag", action: "Select with a box" },
  { keys: "Ctrl/⌘ + click", action: "Add to the selection" },
  { keys: "F", action: "Zoom to fit" },
  { keys: "L", action: "Auto-layout" },
  { keys: "Escape", action: "Clear the selection, close dialogs" },
  { keys: "?", action: "Show this help" },
];

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="shortcuts-title" onClose={onClose}>
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <table className="table shortcuts-table">
        <tbody>
          {shortcuts.map((shortcut) => (
            <tr key={shortcut.keys}>
              <td>
                <kbd>{shortcut.keys}</kbd>
              </td>
              <td>{shortcut.action}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="dialog-actions">
        <button type="button" className="button primary" autoFocus onClick={() => dialog.current?.close()}>
          Close
        </button>
      </div>
    </dialog>
  );
}

"use client";

import { useId, useState, type ReactNode } from "react";

/**
 * The editor's right-hand panel. It takes any number of tabs: the inspector today; compiler
 * problems and the run console plug in here as further entries.
 */
export interface SidePanelTab {
  id: string;
  label: string;
  /** A count shown next to the label (problems, running instances). */
  badge?: number;
  render: () => ReactNode;
}

export function SidePanel({ tabs, initialTab }: { tabs: SidePanelTab[]; initialTab?: string }) {
  const baseId = useId();
  const [active, setActive] = useState(initialTab ?? tabs[0]?.id);
  const current = tabs.find((tab) => tab.id === active) ?? tabs[0];
  return (
    <aside className="side-panel" aria-label="Details">
      {tabs.length > 1 ? (
        <div role="tablist" className="side-tabs" aria-label="Panels">
          {tabs.map((tab) => (
            <button
              key={tab.id}
              role="tab"
              type="button"
              id={`${baseId}-${tab.id}`}
              aria-selected={tab.id === current?.id}
              aria-controls={`${baseId}-${tab.id}-panel`}
              className="side-tab"
              onClick={() => setActive(tab.id)}
            >
              {tab.label}
              {tab.badge ? <span className="badge">{tab.badge}</span> : null}
            </button>
          ))}
        </div>
      ) : null}
      {current ? (
        <div role={tabs.length > 1 ? "tabpanel" : undefined} id={`${baseId}-${current.id}-panel`} aria-labelledby={tabs.length > 1 ? `${baseId}-${current.id}` : undefined} className="side-panel-body">
          {current.render()}
        </div>
      ) : null}
    </aside>
  );
}

"use client";

import Link from "next/link";
import { useEffect, useRef, type ReactNode } from "react";
import type { LiveSubscription } from "./live.ts";
import { statusTone } from "./timeline-model.ts";

export type RunsTab = "instances" | "views" | "dead-letters";

const TABS: { tab: RunsTab; href: string; label: string }[] = [
  { tab: "instances", href: "/runs", label: "Instances" },
  { tab: "views", href: "/runs/views", label: "Views" },
  { tab: "dead-letters", href: "/runs/dead-letters", label: "Dead letters" },
];

export function RunsHeader({ active, live, children }: { active: RunsTab; live?: LiveSubscription; children?: ReactNode }) {
  return (
    <header className="runs-header">
      <div className="runs-title">
        <h1>Runs</h1>
        {live ? <LiveBadge live={live} /> : null}
      </div>
      {children}
      <nav className="runs-tabs" aria-label="Runs sections">
        {TABS.map((item) => (
          <Link key={item.tab} href={item.href} className="runs-tab" aria-current={item.tab === active ? "page" : undefined} data-testid={`runs-tab-${item.tab}`}>
            {item.label}
          </Link>
        ))}
      </nav>
    </header>
  );
}

export function StatusBadge({ status, large = false }: { status: string; large?: boolean }) {
  const tone = statusTone(status);
  return (
    <span className={`runs-status runs-status-${tone}${large ? " is-large" : ""}`} data-testid="status-badge" data-status={status}>
      <span className="runs-status-dot" aria-hidden />
      {status}
    </span>
  );
}

const LIVE_TEXT: Record<LiveSubscription["state"], string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline — resumes when back",
  failed: "Disconnected",
  off: "Not live",
};

export function LiveBadge({ live }: { live: LiveSubscription }) {
  return (
    <span className="runs-live" data-state={live.state} data-testid="live-state" role="status" title={live.error ?? undefined}>
      <span className="runs-live-dot" aria-hidden />
      {LIVE_TEXT[live.state]}
      {live.state === "failed" ? (
        <button type="button" className="runs-link-button" onClick={live.restart}>
          Reconnect
        </button>
      ) : null}
    </span>
  );
}

export function EmptyState({ title, children, testId }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <div className="runs-empty" data-testid={testId}>
      <div className="runs-empty-art" aria-hidden>
        <span style={{ background: "var(--kind-event)" }} />
        <span style={{ background: "var(--kind-command)" }} />
        <span style={{ background: "var(--kind-policy)" }} />
      </div>
      <h2>{title}</h2>
      {children}
    </div>
  );
}

/** Any JSON value, pretty-printed as text (never as markup). */
export function JsonView({ value, testId, label }: { value: unknown; testId?: string; label: string }) {
  const text = value === undefined ? "—" : JSON.stringify(value, null, 2);
  return (
    <pre className="runs-json" data-testid={testId} aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}

/** A modal question with a cancel and a confirm button; Escape and the backdrop cancel. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (props.open && !element.open) element.showModal();
    if (!props.open && element.open) element.close();
  }, [props.open]);
  return (
    <dialog
      ref={dialog}
      className="runs-dialog"
      aria-labelledby="runs-dialog-title"
      data-testid="confirm-dialog"
      onCancel={(event) => {
        event.preventDefault();
        props.onCancel();
      }}
      onClick={(event) => {
        if (event.target === dialog.current) props.onCancel();
      }}
    >
      <h2 id="runs-dialog-title">{props.title}</h2>
      <div className="runs-dialog-body">{props.children}</div>
      <div className="runs-dialog-actions">
        <button type="button" className="button" onClick={props.onCancel} autoFocus>
          Cancel
        </button>
        <button type="button" className={`button ${props.danger ? "runs-danger-solid" : "primary"}`} onClick={props.onConfirm} disabled={props.busy} data-testid="confirm-action">
          {props.busy ? "Working…" : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

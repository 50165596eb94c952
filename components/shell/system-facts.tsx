"use client";

import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc/client.tsx";

export function SystemFacts() {
  const trpc = useTRPC();
  const health = useQuery(trpc.system.health.queryOptions());
  if (health.isPending) return <p className="muted">Loading…</p>;
  if (health.isError) return <p className="error-text" role="alert">Could not reach the server: {health.error.message}</p>;
  return (
    <dl className="facts" data-testid="system-facts">
      <dt>Storage</dt>
      <dd data-testid="storage-kind">{health.data.storage === "pglite" ? "Embedded PostgreSQL (PGlite)" : "PostgreSQL"}</dd>
      <dt>Version</dt>
      <dd>{health.data.version}</dd>
      <dt>Migrations</dt>
      <dd>
        {health.data.migrations.length} applied
        <ul>
          {health.data.migrations.map((name) => (
            <li key={name}>
              <code>{name}</code>
            </li>
          ))}
        </ul>
      </dd>
    </dl>
  );
}

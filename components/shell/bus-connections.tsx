"use client";

import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc/client.tsx";
import type { RouterOutputs } from "@/server/api/root.ts";

type BindingStatus = RouterOutputs["buses"]["status"]["bindings"][number];

function connectionBadge(connection: BindingStatus["connection"]): { tone: "ok" | "warn" | "danger" | ""; text: string; detail?: string } {
  switch (connection.state) {
    case "connected":
      return { tone: "ok", text: "connected" };
    case "connecting":
      return { tone: "warn", text: "connecting" };
    case "reconnecting":
      return { tone: "danger", text: `reconnecting (attempt ${connection.attempt})`, detail: connection.lastError };
    case "closed":
      return { tone: "", text: "closed" };
    default: {
      const unknown: never = connection;
      return unknown;
    }
  }
}

function subscriptionText(subscription: BindingStatus["subscription"]): { text: string; detail?: string } {
  if (subscription === null) return { text: "—" };
  switch (subscription.state) {
    case "subscribing":
      return { text: "subscribing" };
    case "subscribed":
      return { text: "subscribed" };
    case "standby":
      return { text: "standby", detail: subscription.reason };
    case "retrying":
      return { text: `retrying (attempt ${subscription.attempt})`, detail: subscription.lastError };
    default: {
      const unknown: never = subscription;
      return unknown;
    }
  }
}

/** Redis and NATS bindings of the deployed versions, refreshed while the page is open. */
export function BusConnections() {
  const trpc = useTRPC();
  const status = useQuery({ ...trpc.buses.status.queryOptions(), refetchInterval: 2_000 });
  if (status.isPending) return <p className="muted">Loading…</p>;
  if (status.isError) return <p className="error-text" role="alert">Could not read the connections: {status.error.message}</p>;
  const { bindings } = status.data;
  if (bindings.length === 0) return <p className="muted">No deployed process uses Redis or NATS.</p>;
  return (
    <table className="table" data-testid="bus-connections">
      <thead>
        <tr>
          <th>External system</th>
          <th>Direction</th>
          <th>Bus</th>
          <th>Address</th>
          <th>Connection</th>
          <th>Subscription</th>
          <th>Received</th>
        </tr>
      </thead>
      <tbody>
        {bindings.map((binding) => {
          const connection = connectionBadge(binding.connection);
          const subscription = subscriptionText(binding.subscription);
          return (
            <tr key={binding.key} data-testid="bus-binding" data-state={binding.connection.state}>
              <td>
                {binding.systemName} <span className="muted small">{binding.boardId}</span>
              </td>
              <td>{binding.direction}</td>
              <td>{binding.kind}</td>
              <td>
                <code>{binding.address}</code>
                {binding.group ? <span className="muted small"> group {binding.group}</span> : null}
              </td>
              <td title={connection.detail}>
                <span className={`badge ${connection.tone}`}>{connection.text}</span>
              </td>
              <td title={subscription.detail}>{subscription.text}</td>
              <td title={binding.lastError ?? undefined}>
                {binding.direction === "inbound" ? binding.received : "—"}
                {binding.refused > 0 ? <span className="badge danger"> {binding.refused} refused</span> : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

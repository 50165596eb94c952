import { BusConnections } from "@/components/shell/bus-connections.tsx";
import { SystemFacts } from "@/components/shell/system-facts.tsx";

export default function SettingsPage() {
  return (
    <div className="page">
      <h1>Settings</h1>
      <section className="card">
        <h2>System</h2>
        <SystemFacts />
      </section>
      <section className="card">
        <h2>Message buses</h2>
        <BusConnections />
      </section>
    </div>
  );
}

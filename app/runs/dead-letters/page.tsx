import type { Metadata } from "next";
import { DeadLettersPanel } from "@/components/runs/dead-letters-panel.tsx";

export const metadata: Metadata = { title: "Dead letters · Runs · Sagaboard" };

export default function DeadLettersPage() {
  return <DeadLettersPanel />;
}

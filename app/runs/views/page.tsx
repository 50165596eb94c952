import type { Metadata } from "next";
import { ViewsPanel } from "@/components/runs/views-panel.tsx";

export const metadata: Metadata = { title: "Views · Runs · Sagaboard" };

export default function ViewsPage() {
  return <ViewsPanel />;
}

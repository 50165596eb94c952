import type { Metadata } from "next";
import { InstanceList } from "@/components/runs/instance-list.tsx";

export const metadata: Metadata = { title: "Runs · Sagaboard" };

export default function RunsPage() {
  return <InstanceList />;
}

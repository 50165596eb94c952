import type { Metadata } from "next";
import { ProcessList } from "@/components/processes/process-list.tsx";

export const metadata: Metadata = { title: "Processes · Sagaboard" };

export default function ProcessesPage() {
  return <ProcessList />;
}

import type { Metadata } from "next";
import { InstanceView } from "@/components/runs/instance-view.tsx";

export const metadata: Metadata = { title: "Instance · Runs · Sagaboard" };

export default async function InstancePage({ params }: { params: Promise<{ instanceId: string }> }) {
  const { instanceId } = await params;
  return <InstanceView instanceId={decodeURIComponent(instanceId)} />;
}

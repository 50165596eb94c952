import { getProcessStorage } from "@/server/db/process-storage.ts";
import { deleteSubscription } from "@/server/live/http.ts";

export const dynamic = "force-dynamic";

interface SubscriptionRoute {
  params: Promise<{ name: string; id: string }>;
}

export async function DELETE(_request: Request, { params }: SubscriptionRoute): Promise<Response> {
  const { name, id } = await params;
  return deleteSubscription(name, id, getProcessStorage());
}

import { getProcessStorage } from "@/server/db/process-storage.ts";
import { deleteSubscription, getStream } from "@/server/live/http.ts";

export const dynamic = "force-dynamic";

interface StreamRoute {
  params: Promise<{ name: string }>;
}

/** Live events as Server-Sent Events (Accept: text/event-stream), otherwise a summary with links to the pages. */
export async function GET(request: Request, { params }: StreamRoute): Promise<Response> {
  const { name } = await params;
  return getStream(request, name, getProcessStorage());
}

/** Ends the live subscription named by ?subscription={id}. */
export async function DELETE(request: Request, { params }: StreamRoute): Promise<Response> {
  const { name } = await params;
  return deleteSubscription(name, new URL(request.url).searchParams.get("subscription"), getProcessStorage());
}

import { getProcessStorage } from "@/server/db/process-storage.ts";
import { getStreamPage } from "@/server/live/http.ts";

export const dynamic = "force-dynamic";

interface PageRoute {
  params: Promise<{ name: string; range: string }>;
}

/** A fixed-size page, `{from}-{to}`, or the newest one, `current`. */
export async function GET(request: Request, { params }: PageRoute): Promise<Response> {
  const { name, range } = await params;
  return getStreamPage(request, name, range, getProcessStorage());
}

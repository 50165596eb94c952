import { getProcessStorage } from "@/server/db/process-storage.ts";
import { readHealth } from "@/server/system/health.ts";

export const dynamic = "force-dynamic";

export async function GET() {
  return Response.json(await readHealth(getProcessStorage()), { headers: { "Cache-Control": "no-store" } });
}

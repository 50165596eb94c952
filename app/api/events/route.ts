/**
 * POST /api/events: external handlers report events (CloudEvents 1.0, JSON: structured, batch or
 * binary mode). Each event names its board in the `boardid` extension (and may pin a version with
 * `boardversion`); its type is an event of the definition or a message an external system sends.
 * Idempotent by event id. 202 with what was accepted; 400 listing every problem, nothing stored.
 */
import { getProcessStorage } from "@/server/db/process-storage.ts";
import { asRuntimeError, getRuntime } from "@/server/runtime/index.ts";

export const dynamic = "force-dynamic";

const statusByCode = { invalid_payload: 400, invalid_request: 400, publish_refused: 400, not_found: 404, not_deployed: 409, conflict: 409 } as const;

export async function POST(request: Request): Promise<Response> {
  const body = await request.text();
  try {
    const result = await getRuntime(getProcessStorage()).ingest(request.headers, body);
    return Response.json(result, { status: 202, headers: { "Cache-Control": "no-store" } });
  } catch (error) {
    const known = asRuntimeError(error);
    if (!known) throw error;
    const status = statusByCode[known.code];
    return Response.json({ error: { status, message: known.message, ...(known.violations ? { violations: known.violations } : {}) } }, { status });
  }
}

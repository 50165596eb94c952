import { timingSafeEqual } from "node:crypto";

/** What the gate needs to know of a request; plain data so it can be tested without a server. */
export interface GateRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface GateOptions {
  token?: string;
  maxBodyBytes: number;
}

export type GateVerdict =
  | { kind: "pass" }
  | { kind: "reject"; status: number; message: string }
  /** A browser arrived with ?token=…: remember it in a cookie and drop it from the URL. */
  | { kind: "login"; location: string; cookie: string };

export const TOKEN_COOKIE = "sagaboard_token";
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

function header(request: GateRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(request: GateRequest, name: string): string | undefined {
  const cookies = header(request, "cookie");
  if (!cookies) return undefined;
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return undefined;
}

function checkToken(request: GateRequest, token: string, url: URL): GateVerdict {
  const bearer = header(request, "authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (bearer !== undefined && sameSecret(bearer, token)) return { kind: "pass" };
  const cookie = cookieValue(request, TOKEN_COOKIE);
  if (cookie !== undefined && sameSecret(cookie, token)) return { kind: "pass" };
  const query = url.searchParams.get("token");
  if (query !== null && sameSecret(query, token) && request.method === "GET") {
    url.searchParams.delete("token");
    return {
      kind: "login",
      location: `${url.pathname}${url.search}`,
      cookie: `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
    };
  }
  return {
    kind: "reject",
    status: 401,
    message: "SAGABOARD_TOKEN is set: send it as `Authorization: Bearer <token>`, or open the app once with ?token=<token>",
  };
}

/**
 * Runs before Next sees a request: the access token, body size (before any parsing), and
 * same-origin JSON for anything that can change state, so a form on another site cannot.
 */
export function gateRequest(request: GateRequest, options: GateOptions): GateVerdict {
  const url = new URL(request.url, "http://gate.invalid");
  if (options.token !== undefined) {
    const verdict = checkToken(request, options.token, url);
    if (verdict.kind !== "pass") return verdict;
  }
  const method = request.method.toUpperCase();
  if (!MUTATING.has(method)) return { kind: "pass" };

  const length = header(request, "content-length");
  if (length !== undefined) {
    const bytes = Number(length);
    if (!Number.isFinite(bytes) || bytes < 0) return { kind: "reject", status: 400, message: "Content-Length is not a number" };
    if (bytes > options.maxBodyBytes) {
      return { kind: "reject", status: 413, message: `Request body of ${bytes} bytes exceeds the limit of ${options.maxBodyBytes} bytes (SAGABOARD_MAX_BODY_BYTES)` };
    }
  } else if (header(request, "transfer-encoding") !== undefined) {
    return { kind: "reject", status: 411, message: "Send request bodies with a Content-Length" };
  }

  const fetchSite = header(request, "sec-fetch-site");
  if (fetchSite === "cross-site" || fetchSite === "same-site") {
    return { kind: "reject", status: 403, message: "Cross-origin requests cannot change anything" };
  }
  const origin = header(request, "origin");
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = origin === "null" ? undefined : new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || originHost !== header(request, "host")) {
      return { kind: "reject", status: 403, message: "Cross-origin requests cannot change anything" };
    }
  }

  const hasBody = (length !== undefined && Number(length) > 0) || header(request, "content-type") !== undefined;
  if (hasBody && !JSON_TYPE.test(header(request, "content-type") ?? "")) {
    return { kind: "reject", status: 415, message: "Send JSON (Content-Type: application/json)" };
  }
  return { kind: "pass" };
}

import { describe, expect, it } from "vitest";
import { gateRequest, type GateRequest } from "./request-gate.ts";

const options = { maxBodyBytes: 1000 };
const post = (headers: GateRequest["headers"]): GateRequest => ({ method: "POST", url: "/api/trpc/board.create", headers: { host: "127.0.0.1:3000", ...headers } });

describe("gateRequest", () => {
  it("passes same-origin JSON mutations and plain reads", () => {
    expect(gateRequest(post({ origin: "http://127.0.0.1:3000", "content-type": "application/json", "content-length": "10" }), options)).toEqual({ kind: "pass" });
    expect(gateRequest(post({ "content-type": "application/cloudevents+json; charset=utf-8", "content-length": "10" }), options)).toEqual({ kind: "pass" });
    expect(gateRequest({ method: "GET", url: "/processes", headers: {} }, options)).toEqual({ kind: "pass" });
  });

  it("rejects a cross-origin form post with 403", () => {
    const verdict = gateRequest(post({ origin: "http://evil.example", "content-type": "application/x-www-form-urlencoded", "content-length": "10" }), options);
    expect(verdict).toMatchObject({ kind: "reject", status: 403 });
    expect(gateRequest(post({ "sec-fetch-site": "cross-site", "content-type": "application/json", "content-length": "2" }), options)).toMatchObject({ status: 403 });
    expect(gateRequest(post({ origin: "null", "content-type": "application/json", "content-length": "2" }), options)).toMatchObject({ status: 403 });
  });

  it("rejects same-origin non-JSON bodies with 415", () => {
    expect(gateRequest(post({ "content-type": "text/plain", "content-length": "5" }), options)).toMatchObject({ status: 415 });
  });

  it("rejects oversized bodies with 413 before reading them, and unsized ones with 411", () => {
    expect(gateRequest(post({ "content-type": "application/json", "content-length": "1001" }), options)).toMatchObject({ status: 413 });
    expect(gateRequest(post({ "content-type": "application/json", "transfer-encoding": "chunked" }), options)).toMatchObject({ status: 411 });
  });

  it("requires the token when one is set, and turns ?token= into a cookie", () => {
    const token = "0123456789abcdef-secret";
    expect(gateRequest({ method: "GET", url: "/api/health", headers: {} }, { ...options, token })).toMatchObject({ status: 401 });
    expect(gateRequest({ method: "GET", url: "/api/health", headers: { authorization: "Bearer wrong" } }, { ...options, token })).toMatchObject({ status: 401 });
    expect(gateRequest({ method: "GET", url: "/api/health", headers: { authorization: `Bearer ${token}` } }, { ...options, token })).toEqual({ kind: "pass" });
    expect(gateRequest({ method: "GET", url: "/runs", headers: { cookie: `a=b; sagaboard_token=${token}` } }, { ...options, token })).toEqual({ kind: "pass" });
    const login = gateRequest({ method: "GET", url: `/runs?x=1&token=${token}`, headers: {} }, { ...options, token });
    expect(login).toMatchObject({ kind: "login", location: "/runs?x=1" });
  });
});

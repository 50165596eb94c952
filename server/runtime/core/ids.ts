import { createHash } from "node:crypto";

/**
 * A UUID-shaped id derived from its parts (SHA-256, version nibble 8 for "custom"). Deciders name
 * the messages they cause this way, so replaying the same input produces the same ids and the
 * event store's and inboxes' idempotency recognise the retry.
 */
export function derivedId(...parts: readonly string[]): string {
  const hex = createHash("sha256").update(parts.join("\u001f")).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * How the runtime names streams and instances. Aggregate streams belong to the board (every
 * version sees the same users); process instances belong to a version (they keep the version
 * they started on).
 */
export const aggregateStreamId = (boardId: string, aggregateName: string, key: string) => `${boardId}:${aggregateName}:${key}`;
export const rejectionStreamId = (aggregateStream: string) => `${aggregateStream}:rejections`;
/** Also the id of the instance's own stream. */
export const instanceIdOf = (versionId: string, processId: string, correlationKey: string) => `${versionId}:${processId}:${correlationKey}`;
/** Events that enter from outside (started by hand, reported by an external system) are stored one per stream. */
export const inboundStreamId = (boardId: string, messageId: string) => `${boardId}:inbound:${messageId}`;
/** Messages to one external system keep their order per causal chain. */
export const externalStreamKey = (boardId: string, systemId: string, correlationId: string) => `${boardId}:${systemId}:${correlationId}`;
export const unroutableStreamKey = (boardId: string, messageId: string) => `${boardId}:unroutable:${messageId}`;

-- Runtime (server/runtime): published process versions, the outbox every handler works from,
-- handler inboxes, process instances, durable timers and per-context run-time settings.
-- Hand-written; runs unchanged on PGlite 0.5.16 and PostgreSQL 15.

-- CreateTable
CREATE TABLE "process_versions" (
    -- "<board id>@<version>"
    "id" TEXT NOT NULL,
    "board_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "definition" JSONB NOT NULL,
    -- sha256 of the serialized definition: publishing an unchanged definition returns the same version.
    "hash" TEXT NOT NULL,
    "published_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "deployed" BOOLEAN NOT NULL DEFAULT false,
    "deployed_at" TIMESTAMPTZ(3),

    CONSTRAINT "process_versions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "process_versions_board_id_version_key" ON "process_versions"("board_id", "version");
CREATE INDEX "process_versions_board_id_hash_idx" ON "process_versions"("board_id", "hash");
-- New instances start on the one deployed version of a board.
CREATE UNIQUE INDEX "process_versions_deployed_key" ON "process_versions"("board_id") WHERE "deployed";

-- A published version is immutable; only its deployment may change.
CREATE FUNCTION "process_versions_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'published process versions are immutable: DELETE refused on "process_versions"'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW."id" IS DISTINCT FROM OLD."id" OR NEW."board_id" IS DISTINCT FROM OLD."board_id"
        OR NEW."version" IS DISTINCT FROM OLD."version" OR NEW."definition" IS DISTINCT FROM OLD."definition"
        OR NEW."hash" IS DISTINCT FROM OLD."hash" OR NEW."published_at" IS DISTINCT FROM OLD."published_at" THEN
        RAISE EXCEPTION 'published process versions are immutable: only deployment can change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER "process_versions_immutable"
    BEFORE UPDATE OR DELETE ON "process_versions"
    FOR EACH ROW EXECUTE FUNCTION "process_versions_refuse_change"();

-- CreateTable
-- The outbox: commands, event deliveries to process instances and messages for external systems,
-- written in the transaction that caused them and deleted in the transaction that handled them.
-- Rows of one stream_key are handled one at a time in id order; a parked row holds back the rest.
CREATE TABLE "runtime_outbox" (
    "id" BIGSERIAL NOT NULL,
    "message_id" TEXT NOT NULL,
    "stream_key" TEXT NOT NULL,
    -- command: to an aggregate or an external system; event: to a process instance; external: an event for an external system.
    "kind" TEXT NOT NULL,
    "board_id" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    "context_id" TEXT,
    "instance_id" TEXT,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "metadata" JSONB NOT NULL,
    "retry" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "available_at" TIMESTAMPTZ(3) NOT NULL,
    "claimed_until" TIMESTAMPTZ(3),
    "claim_token" TEXT,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "parked_at" TIMESTAMPTZ(3),

    CONSTRAINT "runtime_outbox_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "runtime_outbox_kind_check" CHECK ("kind" IN ('command', 'event', 'external')),
    CONSTRAINT "runtime_outbox_status_check" CHECK ("status" IN ('pending', 'parked'))
);

-- CreateIndex
CREATE INDEX "runtime_outbox_stream_key_id_idx" ON "runtime_outbox"("stream_key", "id");
CREATE INDEX "runtime_outbox_pending_idx" ON "runtime_outbox"("id") WHERE "status" = 'pending';
CREATE INDEX "runtime_outbox_available_at_idx" ON "runtime_outbox"("available_at") WHERE "status" = 'pending';
CREATE INDEX "runtime_outbox_instance_id_idx" ON "runtime_outbox"("instance_id") WHERE "instance_id" IS NOT NULL;
CREATE INDEX "runtime_outbox_parked_idx" ON "runtime_outbox"("board_id", "parked_at") WHERE "status" = 'parked';
CREATE INDEX "runtime_outbox_message_id_idx" ON "runtime_outbox"("message_id");

-- CreateTable
-- Messages each consumer has handled, so a message delivered again has no second effect.
CREATE TABLE "runtime_inbox" (
    "consumer" TEXT NOT NULL,
    "message_id" TEXT NOT NULL,
    -- What handling decided (accepted with its events, rejected with its reason), when it decides something.
    "outcome" JSONB,
    "handled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),

    CONSTRAINT "runtime_inbox_pkey" PRIMARY KEY ("consumer", "message_id")
);

-- CreateIndex
CREATE INDEX "runtime_inbox_message_id_idx" ON "runtime_inbox"("message_id");

-- CreateTable
-- One row per process instance, kept in step with its stream in the same transaction; for
-- listing and filtering (the stream is the truth).
CREATE TABLE "runtime_instances" (
    -- Also the id of the instance's event-store stream.
    "id" TEXT NOT NULL,
    "board_id" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "process_id" TEXT NOT NULL,
    "correlation_key" TEXT NOT NULL,
    "correlation_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "last_activity_at" TIMESTAMPTZ(3) NOT NULL,
    "stuck_after_ms" INTEGER NOT NULL,
    "stream_version" BIGINT NOT NULL,

    CONSTRAINT "runtime_instances_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "runtime_instances_status_check" CHECK ("status" IN ('running', 'completed', 'failed', 'compensating', 'compensated'))
);

-- CreateIndex
CREATE UNIQUE INDEX "runtime_instances_version_id_process_id_correlation_key_key" ON "runtime_instances"("version_id", "process_id", "correlation_key");
CREATE INDEX "runtime_instances_board_id_started_at_idx" ON "runtime_instances"("board_id", "started_at");
CREATE INDEX "runtime_instances_status_last_activity_at_idx" ON "runtime_instances"("status", "last_activity_at");
CREATE INDEX "runtime_instances_correlation_key_idx" ON "runtime_instances"("correlation_key");
CREATE INDEX "runtime_instances_correlation_id_idx" ON "runtime_instances"("correlation_id");

-- CreateTable
-- Deadlines and timers of process instances; they survive restarts and fire through the outbox.
CREATE TABLE "runtime_timers" (
    "id" TEXT NOT NULL,
    "board_id" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "process_id" TEXT NOT NULL,
    "instance_id" TEXT NOT NULL,
    "context_id" TEXT,
    -- deadline: a step's; timer: a timer element that triggers steps.
    "kind" TEXT NOT NULL,
    "step_id" TEXT,
    "timer_element_id" TEXT,
    "fire_at" TIMESTAMPTZ(3) NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'scheduled',
    "metadata" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "settled_at" TIMESTAMPTZ(3),

    CONSTRAINT "runtime_timers_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "runtime_timers_kind_check" CHECK ("kind" IN ('deadline', 'timer')),
    CONSTRAINT "runtime_timers_status_check" CHECK ("status" IN ('scheduled', 'fired', 'cancelled'))
);

-- CreateIndex
CREATE INDEX "runtime_timers_due_idx" ON "runtime_timers"("fire_at") WHERE "status" = 'scheduled';
CREATE INDEX "runtime_timers_instance_id_idx" ON "runtime_timers"("instance_id");

-- CreateTable
-- Design-time faults and bindings per bounded context of a board; stored so every worker sees them.
CREATE TABLE "runtime_context_settings" (
    "board_id" TEXT NOT NULL,
    "context_id" TEXT NOT NULL,
    "down" BOOLEAN NOT NULL DEFAULT false,
    "latency_ms" INTEGER NOT NULL DEFAULT 0,
    "failure_rate" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "duplicate_deliveries" INTEGER NOT NULL DEFAULT 0,
    -- When set, the context's commands are POSTed there as CloudEvents instead of handled here.
    "webhook_url" TEXT,
    "webhook_secret" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),

    CONSTRAINT "runtime_context_settings_pkey" PRIMARY KEY ("board_id", "context_id"),
    CONSTRAINT "runtime_context_settings_latency_check" CHECK ("latency_ms" BETWEEN 0 AND 60000),
    CONSTRAINT "runtime_context_settings_failure_rate_check" CHECK ("failure_rate" BETWEEN 0 AND 1),
    CONSTRAINT "runtime_context_settings_duplicates_check" CHECK ("duplicate_deliveries" BETWEEN 0 AND 4)
);

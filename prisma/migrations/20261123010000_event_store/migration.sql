-- Event store: the immutable event log, per-stream versions, snapshots and projection read models.
-- Hand-written (xid8 columns, triggers and a PL/pgSQL function are beyond what Prisma generates);
-- runs unchanged on PGlite 0.5.16 and PostgreSQL 15.

-- CreateTable
CREATE TABLE "event_streams" (
    "stream_id" TEXT NOT NULL,
    "version" BIGINT NOT NULL,
    -- The ordering transaction id of the stream's newest events (see "events"."transaction_id").
    "last_transaction_id" XID8 NOT NULL,

    CONSTRAINT "event_streams_pkey" PRIMARY KEY ("stream_id")
);

-- CreateTable
CREATE TABLE "events" (
    "position" BIGSERIAL NOT NULL,
    "stream_id" TEXT NOT NULL,
    "stream_version" BIGINT NOT NULL,
    "type" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "metadata" JSONB NOT NULL,
    "message_id" TEXT NOT NULL,
    -- The writing transaction's id, raised to the stream's previous value when that is higher, so
    -- it is never below the writer's own id (readers' xmin horizon holds uncommitted rows back) and
    -- a stream's events stay in version order when the log is read in (transaction_id, position).
    "transaction_id" XID8 NOT NULL DEFAULT pg_current_xact_id(),

    CONSTRAINT "events_pkey" PRIMARY KEY ("position")
);

-- CreateIndex
CREATE UNIQUE INDEX "events_stream_id_stream_version_key" ON "events"("stream_id", "stream_version");
CREATE UNIQUE INDEX "events_message_id_key" ON "events"("message_id");
CREATE INDEX "events_transaction_id_position_idx" ON "events"("transaction_id", "position");
CREATE INDEX "events_type_transaction_id_position_idx" ON "events"("type", "transaction_id", "position");
CREATE INDEX "events_context_idx" ON "events"(("metadata" ->> 'context'), "transaction_id", "position");
CREATE INDEX "events_correlation_id_idx" ON "events"(("metadata" ->> 'correlationId'), "transaction_id", "position");

-- Events are immutable: mistakes are corrected by later compensating events, never by edits.
CREATE FUNCTION "events_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % refused on "events"', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER "events_immutable"
    BEFORE UPDATE OR DELETE ON "events"
    FOR EACH ROW EXECUTE FUNCTION "events_refuse_change"();

CREATE TRIGGER "events_immutable_truncate"
    BEFORE TRUNCATE ON "events"
    FOR EACH STATEMENT EXECUTE FUNCTION "events_refuse_change"();

-- Appends a batch of appends (each: one stream, an expected version, its slice of the event
-- arrays) in one statement. A rejected append writes nothing and does not fail the others.
-- p_expected: -1 any, 0 no stream yet, n the stream's current version.
-- Outcomes: 'ok' and 'duplicate' (one row per event), 'conflict' (r_version = actual version),
-- 'idempotency_conflict' (the first message id is stored, but not the whole batch on this stream).
CREATE FUNCTION "eventstore_append"(
    p_stream_ids TEXT[],
    p_expected BIGINT[],
    p_counts INT[],
    p_message_ids TEXT[],
    p_types TEXT[],
    p_data JSONB[],
    p_metadata JSONB[]
) RETURNS TABLE ("r_append" INT, "r_outcome" TEXT, "r_version" BIGINT, "r_position" BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_xid XID8 := pg_current_xact_id();
    v_start INT := 1;
    v_end INT;
    v_count INT;
    v_stream TEXT;
    v_base BIGINT;
    v_order XID8;
    v_known INT;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_stream_ids), 0) LOOP
        v_stream := p_stream_ids[i];
        v_count := p_counts[i];
        v_end := v_start + v_count - 1;
        v_base := NULL;

        IF EXISTS (SELECT 1 FROM "events" e WHERE e."message_id" = p_message_ids[v_start]) THEN
            SELECT count(*) INTO v_known
            FROM unnest(p_message_ids[v_start:v_end]) AS ids(id)
            JOIN "events" e ON e."message_id" = ids.id AND e."stream_id" = v_stream;
            IF v_known = v_count THEN
                RETURN QUERY
                SELECT i, 'duplicate'::TEXT, e."stream_version", e."position"
                FROM unnest(p_message_ids[v_start:v_end]) WITH ORDINALITY AS ids(id, ord)
                JOIN "events" e ON e."message_id" = ids.id
                ORDER BY ids.ord;
            ELSE
                RETURN QUERY SELECT i, 'idempotency_conflict'::TEXT, NULL::BIGINT, NULL::BIGINT;
            END IF;
        ELSE
            IF p_expected[i] = -1 THEN
                INSERT INTO "event_streams" AS s ("stream_id", "version", "last_transaction_id")
                VALUES (v_stream, v_count, v_xid)
                ON CONFLICT ("stream_id") DO UPDATE
                    SET "version" = s."version" + v_count,
                        "last_transaction_id" = greatest(s."last_transaction_id", v_xid)
                RETURNING s."version" - v_count, s."last_transaction_id" INTO v_base, v_order;
            ELSIF p_expected[i] = 0 THEN
                INSERT INTO "event_streams" AS s ("stream_id", "version", "last_transaction_id")
                VALUES (v_stream, v_count, v_xid)
                ON CONFLICT ("stream_id") DO NOTHING
                RETURNING 0, s."last_transaction_id" INTO v_base, v_order;
            ELSE
                UPDATE "event_streams" AS s
                SET "version" = s."version" + v_count,
                    "last_transaction_id" = greatest(s."last_transaction_id", v_xid)
                WHERE s."stream_id" = v_stream AND s."version" = p_expected[i]
                RETURNING s."version" - v_count, s."last_transaction_id" INTO v_base, v_order;
            END IF;

            IF v_base IS NULL THEN
                RETURN QUERY
                SELECT i, 'conflict'::TEXT,
                    coalesce((SELECT s."version" FROM "event_streams" s WHERE s."stream_id" = v_stream), 0::BIGINT),
                    NULL::BIGINT;
            ELSE
                RETURN QUERY
                WITH inserted AS (
                    INSERT INTO "events" ("stream_id", "stream_version", "type", "data", "metadata", "message_id", "transaction_id")
                    SELECT v_stream, v_base + ev.ord, ev.type, ev.data, ev.metadata, ev.message_id, v_order
                    FROM unnest(p_message_ids[v_start:v_end], p_types[v_start:v_end], p_data[v_start:v_end], p_metadata[v_start:v_end])
                        WITH ORDINALITY AS ev(message_id, type, data, metadata, ord)
                    ORDER BY ev.ord
                    RETURNING "events"."stream_version", "events"."position"
                )
                SELECT i, 'ok'::TEXT, inserted."stream_version", inserted."position" FROM inserted;
            END IF;
        END IF;
        v_start := v_end + 1;
    END LOOP;
END;
$$;

-- CreateTable
CREATE TABLE "snapshots" (
    "stream_id" TEXT NOT NULL,
    -- Which fold produced the state; a changed fold uses a new name and ignores old snapshots.
    "name" TEXT NOT NULL,
    "version" BIGINT NOT NULL,
    "state" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "snapshots_pkey" PRIMARY KEY ("stream_id", "name")
);

-- CreateTable
CREATE TABLE "projections" (
    "name" TEXT NOT NULL,
    -- The read_model_rows view that serves queries; a rebuild fills another and swaps it in.
    "view" TEXT NOT NULL,
    "generation" INTEGER NOT NULL DEFAULT 1,
    "event_types" TEXT[] NOT NULL,
    "checkpoint" BIGINT NOT NULL DEFAULT 0,
    "processed" BIGINT NOT NULL DEFAULT 0,
    "rebuild_status" TEXT,
    "rebuild_view" TEXT,
    "rebuild_checkpoint" BIGINT,
    "rebuild_processed" BIGINT,
    "rebuild_total" BIGINT,
    "rebuild_error" TEXT,
    "rebuild_started_at" TIMESTAMPTZ(3),
    "rebuild_finished_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "projections_pkey" PRIMARY KEY ("name"),
    CONSTRAINT "projections_rebuild_status_check" CHECK ("rebuild_status" IN ('running', 'done', 'failed'))
);

-- CreateTable
CREATE TABLE "read_model_rows" (
    "view" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "updated_position" BIGINT NOT NULL,

    CONSTRAINT "read_model_rows_pkey" PRIMARY KEY ("view", "key")
);

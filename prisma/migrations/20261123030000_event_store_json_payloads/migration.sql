-- eventstore_append takes the events' data and metadata as two JSON arrays instead of arrays of
-- jsonb: converting text[] to jsonb[] parses element by element and cost more than the insert.
-- Same contract otherwise (see 20261123010000_event_store and 20261123020000_event_store_set_based_append).
DROP FUNCTION "eventstore_append"(TEXT[], BIGINT[], INT[], TEXT[], TEXT[], JSONB[], JSONB[]);

CREATE FUNCTION "eventstore_append"(
    p_stream_ids TEXT[],
    p_expected BIGINT[],
    p_counts INT[],
    p_message_ids TEXT[],
    p_types TEXT[],
    p_data JSONB,
    p_metadata JSONB
) RETURNS TABLE ("r_append" INT, "r_outcome" TEXT, "r_version" BIGINT, "r_position" BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_xid XID8 := pg_current_xact_id();
    v_appends INT := coalesce(cardinality(p_stream_ids), 0);
    v_firsts TEXT[] := '{}';
    v_known TEXT[];
    v_start INT := 1;
    v_end INT;
    v_stream TEXT;
    v_base BIGINT;
    v_order XID8;
    v_matched INT;
    -- Accepted appends, and for every event the accepted slot it belongs to (0: not written).
    v_slot_append INT[] := '{}';
    v_slot_start INT[] := '{}';
    v_slot_base BIGINT[] := '{}';
    v_slot_order XID8[] := '{}';
    v_event_slot INT[] := '{}';
BEGIN
    FOR i IN 1 .. v_appends LOOP
        v_firsts := v_firsts || p_message_ids[v_start];
        v_start := v_start + p_counts[i];
    END LOOP;
    -- A stored first message id marks a retried append.
    SELECT coalesce(array_agg(e."message_id"), '{}') INTO v_known FROM "events" e WHERE e."message_id" = ANY (v_firsts);

    v_start := 1;
    FOR i IN 1 .. v_appends LOOP
        v_stream := p_stream_ids[i];
        v_end := v_start + p_counts[i] - 1;
        v_base := NULL;

        IF p_message_ids[v_start] = ANY (v_known) THEN
            SELECT count(*) INTO v_matched
            FROM unnest(p_message_ids[v_start:v_end]) AS ids(id)
            JOIN "events" e ON e."message_id" = ids.id AND e."stream_id" = v_stream;
            IF v_matched = p_counts[i] THEN
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
                VALUES (v_stream, p_counts[i], v_xid)
                ON CONFLICT ("stream_id") DO UPDATE
                    SET "version" = s."version" + p_counts[i],
                        "last_transaction_id" = greatest(s."last_transaction_id", v_xid)
                RETURNING s."version" - p_counts[i], s."last_transaction_id" INTO v_base, v_order;
            ELSIF p_expected[i] = 0 THEN
                INSERT INTO "event_streams" AS s ("stream_id", "version", "last_transaction_id")
                VALUES (v_stream, p_counts[i], v_xid)
                ON CONFLICT ("stream_id") DO NOTHING
                RETURNING 0, s."last_transaction_id" INTO v_base, v_order;
            ELSE
                UPDATE "event_streams" AS s
                SET "version" = s."version" + p_counts[i],
                    "last_transaction_id" = greatest(s."last_transaction_id", v_xid)
                WHERE s."stream_id" = v_stream AND s."version" = p_expected[i]
                RETURNING s."version" - p_counts[i], s."last_transaction_id" INTO v_base, v_order;
            END IF;

            IF v_base IS NULL THEN
                RETURN QUERY
                SELECT i, 'conflict'::TEXT,
                    coalesce((SELECT s."version" FROM "event_streams" s WHERE s."stream_id" = v_stream), 0::BIGINT),
                    NULL::BIGINT;
            ELSE
                v_slot_append := v_slot_append || i;
                v_slot_start := v_slot_start || v_start;
                v_slot_base := v_slot_base || v_base;
                v_slot_order := v_slot_order || v_order;
                v_event_slot := v_event_slot || array_fill(cardinality(v_slot_append), ARRAY[p_counts[i]]);
                v_start := v_end + 1;
                CONTINUE;
            END IF;
        END IF;
        v_event_slot := v_event_slot || array_fill(0, ARRAY[p_counts[i]]);
        v_start := v_end + 1;
    END LOOP;

    IF cardinality(v_slot_append) > 0 THEN
        RETURN QUERY
        WITH slots AS (
            SELECT s.slot, s.append_index, s.first_event, s.base, s.order_xid,
                p_stream_ids[s.append_index] AS stream_id, p_counts[s.append_index] AS n
            FROM unnest(v_slot_append, v_slot_start, v_slot_base, v_slot_order) WITH ORDINALITY
                AS s(append_index, first_event, base, order_xid, slot)
        ), inserted AS (
            INSERT INTO "events" ("stream_id", "stream_version", "type", "data", "metadata", "message_id", "transaction_id")
            SELECT s.stream_id, s.base + (ev.ord - s.first_event + 1), ev.type, ev.data, ev.metadata, ev.message_id, s.order_xid
            FROM ROWS FROM (unnest(p_message_ids), unnest(p_types), jsonb_array_elements(p_data), jsonb_array_elements(p_metadata), unnest(v_event_slot))
                WITH ORDINALITY AS ev(message_id, type, data, metadata, slot, ord)
            JOIN slots s ON s.slot = ev.slot
            ORDER BY ev.ord
            RETURNING "events"."stream_id", "events"."stream_version", "events"."position"
        )
        SELECT s.append_index, 'ok'::TEXT, ins."stream_version", ins."position"
        FROM inserted ins
        JOIN slots s ON s.stream_id = ins."stream_id" AND ins."stream_version" > s.base AND ins."stream_version" <= s.base + s.n
        ORDER BY s.append_index, ins."stream_version";
    END IF;
END;
$$;

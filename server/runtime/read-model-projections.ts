/**
 * The read models of deployed definitions, projected into views the Views panel lists: one
 * Projector per read model of every deployed version, named `${boardId}.${readModelName}`, whose
 * handlers evaluate the definition's key and `set` mappings (`projection` input: event, view,
 * meta). Projectors follow deployment: started when a version is deployed, stopped when it is
 * undeployed. A new version of a board takes the view over where the previous one left it.
 */
import type { SqlQueryable } from "../db/sql.ts";
import type { ReadModelDefinition } from "../definition/v1.ts";
import { DELETE_ROW, Projector, projectorsOf, type EventStore, type ProjectionHandler, type RecordedEvent } from "../eventstore/index.ts";
import { applyMapping, evaluateKey, ExpressionFailure } from "./core/expressions.ts";
import type { MessageMeta, Payload } from "./core/types.ts";
import { onInspection } from "./inspection.ts";
import { VersionCache, type LoadedVersion } from "./versions.ts";

type Row = Record<string, unknown>;

const NAME_UNSAFE = /[^A-Za-z0-9_.:-]/g;

/** The projection (and view) name of a board's read model; names must fit the event store's pattern. */
export function readModelProjectionName(boardId: string, readModelName: string): string {
  return `${boardId}.${readModelName}`.replace(NAME_UNSAFE, "_").slice(0, 200);
}

function metaOf(event: RecordedEvent): MessageMeta {
  const metadata = event.metadata;
  return {
    messageId: metadata.messageId,
    messageName: event.type,
    correlationId: metadata.correlationId ?? metadata.messageId,
    causationId: metadata.causationId ?? metadata.messageId,
    occurredAt: typeof metadata.occurredAt === "string" ? metadata.occurredAt : metadata.recordedAt,
    version: event.streamVersion,
  };
}

/** A row the definition's expressions cannot place or fill is left out, reported, and the view goes on. */
export type ReadModelErrorListener = (error: ExpressionFailure, event: RecordedEvent) => void;

/**
 * Handlers for one read model. Event names are shared by every board, so events recorded under
 * another board are not this view's business. Where several updates name the same event, the
 * first is applied (a row key per event).
 */
export function readModelHandlers(boardId: string, readModel: ReadModelDefinition, onError: ReadModelErrorListener = () => {}): Record<string, ProjectionHandler<Row>> {
  const initialRow: Row = {};
  for (const field of readModel.fields) if (field.initial !== null && field.initial !== undefined) initialRow[field.name] = field.initial;

  const handlers: Record<string, ProjectionHandler<Row>> = {};
  for (const update of readModel.updates) {
    if (handlers[update.event.name]) continue;
    const where = `${readModel.name} on ${update.event.name}`;
    handlers[update.event.name] = {
      async key(event) {
        if (event.metadata.definitionId !== boardId) return null;
        try {
          return await evaluateKey(update.key, { event: event.data, meta: metaOf(event) }, `${where}, key`);
        } catch (error) {
          if (!(error instanceof ExpressionFailure)) throw error;
          onError(error, event);
          return null;
        }
      },
      async apply(view, event) {
        if (update.remove) return DELETE_ROW;
        const current = view ?? initialRow;
        try {
          const changes: Payload = await applyMapping(update.set, { event: event.data, view, meta: metaOf(event) }, where);
          return { ...current, ...changes };
        } catch (error) {
          if (!(error instanceof ExpressionFailure)) throw error;
          onError(error, event);
          return view ?? DELETE_ROW;
        }
      },
    };
  }
  return handlers;
}

export interface ReadModelProjectionsOptions {
  /** How often deployed versions are read again (deploys in other processes); default 2000 ms. */
  pollIntervalMs?: number;
  /** Poll interval of each projector while it waits for events. */
  projectorPollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

interface Running {
  versionId: string;
  projector: Projector<Row>;
}

/** Keeps one projector per read model of every deployed version running in this process. */
export class ReadModelProjections {
  private readonly versions: VersionCache;
  private readonly running = new Map<string, Running>();
  private syncing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly store: EventStore,
    private readonly options: ReadModelProjectionsOptions = {},
  ) {
    this.versions = new VersionCache(store.sql);
  }

  /** Starts the projectors of what is deployed now, then follows deploys and undeploys. */
  start(): this {
    this.stopListening = onInspection((event) => {
      if (event.kind === "version.deployed" || event.kind === "version.undeployed") void this.sync();
    });
    const poll = () => {
      this.timer = setTimeout(() => void this.sync().finally(() => !this.closed && poll()), this.options.pollIntervalMs ?? 2_000);
      this.timer.unref?.();
    };
    void this.sync().finally(() => !this.closed && poll());
    return this;
  }

  /** Projection names running in this process. */
  get projectionNames(): string[] {
    return [...this.running.keys()].sort();
  }

  /** Brings the running projectors in line with the deployed versions; calls run one after another. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.syncOnce()).catch((error: unknown) => this.options.onError?.(error));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.closed) return;
    const wanted = new Map<string, { version: LoadedVersion; readModel: ReadModelDefinition }>();
    for (const version of await deployedVersions(this.store.sql, this.versions)) {
      for (const readModel of version.definition.readModels) {
        if (readModel.updates.length === 0) continue;
        wanted.set(readModelProjectionName(version.boardId, readModel.name), { version, readModel });
      }
    }
    for (const [name, running] of [...this.running]) {
      if (wanted.get(name)?.version.id !== running.versionId) await this.stopProjector(name, running);
    }
    for (const [name, { version, readModel }] of wanted) {
      if (this.running.has(name) || this.closed) continue;
      const projector = new Projector<Row>(
        this.store,
        {
          name,
          handlers: readModelHandlers(version.boardId, readModel, (error, event) =>
            this.options.onError?.(new Error(`read model ${name}, event at position ${event.position}: ${error.message}`, { cause: error })),
          ),
        },
        {
          ...(this.options.projectorPollIntervalMs ? { pollIntervalMs: this.options.projectorPollIntervalMs } : {}),
          onRetry: (error) => this.options.onError?.(error),
        },
      );
      this.running.set(name, { versionId: version.id, projector });
      projector.start();
    }
  }

  private async stopProjector(name: string, running: Running): Promise<void> {
    this.running.delete(name);
    await running.projector.stop();
    const registry = projectorsOf(this.store.sql);
    // The API starts rebuilds through this registry; an undeployed read model is not rebuilt here.
    if (registry.get(name) === running.projector) registry.delete(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening?.();
    clearTimeout(this.timer);
    await this.syncing;
    await Promise.all([...this.running].map(([name, running]) => this.stopProjector(name, running)));
  }
}

async function deployedVersions(sql: SqlQueryable, versions: VersionCache): Promise<LoadedVersion[]> {
  const { rows } = await sql.query<{ id: string }>(`SELECT id FROM process_versions WHERE deployed ORDER BY id`);
  return Promise.all(rows.map((row) => versions.get(row.id)));
}

/** Starts the read-model projectors next to a runtime worker; returns how to stop them. */
export function startReadModelProjections(store: EventStore, options: ReadModelProjectionsOptions = {}): ReadModelProjections {
  return new ReadModelProjections(store, options).start();
}

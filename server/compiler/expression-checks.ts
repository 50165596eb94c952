/** Checks every expression on the board: syntax, the fields it reads, the types it writes. */
import type { BoardNodeOf } from "../board/document.ts";
import {
  assignmentProblem,
  expressionFacts,
  inferShape,
  nondeterministicFunctions,
  resolveReference,
  shapeOfFields,
  shapeOfPayload,
  VIEW_FUNCTION,
  type FieldReference,
  type ValueShape,
  type ViewRead,
} from "../definition/expression-analysis.ts";
import { parseExpression, type CompiledExpression } from "../definition/expressions.ts";
import { expressionInputs, metaFields, type ExpressionInput } from "../definition/v1.ts";
import type { BoardIndex } from "./board-index.ts";
import { diagnostic, type Diagnostic, type DiagnosticCode } from "./diagnostics.ts";

/** One possible input object: a policy triggered by two events is checked against each. */
export interface InputVariant {
  label: string;
  env: Record<string, ValueShape>;
}

export interface ExpressionSite {
  nodeId: string;
  field: string;
  input: ExpressionInput;
  variants: readonly InputVariant[];
}

export interface MappingTarget {
  shape: ValueShape;
  /** What is being filled, for messages: "command AssessRisk", "state of Risk". */
  label: string;
  /** Required fields that must be mapped; null when a partial mapping is normal (state, views). */
  required: readonly string[] | null;
}

const whereInput: Record<ExpressionInput, string> = {
  policy: "policies",
  aggregateId: "aggregate ids",
  decision: "aggregate rules",
  evolution: "state evolutions",
  projection: "read model updates",
  inbound: "inbound mappings",
  outboundEvent: "outbound mappings",
  outboundCommand: "outbound mappings",
};

function fieldShape(type: "string" | "integer" | "date-time" | "object"): ValueShape {
  if (type === "date-time") return { kind: "string", format: "date-time" };
  if (type === "object") return { kind: "object", fields: {}, closed: false };
  return { kind: type };
}

export class ExpressionChecker {
  readonly metaShape: ValueShape;
  private processShapeCache: ValueShape | undefined;
  private readonly payloadShapes = new Map<string, ValueShape>();

  constructor(
    private readonly index: BoardIndex,
    private readonly diagnostics: Diagnostic[],
  ) {
    const fields: Record<string, ValueShape> = {};
    for (const [name, type] of Object.entries(metaFields)) fields[name] = fieldShape(type);
    this.metaShape = { kind: "object", fields, closed: true, label: "meta" };
  }

  /** The process instance: its latest payload of every event on the board, by name. */
  get processShape(): ValueShape {
    if (!this.processShapeCache) {
      const events: Record<string, ValueShape> = {};
      for (const event of this.index.nodes.event) events[event.data.name] = this.payloadShape(event);
      this.processShapeCache = {
        kind: "object",
        closed: true,
        label: "process",
        fields: {
          instanceId: { kind: "string" },
          correlationKey: { kind: "string" },
          startedAt: { kind: "string", format: "date-time" },
          events: { kind: "object", fields: events, closed: true, label: "process.events" },
        },
      };
    }
    return this.processShapeCache;
  }

  payloadShape(message: BoardNodeOf<"command"> | BoardNodeOf<"event">): ValueShape {
    let shape = this.payloadShapes.get(message.id);
    if (!shape) {
      shape = shapeOfPayload(message.data.schema, `${message.type} ${message.data.name}`);
      this.payloadShapes.set(message.id, shape);
    }
    return shape;
  }

  /** An input whose message has no known shape (an external message body, a policy with no trigger). */
  static readonly anything: ValueShape = { kind: "object", fields: {}, closed: false };

  /**
   * Checks one expression and returns it parsed, or undefined when it is empty or invalid.
   * missingFieldCode: the code for a field the input lacks (SB033 for correlation keys).
   */
  check(
    site: ExpressionSite,
    source: string | undefined,
    options: { required: boolean; missingFieldCode?: DiagnosticCode; what?: string },
  ): CompiledExpression | undefined {
    const subject = { nodeId: site.nodeId, field: site.field };
    const text = source?.trim() ?? "";
    if (text === "") {
      if (options.required) {
        this.diagnostics.push(diagnostic("SB051", subject, `${options.what ?? site.field} needs an expression.`, `Write a JSONata expression over ${expressionInputs[site.input].description}.`));
      }
      return undefined;
    }
    const parsed = parseExpression(text);
    if (!parsed.ok) {
      this.diagnostics.push(
        diagnostic("SB050", { ...subject, position: parsed.position }, `"${text}" is not valid JSONata: ${parsed.error} (${parsed.code}, at ${parsed.position}).`, "Fix the expression; the position counts characters from 0."),
      );
      return undefined;
    }
    const facts = expressionFacts(parsed.compiled.ast);
    if (site.input === "evolution" || site.input === "projection") {
      const impure = [...new Set(facts.calls.filter((name) => nondeterministicFunctions.has(name)))];
      if (impure.length > 0) {
        this.diagnostics.push(
          diagnostic(
            "SB052",
            subject,
            `"${text}" calls ${impure.map((name) => `$${name}()`).join(", ")}; replaying the events would give a different ${site.input === "evolution" ? "state" : "view"}.`,
            site.input === "evolution"
              ? "Decide the value when the event is emitted (e.g. a timestamp field of the event) and read it from the event."
              : "Read the time from meta.occurredAt or from a field of the event.",
          ),
        );
      }
    }
    this.checkReferences(site, text, facts.references, options.missingFieldCode ?? "SB043");
    this.checkViewReads(site, text, facts.viewReads);
    return parsed.compiled;
  }

  /**
   * `$view(name, key)` exists only in aggregate rules, and reads only read models of the
   * aggregate's own context: other contexts' state reaches it as events it projects itself.
   */
  private checkViewReads(site: ExpressionSite, text: string, reads: readonly ViewRead[]): void {
    const reported = new Set<string>();
    const report = (position: number, message: string, hint: string) => {
      if (reported.has(`${position}\u0000${message}`)) return;
      reported.add(`${position}\u0000${message}`);
      this.diagnostics.push(diagnostic("SB085", { nodeId: site.nodeId, field: site.field, position }, message, hint));
    };
    const aggregate = site.input === "decision" ? this.index.node(site.nodeId, "aggregate") : undefined;
    const context = aggregate ? this.index.ownContext(aggregate) : undefined;
    const contextName = context?.data.name ?? "no context";
    for (const read of reads) {
      if (!aggregate) {
        report(
          read.position,
          `"${text}" calls $${VIEW_FUNCTION}(), which only aggregate rules can use; ${whereInput[site.input]} see nothing but ${expressionInputs[site.input].description}.`,
          "Read views where a context decides: in a rule condition or an emitted event of one of its aggregates.",
        );
        continue;
      }
      const own = this.index.nodes.readModel.filter((readModel) => this.index.ownContext(readModel)?.id === context?.id);
      const ownNames = own.map((readModel) => readModel.data.name);
      const ownList = ownNames.length > 0 ? `Read models of ${contextName}: ${ownNames.join(", ")}.` : `${contextName} has no read models yet.`;
      if (read.readModel === null) {
        report(
          read.position,
          `"${text}" calls $${VIEW_FUNCTION}() with a computed name, so it cannot be checked that ${aggregate.data.name} reads a view of its own context.`,
          `Name the read model with a string literal, e.g. $${VIEW_FUNCTION}('${ownNames[0] ?? "StockLevels"}', command.sku). ${ownList}`,
        );
        continue;
      }
      const readModel = own.find((candidate) => candidate.data.name === read.readModel);
      if (readModel) {
        this.checkRowPath(site, text, readModel, read);
        continue;
      }
      const foreign = this.index.nodes.readModel.find((readModel) => readModel.data.name === read.readModel);
      if (!foreign) {
        report(read.position, `"${text}" reads the view "${read.readModel}", but there is no read model of that name.`, `${ownList} A context reads only its own views.`);
        continue;
      }
      const owner = this.index.ownContext(foreign)?.data.name ?? "no context";
      report(
        read.position,
        `"${text}" reads ${read.readModel}, a view of ${owner}, but ${aggregate.data.name} belongs to ${contextName}.`,
        `A context reads only its own views; subscribe a view in ${contextName} to ${owner}'s events.`,
      );
    }
  }

  /** The fields read from a row, as in `$view('StockLevels', sku).onHand`, exist in the read model. */
  private checkRowPath(site: ExpressionSite, text: string, readModel: BoardNodeOf<"readModel">, read: ViewRead): void {
    if (read.path.length === 0) return;
    const name = readModel.data.name;
    const resolution = resolveReference({ [name]: shapeOfFields(readModel.data.fields, name) }, { root: name, path: read.path, position: read.pathPosition });
    if (resolution.ok) return;
    this.diagnostics.push(
      diagnostic(
        "SB043",
        { nodeId: site.nodeId, field: site.field, position: read.pathPosition },
        `"${text}" reads "${resolution.missing}", but ${resolution.owner} has no such field.`,
        resolution.known.length > 0 ? `Fields of ${resolution.owner}: ${resolution.known.join(", ")}.` : `${resolution.owner} has no fields; add "${resolution.missing}" to it.`,
      ),
    );
  }

  private checkReferences(site: ExpressionSite, text: string, references: readonly FieldReference[], missingFieldCode: DiagnosticCode): void {
    if (references.length === 0) return;
    const reported = new Set<string>();
    for (const variant of site.variants) {
      for (const reference of references) {
        const resolution = resolveReference(variant.env, reference);
        if (resolution.ok) continue;
        const isRoot = resolution.missing === reference.root && resolution.owner === "the input";
        const message = isRoot
          ? `"${text}" reads "${reference.root}", which ${whereInput[site.input]} do not see (they see ${Object.keys(variant.env).join(", ")}).`
          : `"${text}" reads "${resolution.missing}", but ${resolution.owner} has no such field.`;
        if (reported.has(message)) continue;
        reported.add(message);
        const hint = isRoot
          ? `Start the path with one of: ${Object.keys(variant.env).join(", ")}.`
          : resolution.known.length > 0
            ? `Fields of ${resolution.owner}: ${resolution.known.join(", ")}. Add "${resolution.missing}" to its schema or read another field.`
            : `${resolution.owner} has no fields; add "${resolution.missing}" to its schema.`;
        this.diagnostics.push(diagnostic(isRoot ? "SB043" : missingFieldCode, { nodeId: site.nodeId, field: site.field, position: reference.position }, message, hint));
      }
    }
  }

  /** Checks a field → expression mapping against the shape it fills. */
  checkMapping(site: ExpressionSite, mapping: Readonly<Record<string, string>>, target: MappingTarget): void {
    const targetFields = target.shape.kind === "object" ? target.shape : undefined;
    for (const [field, source] of Object.entries(mapping)) {
      const fieldSite = { ...site, field: `${site.field}.${field}` };
      const subject = { nodeId: site.nodeId, field: fieldSite.field };
      const fieldTarget = targetFields?.fields[field];
      if (targetFields?.closed && !fieldTarget) {
        const known = Object.keys(targetFields.fields);
        this.diagnostics.push(
          diagnostic(
            "SB040",
            subject,
            `The mapping fills "${field}", but ${target.label} has no such field.`,
            known.length > 0 ? `Fields of ${target.label}: ${known.join(", ")}.` : `${target.label} has no fields; add "${field}" to it or remove the line.`,
          ),
        );
      }
      const compiled = this.check(fieldSite, source, { required: true, what: `The mapping of "${field}"` });
      if (!compiled || !fieldTarget) continue;
      const reported = new Set<string>();
      for (const variant of site.variants) {
        const problem = assignmentProblem(fieldTarget, inferShape(compiled.ast, variant.env));
        if (!problem) continue;
        const message = `${target.label}.${field} ${problem} from "${source.trim()}"${site.variants.length > 1 ? ` (with ${variant.label})` : ""}.`;
        if (reported.has(message)) continue;
        reported.add(message);
        this.diagnostics.push(diagnostic("SB041", subject, message, `Convert the value (e.g. $string(), $number()) or map another field.`));
      }
    }
    for (const field of target.required ?? []) {
      if (mapping[field] !== undefined) continue;
      this.diagnostics.push(
        diagnostic("SB042", { nodeId: site.nodeId, field: site.field }, `The mapping does not fill "${field}", which ${target.label} requires.`, `Add a line for "${field}".`),
      );
    }
  }

  variantsForMessages(
    messages: readonly (BoardNodeOf<"command"> | BoardNodeOf<"event">)[],
    root: "event" | "command",
    extra: Record<string, ValueShape>,
  ): InputVariant[] {
    if (messages.length === 0) return [{ label: `any ${root}`, env: { [root]: ExpressionChecker.anything, ...extra } }];
    return messages.map((message) => ({ label: `${message.type} ${message.data.name}`, env: { [root]: this.payloadShape(message), ...extra } }));
  }

  /** Whether every `event.…` path of an expression exists in the given event. */
  readsOnlyFieldsOf(compiled: CompiledExpression, event: BoardNodeOf<"event">): boolean {
    const env = { event: this.payloadShape(event), meta: this.metaShape, process: this.processShape };
    return expressionFacts(compiled.ast).references.every((reference) => resolveReference(env, reference).ok);
  }
}


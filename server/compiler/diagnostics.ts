/** What the compiler reports about a board. Codes are stable: tools and docs may rely on them. */

export type Severity = "error" | "warning" | "info";

interface CatalogueEntry {
  severity: Severity;
  title: string;
  description: string;
}

export const diagnosticCatalogue = {
  SB001: { severity: "error", title: "Invalid connection", description: "An edge joins two kinds of node that cannot be connected (see the connection rules)." },
  SB002: { severity: "error", title: "Duplicate message name", description: "Two commands or events share a name; messages are referred to by name, so names must be unique." },
  SB003: { severity: "warning", title: "Duplicate name", description: "Two contexts, aggregates, policies, read models, timers, actors or external systems share a name." },
  SB004: { severity: "error", title: "Unknown reference", description: "A node's data refers to a node that does not exist or is of the wrong kind." },
  SB005: { severity: "warning", title: "Data and edges disagree", description: "A node's data mentions a node it is not connected to, or an edge has no counterpart in the data." },
  SB010: { severity: "error", title: "Command without handler", description: "No aggregate handles the command and it is not delivered to an external system." },
  SB011: { severity: "error", title: "Command with several handlers", description: "More than one aggregate handles the command; exactly one must decide it." },
  SB012: { severity: "error", title: "Command without rule", description: "An aggregate handles a command but has no rule saying what to emit or why to reject." },
  SB013: { severity: "warning", title: "Rule never applies", description: "A rule follows a rule without condition for the same command, so it is never tried." },
  SB015: { severity: "error", title: "Evolution for a foreign event", description: "An aggregate evolves its state on an event it never emits; its stream never holds that event." },
  SB016: { severity: "error", title: "Expected-version field has the wrong type", description: "A command carries the aggregate's expected-version field, but not as an integer." },
  SB017: { severity: "warning", title: "Expected-version field unused", description: "The aggregate names an expected-version field that none of its commands carries." },
  SB020: { severity: "warning", title: "Event without producer", description: "No aggregate emits the event and no external system delivers it, so it never happens." },
  SB021: { severity: "error", title: "Event emitted outside its context", description: "Single writer: only aggregates of the context that owns an event may emit it." },
  SB022: { severity: "warning", title: "Command handled in another context", description: "A command drawn in one context is handled by an aggregate of another; it belongs to its handler's context." },
  SB030: { severity: "error", title: "Policy without trigger", description: "No event or timer triggers the policy, so it never runs." },
  SB031: { severity: "error", title: "Policy without command", description: "The policy issues no command." },
  SB032: { severity: "error", title: "Policy with several commands", description: "A policy issues exactly one command (its mapping fills that command); use one policy per command." },
  SB033: { severity: "error", title: "Correlation key missing from event", description: "The correlation key reads a field that a triggering event's payload does not have." },
  SB040: { severity: "error", title: "Mapping to unknown field", description: "A mapping fills a field the target command, event, state or view does not have." },
  SB041: { severity: "error", title: "Mapping of the wrong type", description: "A mapping puts a value of one type into a field of another." },
  SB042: { severity: "warning", title: "Required field not mapped", description: "A required field of the target payload is not filled by the mapping." },
  SB043: { severity: "error", title: "Unknown field in expression", description: "An expression reads a field its input object does not have." },
  SB050: { severity: "error", title: "Expression syntax error", description: "An expression is not valid JSONata." },
  SB051: { severity: "error", title: "Missing expression", description: "An expression that is required is empty." },
  SB052: { severity: "error", title: "Non-deterministic expression", description: "State evolutions and projections are replayed; they must not call $now(), $millis() or $random()." },
  SB060: { severity: "warning", title: "Step can never run", description: "The policy cannot be reached from any start event of the process." },
  SB061: { severity: "error", title: "Process cannot complete", description: "No event marked complete can follow from the start event." },
  SB062: { severity: "error", title: "Cycle without exit", description: "Events, policies and commands form a loop with no condition, rejection or end event that could stop it." },
  SB063: { severity: "info", title: "No start event", description: "The board has policies but no start event: they react to every matching event, without a process instance." },
  SB070: { severity: "error", title: "External binding without address", description: "An external system exchanges messages but has no webhook URL, Redis channel or NATS subject." },
  SB071: { severity: "warning", title: "External system unused", description: "An external system receives and delivers nothing." },
  SB080: { severity: "warning", title: "Element outside any context", description: "The element is not inside a context, so no context owns it." },
  SB081: { severity: "warning", title: "Internal event used outside its context", description: "An internal event is consumed by another context or published externally; mark it public." },
  SB082: { severity: "warning", title: "Timer not connected", description: "A timer needs an event that schedules it and a policy it fires." },
  SB083: { severity: "warning", title: "Compensation field cannot be filled", description: "A required field of a compensation or timeout command has no same-named field in the triggering event." },
  SB084: { severity: "warning", title: "Read model never updated", description: "The read model has no event updates." },
  SB085: {
    severity: "error",
    title: "View read outside its context",
    description: "$view() names no read model, a read model of another context, or is called outside an aggregate rule; a context reads only its own views.",
  },
} as const satisfies Record<string, CatalogueEntry>;

export type DiagnosticCode = keyof typeof diagnosticCatalogue;
export const diagnosticCodes = Object.keys(diagnosticCatalogue) as DiagnosticCode[];

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  hint: string;
  /** The node the diagnostic is about. */
  nodeId?: string;
  /** The edge the diagnostic is about. */
  edgeId?: string;
  /** Where in the node's data, e.g. "mapping.applicantName" or "rules[2].condition". */
  field?: string;
  /** Character offset inside the expression (syntax errors). */
  position?: number;
}

export type DiagnosticSubject = { nodeId?: string; edgeId?: string; field?: string; position?: number };

export function diagnostic(code: DiagnosticCode, subject: DiagnosticSubject, message: string, hint: string): Diagnostic {
  return { code, severity: diagnosticCatalogue[code].severity, message, hint, ...subject };
}

const severityRank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    severityRank[a.severity] - severityRank[b.severity] ||
    compareText(a.code, b.code) ||
    compareText(a.nodeId ?? a.edgeId ?? "", b.nodeId ?? b.edgeId ?? "") ||
    compareText(a.field ?? "", b.field ?? "") ||
    compareText(a.message, b.message)
  );
}

/** Code-point order: unlike localeCompare it is the same on every machine. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const hasErrors = (diagnostics: readonly Diagnostic[]) => diagnostics.some((item) => item.severity === "error");

export function formatDiagnostic(item: Diagnostic): string {
  const subject = item.nodeId ? `node ${item.nodeId}` : item.edgeId ? `edge ${item.edgeId}` : "board";
  const where = item.field ? ` ${item.field}${item.position !== undefined ? `@${item.position}` : ""}` : "";
  return `${item.severity} ${item.code} [${subject}${where}] ${item.message}\n  hint: ${item.hint}`;
}

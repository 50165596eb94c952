/**
 * Causality on the board: event → policy → command → (the events its rules emit) → … Used to
 * find steps no start event leads to, processes that cannot complete and loops that never stop.
 */
import type { BoardNodeOf } from "../board/document.ts";
import { kindLabel } from "../board/connections.ts";
import type { BoardIndex } from "./board-index.ts";
import { compareText, diagnostic, type Diagnostic } from "./diagnostics.ts";

export function causalSuccessors(index: BoardIndex): Map<string, string[]> {
  const successors = new Map<string, string[]>();
  const add = (from: string, to: string) => {
    const list = successors.get(from);
    if (!list) successors.set(from, [to]);
    else if (!list.includes(to)) list.push(to);
  };
  for (const event of index.nodes.event) {
    for (const target of index.triggers.from(event.id)) add(event.id, target);
    for (const target of index.schedules.from(event.id)) add(event.id, target);
    for (const target of index.delivers.from(event.id)) add(event.id, target);
  }
  for (const timer of index.nodes.timer) for (const target of index.fires.from(timer.id)) add(timer.id, target);
  for (const policy of index.nodes.policy) {
    for (const target of index.issues.from(policy.id)) add(policy.id, target);
    const onTimeout = index.node(policy.data.deadline?.onTimeout, "command");
    if (onTimeout) add(policy.id, onTimeout.id);
  }
  for (const command of index.nodes.command) {
    for (const aggregateId of index.handles.from(command.id)) {
      for (const eventId of eventsDecidedFor(index.node(aggregateId, "aggregate"), command.id)) add(command.id, eventId);
    }
    for (const target of index.delivers.from(command.id)) add(command.id, target);
  }
  for (const system of index.nodes.externalSystem) for (const target of index.receives.from(system.id)) add(system.id, target);
  return successors;
}

/** Events the aggregate's rules for a command can emit, in rule order. */
export function eventsDecidedFor(aggregate: BoardNodeOf<"aggregate"> | undefined, commandId: string): string[] {
  const events: string[] = [];
  for (const rule of aggregate?.data.rules ?? []) {
    if (rule.command !== commandId || rule.outcome.kind !== "emit") continue;
    for (const emitted of rule.outcome.events) if (!events.includes(emitted.event)) events.push(emitted.event);
  }
  return events;
}

function reachableFrom(starts: readonly string[], successors: ReadonlyMap<string, readonly string[]>): Set<string> {
  const seen = new Set<string>(starts);
  const queue = [...starts];
  for (let head = 0; head < queue.length; head++) {
    for (const next of successors.get(queue[head] as string) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return seen;
}

/** Strongly connected components (iterative Tarjan), only those that contain a cycle. */
function cycles(nodes: readonly string[], successors: ReadonlyMap<string, readonly string[]>): string[][] {
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (order.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    order.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; next: number };
      const targets = successors.get(frame.node) ?? [];
      if (frame.next < targets.length) {
        const target = targets[frame.next++] as string;
        if (!order.has(target)) {
          order.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, order.get(target) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      if (low.get(frame.node) !== order.get(frame.node)) continue;
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.node);
      const selfLoop = component.length === 1 && (successors.get(frame.node) ?? []).includes(frame.node);
      if (component.length > 1 || selfLoop) found.push(component);
    }
  }
  return found;
}

/** Something inside the loop that can stop it. */
function loopCanStop(component: readonly string[], index: BoardIndex): boolean {
  for (const id of component) {
    const node = index.byId.get(id);
    if (!node) continue;
    switch (node.type) {
      case "policy":
        if (node.data.condition?.trim()) return true;
        break;
      case "event":
        if (node.data.lifecycle === "complete" || node.data.lifecycle === "fail") return true;
        break;
      case "command":
        for (const aggregateId of index.handles.from(id)) {
          const rules = index.node(aggregateId, "aggregate")?.data.rules.filter((rule) => rule.command === id) ?? [];
          if (rules.some((rule) => rule.condition?.trim() || rule.outcome.kind === "reject")) return true;
        }
        break;
      case "externalSystem":
        return true;
      default:
        break;
    }
  }
  return false;
}

export function analyseProcess(index: BoardIndex, diagnostics: Diagnostic[]): void {
  const successors = causalSuccessors(index);
  const starts = index.nodes.event.filter((event) => event.data.lifecycle === "start");
  const completions = new Set(index.nodes.event.filter((event) => event.data.lifecycle === "complete").map((event) => event.id));
  if (starts.length === 0 && index.nodes.policy.length > 0) {
    diagnostics.push(
      diagnostic(
        "SB063",
        {},
        "No event starts the process, so its policies react to every matching event on their own (choreography without a process instance).",
        "Mark the event that begins the process with lifecycle “start” to track instances, deadlines and completion.",
      ),
    );
  }
  if (starts.length > 0) {
    const reached = new Set<string>();
    for (const start of starts) {
      const reach = reachableFrom([start.id], successors);
      for (const id of reach) reached.add(id);
      if ([...completions].some((id) => reach.has(id))) continue;
      diagnostics.push(
        diagnostic(
          "SB061",
          { nodeId: start.id },
          completions.size === 0
            ? `The process starts with ${start.data.name} but no event is marked as completing it.`
            : `Nothing that follows ${start.data.name} leads to an event that completes the process.`,
          "Mark the event that ends the process with lifecycle “complete”, and connect the steps that lead to it.",
        ),
      );
    }
    for (const policy of index.nodes.policy) {
      if (reached.has(policy.id)) continue;
      diagnostics.push(
        diagnostic(
          "SB060",
          { nodeId: policy.id },
          `${policy.data.name} can never run: no start event (${starts.map((start) => start.data.name).join(", ")}) leads to what triggers it.`,
          "Connect its trigger to the flow that follows a start event, or delete the policy.",
        ),
      );
    }
  }
  const nodes = [...index.nodes.event, ...index.nodes.policy, ...index.nodes.command, ...index.nodes.timer, ...index.nodes.externalSystem].map((node) => node.id);
  for (const component of cycles(nodes, successors)) {
    if (loopCanStop(component, index)) continue;
    const members = component.map((id) => index.byId.get(id)).filter((node) => node !== undefined);
    members.sort((a, b) => compareText(a.id, b.id));
    const anchor = members.find((node) => node.type === "policy") ?? members[0];
    if (!anchor) continue;
    diagnostics.push(
      diagnostic(
        "SB062",
        { nodeId: anchor.id },
        `These repeat forever: ${members.map((node) => `${node.data.name} (${kindLabel[node.type]})`).join(", ")}.`,
        "Give a policy in the loop a condition, add a rule that can reject or emit something else, or end the process inside the loop.",
      ),
    );
  }
}

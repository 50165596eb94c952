/**
 * Boards users can start from. Positions come from layouts.generated.ts, written by
 * generate-layouts.ts with the same ELK layout the importer uses (a test keeps it current).
 */
import type { BoardDocument } from "../board/document.ts";
import { BoardBuilder } from "./builder.ts";
import { templateSources, type ExampleCommand } from "./catalog.ts";
import { templateLayouts } from "./layouts.generated.ts";

export interface Template {
  id: string;
  name: string;
  description: string;
  board: BoardDocument;
  exampleSetup: ExampleCommand[];
}

export const templates: Template[] = templateSources.map((source) => {
  const builder = new BoardBuilder();
  source.build(builder);
  return { id: source.id, name: source.name, description: source.description, board: builder.build(templateLayouts[source.id] ?? {}), exampleSetup: source.exampleSetup ?? [] };
});

export function findTemplate(id: string): Template | undefined {
  return templates.find((template) => template.id === id);
}

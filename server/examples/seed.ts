import { getRuntime } from "../runtime/runtime.ts";
import type { Storage } from "../db/storage.ts";
import { templates } from "../templates/index.ts";

export const exampleBoardId = (templateId: string) => `example-${templateId}`;

export const exampleSetupMessageId = (templateId: string, index: number) => `example-${templateId}-setup-${index}`;

export interface SeedResult {
  created: string[];
  skipped: "not-empty" | null;
}

/**
 * On the first start with an empty database, every template becomes a board that is already
 * published and deployed, so a newcomer can press Run at once. Boards that were deleted still
 * count (they are soft-deleted), so examples never come back uninvited. Ids are fixed, so two
 * processes starting at once against one PostgreSQL create each example once.
 */
export async function seedExamples(storage: Storage): Promise<SeedResult> {
  if ((await storage.prisma.board.count()) > 0) return { created: [], skipped: "not-empty" };
  const runtime = getRuntime(storage);
  const created: string[] = [];
  for (const template of templates) {
    const id = exampleBoardId(template.id);
    const { count } = await storage.prisma.board.createMany({
      data: [{ id, name: template.name, description: template.description, templateId: template.id, schemaVersion: template.board.schemaVersion, document: template.board as object }],
      skipDuplicates: true,
    });
    if (count === 0) continue;
    const { version } = await runtime.publishBoard(id);
    await runtime.deploy(id, version.version);
    for (const [index, step] of template.exampleSetup.entries()) {
      // A fixed message id: a seed interrupted and run again sends each setup command once.
      await runtime.sendCommand({ boardId: id, name: step.command, payload: step.payload, messageId: exampleSetupMessageId(template.id, index) });
    }
    created.push(id);
  }
  return { created, skipped: null };
}

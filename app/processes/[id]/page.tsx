import type { Metadata } from "next";
import { BoardEditor } from "@/components/board/board-editor.tsx";

export const metadata: Metadata = { title: "Process designer · Sagaboard" };

export default async function ProcessDesignerPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <BoardEditor boardId={id} />;
}

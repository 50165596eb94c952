/** A safe download name for a board file. */
export const boardFileName = (name: string) => `${name.replace(/[^\p{L}\p{N}_-]+/gu, "-").replace(/^-+|-+$/g, "") || "board"}.sagaboard.json`;

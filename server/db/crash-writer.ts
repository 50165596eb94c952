// Child process for storage.crash.test.ts: writes boards one by one and reports each
// acknowledged write on stdout, until it is killed.
import { openStorage } from "./storage.ts";

const dataDir = process.argv[2]!;
const storage = await openStorage({ dataDir });
process.stdout.write("ready\n");
for (let i = 0; ; i++) {
  const id = `${process.pid}-${i}`;
  await storage.prisma.board.create({ data: { id, name: `Board ${id}`, schemaVersion: 1, document: { n: i } } });
  process.stdout.write(`ack ${id}\n`);
}

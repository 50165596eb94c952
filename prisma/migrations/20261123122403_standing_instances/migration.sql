-- AlterTable
ALTER TABLE "runtime_instances" ALTER COLUMN "stuck_after_ms" DROP NOT NULL;

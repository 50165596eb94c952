import { createTRPCRouter, publicProcedure } from "@/server/api/trpc.ts";
import { getBusConnections, type BusConnectionsStatus } from "@/server/buses/connections.ts";

export const busesRouter = createTRPCRouter({
  /** Each Redis/NATS binding of the deployed versions with its connection and subscription state. */
  status: publicProcedure.query((): BusConnectionsStatus => getBusConnections()?.status() ?? { running: false, bindings: [] }),
});

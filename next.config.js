// @ts-check
process.env.NEXT_TELEMETRY_DISABLED ??= "1";

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The embedded database and the Node drivers must be loaded by Node itself, not bundled.
  serverExternalPackages: ["@electric-sql/pglite", "pglite-prisma-adapter", "pg", "ioredis", "nats", "jsonata"],
  devIndicators: false,
  // Type checking runs in `npm test` (tsc --noEmit); `npm start` only needs a build.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;

import type { Metadata } from "next";
import type { ReactNode } from "react";
import packageJson from "@/package.json" with { type: "json" };
import { ShellNav } from "@/components/shell/nav.tsx";
import { TRPCReactProvider } from "@/components/trpc/client.tsx";
import "./globals.css";

export const metadata: Metadata = {
  title: "Sagaboard",
  description: "Draw event-driven processes and watch them run.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TRPCReactProvider>
          <div className="shell">
            <ShellNav version={packageJson.version} />
            <main className="shell-main">{children}</main>
          </div>
        </TRPCReactProvider>
      </body>
    </html>
  );
}

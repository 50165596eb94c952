"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

const sections = [
  { href: "/processes", label: "Processes" },
  { href: "/runs", label: "Runs" },
  { href: "/settings", label: "Settings" },
] as const;

export function ShellNav({ version }: { version: string }) {
  const pathname = usePathname();
  return (
    <nav className="shell-nav" aria-label="Main">
      <Link href="/processes" className="shell-brand" aria-label="Sagaboard home">
        <span className="shell-brand-mark" aria-hidden />
        Sagaboard
      </Link>
      {sections.map((section) => (
        <Link
          key={section.href}
          href={section.href}
          aria-current={pathname === section.href || pathname.startsWith(`${section.href}/`) ? "page" : undefined}
        >
          {section.label}
        </Link>
      ))}
      <div className="shell-nav-footer">v{version}</div>
    </nav>
  );
}

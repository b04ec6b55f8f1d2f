// @vitest-environment node
import * as React from "react";
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";

describe("server rendering (Next.js App Router, react-dom/server)", () => {
  it("runs without a window or document", () => {
    expect(typeof window).toBe("undefined");
    expect(typeof document).toBe("undefined");
  });

  for (const entry of ["../src/index", "../dist/index.js"]) {
    it(`imports and renders ${entry} without touching window`, async () => {
      const sdk = (await import(/* @vite-ignore */ entry)) as typeof import("../src/index");
      // The reference page's style: init at module level of a server component.
      sdk.KryptosConnect.init({ clientId: "kc_ssr", appName: "SSR App", theme: "dark" });
      const html = renderToString(
        React.createElement(
          sdk.KryptosConnectProvider,
          { config: { appName: "My Next.js App", clientId: "kc_ssr", theme: "light", walletConnectProjectId: "wc" } },
          React.createElement(sdk.KryptosConnectButton, {
            generateLinkToken: async () => ({ link_token: "link_x" }),
            className: "cta",
          }),
        ),
      );
      expect(html).toContain('class="kc-connect-button kc-connect-button--md cta"');
      expect(html).toContain('data-kc-theme="light"');
      expect(html).toContain(">Connect to Kryptos</button>");
      expect(sdk.KryptosConnect.isOpen()).toBe(false);
    });
  }

  it("reports INVALID_CONFIG instead of throwing when opened on the server", async () => {
    const sdk = await import("../src/index");
    const errors: string[] = [];
    await sdk.KryptosConnect.open({
      generateLinkToken: async () => ({ link_token: "link_x" }),
      onError: (e) => errors.push(e.code),
    });
    expect(errors).toEqual(["INVALID_CONFIG"]);
  });

  it("marks the bundles as client components for the App Router", async () => {
    const { readFileSync } = await import("node:fs");
    for (const file of ["index.js", "index.cjs"]) {
      const text = readFileSync(new URL(`../dist/${file}`, import.meta.url), "utf8");
      expect(text.startsWith('"use client";')).toBe(true);
    }
  });
});

import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import * as React from "react";
import { afterEach, beforeEach, expect, it } from "vitest";
import { KryptosConnect, KryptosConnectButton, KryptosConnectProvider, type KryptosTheme } from "../src/index";
import { fragmentOf, SERVER, stubOriginCheck, until, widgetFrame } from "./helpers";
import { vi } from "vitest";

let style: HTMLStyleElement;

beforeEach(() => {
  stubOriginCheck(true);
  // The seed's "Customization → CSS Variables", set by the host page.
  style = document.createElement("style");
  style.textContent = `
    :root { --kc-primary: #8b5cf6; --kc-primary-hover: #7c3aed; --kc-bg-primary: #ffffff;
            --kc-text-primary: #000000; --kc-border: #e5e7eb; --kc-border-radius: 8px; }
    [data-kc-theme="dark"] { --kc-bg-primary: #1a1a1a; --kc-text-primary: #ffffff; --kc-border: #404040; }`;
  document.head.appendChild(style);
});

afterEach(() => {
  KryptosConnect.close();
  cleanup();
  style.remove();
  vi.unstubAllGlobals();
});

async function openWith(theme: KryptosTheme, cssVars?: Record<`--kc-${string}`, string>) {
  render(
    <KryptosConnectProvider config={{ appName: "A", clientId: "kc_t", theme, baseUrl: SERVER, cssVars }}>
      <KryptosConnectButton generateLinkToken={async () => ({ link_token: "link_t" })} />
    </KryptosConnectProvider>,
  );
  await act(async () => {
    fireEvent.click(screen.getByRole("button"));
  });
  const frame = await until(widgetFrame, "the widget");
  return JSON.parse(fragmentOf(frame.src).get("css") || "{}") as Record<string, string>;
}

it("hands the page's --kc-* variables to the widget (light)", async () => {
  const css = await openWith("light");
  expect(css).toMatchObject({
    "--kc-primary": "#8b5cf6",
    "--kc-primary-hover": "#7c3aed",
    "--kc-bg-primary": "#ffffff",
    "--kc-text-primary": "#000000",
    "--kc-border": "#e5e7eb",
    "--kc-border-radius": "8px",
  });
  expect(document.querySelector("[data-kryptos-connect=overlay]")?.getAttribute("data-kc-theme")).toBe("light");
});

it("applies the page's [data-kc-theme=dark] rules for the dark theme", async () => {
  const css = await openWith("dark");
  expect(css).toMatchObject({ "--kc-primary": "#8b5cf6", "--kc-bg-primary": "#1a1a1a", "--kc-text-primary": "#ffffff", "--kc-border": "#404040" });
  expect(screen.getByRole("button").getAttribute("data-kc-theme")).toBe("dark");
});

it("lets config cssVars win over the page's CSS", async () => {
  const css = await openWith("light", { "--kc-primary": "#6366f1" });
  expect(css["--kc-primary"]).toBe("#6366f1");
  expect(css["--kc-border"]).toBe("#e5e7eb");
});

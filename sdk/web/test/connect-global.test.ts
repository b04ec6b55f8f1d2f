/**
 * The built `connect.js` (served at /sdk/connect.js): the same core as the React package, as
 * the `window.KryptosConnect` global that `connect.d.ts` types.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { fragmentOf, postFromWidget, SERVER, stubOriginCheck, until, widgetFrame } from "./helpers";

const here = dirname(fileURLToPath(import.meta.url));
const BUILT = readFileSync(join(here, "../dist/connect.js"), "utf8");
const DTS = readFileSync(join(here, "../../../crates/http/assets/connect.d.ts"), "utf8");

interface Global {
  __sdk: string;
  version: string;
  init(c: Record<string, unknown>): Global;
  open(o: Record<string, unknown>): Promise<void>;
  close(): void;
  createButton(o: Record<string, unknown>): HTMLButtonElement;
  isOpen(): boolean;
  getConfig(): Record<string, unknown>;
}

let sdk: Global;

beforeAll(() => {
  new Function(BUILT)();
  sdk = (window as unknown as { KryptosConnect: Global }).KryptosConnect;
});

afterEach(() => {
  sdk.close();
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

/** The body of `interface NAME { … }` in connect.d.ts. */
function declBody(name: string): string {
  const start = DTS.indexOf(`export interface ${name}`);
  expect(start, `connect.d.ts declares ${name}`).toBeGreaterThanOrEqual(0);
  return DTS.slice(start, DTS.indexOf("\n}", start));
}

describe("connect.js", () => {
  it("is the build output the server embeds and serves at /sdk/connect.js", () => {
    expect(BUILT.startsWith("/*! Kryptos Connect browser SDK")).toBe(true);
  });

  it("defines the global once, even when loaded twice", () => {
    new Function(BUILT)();
    expect((window as unknown as { KryptosConnect: Global }).KryptosConnect).toBe(sdk);
    expect(sdk.__sdk).toBe("kryptos-connect");
    expect(sdk.version).toBe("1.0.0");
  });

  it("declares every public member in connect.d.ts", () => {
    const body = declBody("KryptosConnectSDK");
    const members = Object.keys(sdk).filter((k) => !k.startsWith("__"));
    expect(members.sort()).toEqual(["close", "createButton", "getConfig", "init", "isOpen", "open", "version"]);
    for (const m of members) {
      expect(body.includes(`  ${m}(`) || body.includes(`readonly ${m}:`), `KryptosConnectSDK declares ${m}`).toBe(true);
    }
  });

  it("declares every configuration option in connect.d.ts", () => {
    const body = declBody("KryptosConnectConfig");
    sdk.init({ appLogo: "https://x.example/logo.png", walletConnectProjectId: "wc" });
    const options = Object.keys(sdk.getConfig());
    expect(options.length).toBeGreaterThanOrEqual(8);
    for (const o of options) {
      expect(body.includes(`  ${o}:`) || body.includes(`  ${o}?:`), `KryptosConnectConfig declares ${o}`).toBe(true);
    }
  });

  it("runs the flow from createButton: fragment URL, one success, overlay removed", async () => {
    stubOriginCheck(true);
    sdk.init({ clientId: "kc_js", appName: "Script App", baseUrl: SERVER, cssVars: { "--kc-primary": "#6366f1" } });
    const success = vi.fn();
    const error = vi.fn();
    const button = sdk.createButton({
      generateLinkToken: async () => ({ link_token: "link_js" }),
      onConnectSuccess: success,
      onConnectError: error,
      size: "sm",
    });
    document.body.appendChild(button);
    expect(button.textContent).toBe("Connect to Kryptos");
    expect(button.className).toBe("kc-connect-button kc-connect-button--sm");
    expect(button.style.getPropertyValue("--kc-primary")).toBe("#6366f1");
    button.click();
    const frame = await until(widgetFrame, "the widget");
    const url = new URL(frame.src);
    expect(url.origin + url.pathname + url.search).toBe(`${SERVER}/connect?client_id=kc_js`);
    expect(fragmentOf(frame.src).get("link_token")).toBe("link_js");
    expect(fragmentOf(frame.src).get("app_name")).toBe("Script App");
    expect(sdk.isOpen()).toBe(true);
    postFromWidget({ source: "kryptos-connect", type: "success", public_token: "public_js" }, { origin: "https://evil.example" });
    postFromWidget({ source: "kryptos-connect", type: "success", public_token: "public_js" });
    postFromWidget({ source: "kryptos-connect", type: "success", public_token: "public_js2" });
    expect(success).toHaveBeenCalledTimes(1);
    expect(success).toHaveBeenCalledWith({ public_token: "public_js" });
    expect(error).not.toHaveBeenCalled();
    expect(sdk.isOpen()).toBe(false);
    expect(button.hasAttribute("aria-busy")).toBe(false);
  });

  it("reports ORIGIN_NOT_ALLOWED like the React package", async () => {
    stubOriginCheck(false);
    sdk.init({ clientId: "kc_js", baseUrl: SERVER });
    const error = vi.fn();
    await sdk.open({ generateLinkToken: () => ({ link_token: "link_js" }), onConnectError: error });
    await until(() => error.mock.calls.length > 0, "onConnectError");
    expect(error.mock.calls[0][0].code).toBe("ORIGIN_NOT_ALLOWED");
    expect(document.querySelector("[data-kryptos-connect=notice]")).not.toBeNull();
  });
});

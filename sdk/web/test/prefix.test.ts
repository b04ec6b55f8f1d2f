/**
 * A server mounted under a path prefix (`https://host/kryptos`, a host app nesting the router):
 * the widget iframe and the origin check live under the prefix, while messages come from the
 * server's *origin* (scheme://host:port, no path). `connect.js` loaded from
 * `{prefix}/sdk/connect.js` defaults its `baseUrl` to the prefix.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { baseFromScriptUrl } from "../src/core/protocol";
import { fragmentOf, postFromWidget, SERVER, stubOriginCheck, until, widgetFrame } from "./helpers";

const here = dirname(fileURLToPath(import.meta.url));
const BUILT = readFileSync(join(here, "../dist/connect.js"), "utf8");
const PREFIXED = `${SERVER}/kryptos`;

interface Global {
  init(c: Record<string, unknown>): Global;
  open(o: Record<string, unknown>): Promise<void>;
  close(): void;
  isOpen(): boolean;
  getConfig(): Record<string, unknown>;
}

let sdk: Global;

beforeAll(() => {
  // Loaded as `<script src="http://127.0.0.1:8080/kryptos/sdk/connect.js">`.
  const script = document.createElement("script");
  script.src = `${PREFIXED}/sdk/connect.js`;
  Object.defineProperty(document, "currentScript", { value: script, configurable: true });
  try {
    new Function(BUILT)();
  } finally {
    Object.defineProperty(document, "currentScript", { value: null, configurable: true });
  }
  sdk = (window as unknown as { KryptosConnect: Global }).KryptosConnect;
});

afterEach(() => {
  sdk.close();
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

describe("baseFromScriptUrl", () => {
  it("keeps the path prefix in front of /sdk/", () => {
    expect(baseFromScriptUrl("https://h.example/kryptos/sdk/connect.js", "https://app.example/")).toBe(
      "https://h.example/kryptos",
    );
    expect(baseFromScriptUrl("https://h.example/a/b/sdk/connect.js?v=1", "https://app.example/")).toBe(
      "https://h.example/a/b",
    );
    expect(baseFromScriptUrl("https://h.example:8443/sdk/connect.js", "https://app.example/")).toBe(
      "https://h.example:8443",
    );
    expect(baseFromScriptUrl("/kryptos/sdk/connect.js", "http://127.0.0.1:3000/page")).toBe(
      "http://127.0.0.1:3000/kryptos",
    );
    // A copy hosted elsewhere (not under /sdk/): the origin, as before.
    expect(baseFromScriptUrl("https://cdn.example/libs/connect.js", "https://app.example/")).toBe("https://cdn.example");
  });
});

describe("connect.js under a path prefix", () => {
  it("defaults baseUrl to the prefix it was loaded from", () => {
    sdk.init({ clientId: "kc_p" });
    expect(sdk.getConfig().baseUrl).toBe(PREFIXED);
  });

  it("frames {prefix}/connect, checks the origin at {prefix}/widget/origin-check and accepts the server origin", async () => {
    const check = stubOriginCheck(true);
    sdk.init({ clientId: "kc_p", appName: "Prefixed", baseUrl: `${PREFIXED}/` });
    const success = vi.fn();
    const error = vi.fn();
    await sdk.open({ generateLinkToken: async () => ({ link_token: "link_p" }), onConnectSuccess: success, onConnectError: error });
    const frame = await until(widgetFrame, "the widget");
    const url = new URL(frame.src);
    expect(url.origin + url.pathname + url.search).toBe(`${PREFIXED}/connect?client_id=kc_p`);
    expect(fragmentOf(frame.src).get("link_token")).toBe("link_p");
    expect(check.mock.calls.map((c) => String(c[0]))).toEqual([`${PREFIXED}/widget/origin-check?client_id=kc_p`]);
    // The widget's messages carry the server's origin (no path); anything else is ignored.
    postFromWidget({ source: "kryptos-connect", type: "success", public_token: "public_p" }, { origin: PREFIXED });
    expect(success).not.toHaveBeenCalled();
    postFromWidget({ source: "kryptos-connect", type: "success", public_token: "public_p" }, { origin: SERVER });
    expect(success).toHaveBeenCalledWith({ public_token: "public_p" });
    expect(error).not.toHaveBeenCalled();
    expect(sdk.isOpen()).toBe(false);
  });
});

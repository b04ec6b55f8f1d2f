/**
 * The committed build (dist/index.js) as the server serves it: `GET /sdk/mobile-sdk.tgz`
 * replaces the base URL placeholder with its public URL, so an app that sets no `baseUrl`
 * talks to the server it downloaded the package from.
 */
import * as fs from "fs";
import * as path from "path";
import { fireEvent, render, screen } from "@testing-library/react-native";
import type * as Sdk from "../src";
import { LINK, fragmentOf, sourceUri } from "./helpers";

const PLACEHOLDER = "%%KRYPTOS_CONNECT_BASE_URL%%";

/** Loads dist/index.js (CommonJS) with the placeholder replaced, as the served tarball has it. */
function servedBuild(base: string): typeof Sdk {
  const code = fs.readFileSync(path.join(__dirname, "../dist/index.js"), "utf8");
  expect(code.split(PLACEHOLDER).length - 1).toBe(1);
  const mod: { exports: object } = { exports: {} };
  const factory = new Function("require", "module", "exports", code.replace(PLACEHOLDER, base));
  factory(require, mod, mod.exports);
  return mod.exports as typeof Sdk;
}

it("the served build defaults to the server it was downloaded from", async () => {
  const sdk = servedBuild("https://served.example.com");
  render(
    <sdk.KryptosConnectProvider config={{ appName: "A", clientId: "kc_served" }}>
      <sdk.KryptosConnectButton generateLinkToken={async () => LINK} />
    </sdk.KryptosConnectProvider>,
  );
  fireEvent.press(screen.getByText("Connect to Kryptos"));
  const uri = sourceUri(await screen.findByTestId("kryptos-connect-webview"));
  expect(uri.startsWith("https://served.example.com/connect?client_id=kc_served#")).toBe(true);
  expect(fragmentOf(uri).link_token).toBe(LINK);
});

it("an explicit baseUrl wins over the served default", async () => {
  const sdk = servedBuild("https://served.example.com");
  render(
    <sdk.KryptosConnectProvider config={{ appName: "A", clientId: "kc_x", baseUrl: "https://other.example.org" }}>
      <sdk.KryptosConnectButton generateLinkToken={async () => LINK} />
    </sdk.KryptosConnectProvider>,
  );
  fireEvent.press(screen.getByText("Connect to Kryptos"));
  const uri = sourceUri(await screen.findByTestId("kryptos-connect-webview"));
  expect(uri.startsWith("https://other.example.org/connect?")).toBe(true);
});

it("exports the documented API from the build", () => {
  const sdk = servedBuild("https://served.example.com");
  expect(Object.keys(sdk).sort()).toEqual(
    [
      "KryptosConnectButton",
      "KryptosConnectModal",
      "KryptosConnectProvider",
      "PROTOCOL_VERSION",
      "WIDGET_SOURCE",
      "buildConnectUrl",
      "isLinkToken",
      "parseWidgetMessage",
      "useKryptosConnectConfig",
    ].sort(),
  );
});

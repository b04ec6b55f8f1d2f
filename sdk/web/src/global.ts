/**
 * `connect.js`: the no-build browser SDK served at `/sdk/connect.js`, defining
 * `window.KryptosConnect` (typed by `/sdk/connect.d.ts`). Built from the same core as the
 * React package, as an IIFE.
 *
 *   KryptosConnect.init({ clientId, appName, theme, language, authMethods, cssVars, baseUrl? });
 *   KryptosConnect.open({ generateLinkToken, onConnectSuccess, onConnectError, integrationName?, extraConfig? });
 *   document.body.appendChild(KryptosConnect.createButton({ ...same options, children: "Connect" }));
 */

import { createController } from "./core/client";
import { baseFromScriptUrl } from "./core/protocol";

type Global = Window & { KryptosConnect?: { __sdk?: string } };

(function install(win: Global, doc: Document) {
  if (win.KryptosConnect && win.KryptosConnect.__sdk === "kryptos-connect") return; // loaded twice

  // Where this script came from = where the widget lives (unless baseUrl is given): the
  // server's origin plus the path prefix it is mounted under (`/kryptos/sdk/connect.js`).
  const script = doc.currentScript as HTMLScriptElement | null;
  let scriptBase: string;
  try {
    scriptBase = script && script.src ? baseFromScriptUrl(script.src, win.location.href) : win.location.origin;
  } catch {
    scriptBase = win.location.origin;
  }

  const sdk = createController(() => scriptBase);
  const api = {
    __sdk: "kryptos-connect",
    version: sdk.version,
    init(config: Parameters<typeof sdk.init>[0]) {
      sdk.init(config);
      return api;
    },
    open: (options: Parameters<typeof sdk.open>[0]) => sdk.open(options),
    close: () => sdk.close(),
    createButton: sdk.createButton,
    isOpen: () => sdk.isOpen(),
    getConfig: () => sdk.getConfig(),
  };
  win.KryptosConnect = api;
})(window as Global, document);

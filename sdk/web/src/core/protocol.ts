/**
 * The host ⇄ widget protocol, in one place (pure functions, no DOM).
 *
 * - The widget runs at `GET {baseUrl}/connect?client_id=…` in an iframe. Everything else,
 *   the link token first, travels in the URL *fragment*: never sent over the network, never in
 *   a query string, removed by the widget on load.
 * - The widget answers with `postMessage({source: "kryptos-connect", type, …})` to the page's
 *   exact origin; the host accepts only messages from its iframe and the server's origin.
 */

import type { KryptosConnectConfig, KryptosConnectEvent, OpenOptions, UserConsent } from "./types";

/** `source` of every message the widget posts. */
export const WIDGET_SOURCE = "kryptos-connect";

/** The default label of the trigger button. */
export const DEFAULT_LABEL = "Connect to Kryptos";

/** Everything the widget URL is built from (the resolved configuration of one open). */
export interface WidgetParams {
  baseUrl: string;
  clientId: string;
  linkToken: string;
  pageOrigin: string;
  theme: "light" | "dark" | "auto";
  language: string;
  authMethods: string[];
  cssVars: Record<string, string>;
  appName?: string;
  appLogo?: string;
  walletConnectProjectId?: string;
  integrationName?: string;
  prefill?: object;
}

/** The iframe URL: `client_id` in the query (it selects `frame-ancestors`), everything else in the fragment. */
export function widgetUrl(p: WidgetParams): string {
  const frag = new URLSearchParams();
  frag.set("link_token", p.linkToken);
  frag.set("origin", p.pageOrigin);
  frag.set("theme", p.theme);
  frag.set("lang", p.language);
  frag.set("mode", "iframe");
  if (Object.keys(p.cssVars).length) frag.set("css", JSON.stringify(p.cssVars));
  if (p.authMethods.length) frag.set("auth", p.authMethods.join(","));
  if (p.appName) frag.set("app_name", p.appName);
  if (p.appLogo) frag.set("app_logo", p.appLogo);
  if (p.walletConnectProjectId) frag.set("walletconnect_project_id", p.walletConnectProjectId);
  if (p.integrationName) frag.set("integration", p.integrationName);
  if (p.prefill) frag.set("prefill", JSON.stringify(p.prefill));
  const query = p.clientId ? "?client_id=" + encodeURIComponent(p.clientId) : "";
  return p.baseUrl + "/connect" + query + "#" + frag.toString();
}

/** What one widget message means for the host. */
export type WidgetSignal =
  | { kind: "event"; event: KryptosConnectEvent }
  | { kind: "success"; consent: UserConsent | null }
  | { kind: "error"; code: string; message: string }
  | { kind: "close" };

/** Interprets `data` from the widget; `null` for anything that is not a widget message. */
export function readWidgetMessage(data: unknown): WidgetSignal | null {
  if (!data || typeof data !== "object") return null;
  const d = data as Record<string, unknown>;
  if (d.source !== WIDGET_SOURCE) return null;
  switch (d.type) {
    case "ready":
      return { kind: "event", event: { type: "ready" } };
    case "step":
      return { kind: "event", event: { type: "step", step: String(d.step) } };
    case "success": {
      const token = d.public_token;
      return { kind: "success", consent: typeof token === "string" && token ? { public_token: token } : null };
    }
    case "error":
      return {
        kind: "error",
        code: String(d.code || "UNKNOWN_ERROR"),
        message: String(d.message || "Kryptos Connect failed"),
      };
    case "close":
      return { kind: "close" };
    default:
      return null;
  }
}

/** The theme names the widget knows; anything else is `light`. */
export function normalizeTheme(theme: unknown): "light" | "dark" | "auto" {
  return theme === "dark" || theme === "auto" ? theme : "light";
}

/** `url` without query, fragment or trailing slashes (an origin plus an optional path prefix). */
export function normalizeBase(url: string, relativeTo: string): string {
  const u = new URL(String(url), relativeTo);
  return (u.origin + u.pathname).replace(/\/+$/, "");
}

/**
 * Where the widget lives, from the URL a script of the server was loaded from:
 * `https://h/kryptos/sdk/connect.js` → `https://h/kryptos` (a server mounted under a path
 * prefix), `https://h/sdk/connect.js` → `https://h`; a script not under `/sdk/` (a copy on a
 * CDN) → its origin.
 */
export function baseFromScriptUrl(src: string, relativeTo: string): string {
  const u = new URL(String(src), relativeTo);
  const prefix = /^(.*?)\/sdk\/[^/]+\.js$/.exec(u.pathname);
  return u.origin + (prefix ? prefix[1].replace(/\/+$/, "") : "");
}

/** The per-open callbacks, with the seed's and the reference page's names merged. */
export interface Callbacks {
  success: (consent: UserConsent | null) => void;
  error: (error: import("./errors").KryptosConnectError) => void;
  event: (event: KryptosConnectEvent) => void;
}

/** Merges `onSuccess`/`onConnectSuccess` and `onError`/`onConnectError` (both are called). */
export function callbacksOf(options: OpenOptions): Callbacks {
  const both =
    <T>(a?: (v: T) => void, b?: (v: T) => void) =>
    (v: T) => {
      if (a) a(v);
      if (b && b !== a) b(v);
    };
  return {
    success: both(options.onConnectSuccess, options.onSuccess),
    error: both(options.onConnectError, options.onError),
    event: options.onEvent || (() => undefined),
  };
}

/** The configuration of one open: `config` with `extraConfig` merged on top. */
export function mergeConfig(config: KryptosConnectConfig, options: OpenOptions): KryptosConnectConfig {
  const extra = options.extraConfig || {};
  const merged: KryptosConnectConfig = { ...config };
  if (typeof extra.appName === "string") merged.appName = extra.appName;
  if (typeof extra.appLogo === "string") merged.appLogo = extra.appLogo;
  if (extra.theme) merged.theme = extra.theme;
  if (extra.language) merged.language = extra.language;
  if (Array.isArray(extra.authMethods) && extra.authMethods.length) merged.authMethods = extra.authMethods;
  if (typeof extra.walletConnectProjectId === "string") merged.walletConnectProjectId = extra.walletConnectProjectId;
  merged.cssVars = { ...(config.cssVars || {}), ...(extra.cssVars || {}) };
  return merged;
}

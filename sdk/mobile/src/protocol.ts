/**
 * The widget ↔ host message protocol (docs/webview-protocol.md): how the connect URL is
 * built, and which messages posted by the widget through `window.ReactNativeWebView` are
 * accepted. Anything else is ignored.
 */
import type { KryptosConnectTheme } from "./types";

/** `source` of every message the widget posts. */
export const WIDGET_SOURCE = "kryptos-connect";

/** The message format version this package understands. */
export const PROTOCOL_VERSION = 1;

/** A message posted by the widget, after validation. */
export type WidgetMessage =
  | { type: "ready" }
  | { type: "step"; step: string }
  | { type: "success"; public_token: string | null }
  | { type: "error"; code: string; message: string }
  | { type: "close" };

/** What the connect URL carries (all but `clientId` in the fragment). */
export interface ConnectUrlParams {
  baseUrl: string;
  linkToken: string;
  clientId?: string;
  theme: KryptosConnectTheme;
  language?: string;
  walletConnectProjectId?: string;
}

const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Whether `token` looks like a link token (`link_` and URL-safe characters). */
export function isLinkToken(token: unknown): token is string {
  return typeof token === "string" && /^link_[A-Za-z0-9_-]+$/.test(token);
}

/** `https://host:port` of an absolute http(s) URL, lower-cased; `null` otherwise. */
export function originOf(url: string): string | null {
  const m = /^(https?):\/\/([^/?#\s]+)/i.exec(url);
  if (!m || !m[1] || !m[2] || m[2].includes("@")) return null;
  return `${m[1].toLowerCase()}://${m[2].toLowerCase()}`;
}

/** `baseUrl` without trailing slashes, or `null` when it is not an http(s) URL without query/fragment. */
export function normalizeBaseUrl(url: string): string | null {
  const trimmed = url.trim().replace(/\/+$/, "");
  if (!originOf(trimmed) || /[?#\s]/.test(trimmed)) return null;
  return trimmed;
}

/**
 * `<baseUrl>/connect?client_id=…#link_token=…&mode=webview&theme=…[&lang=…][&walletconnect_project_id=…]`.
 * The link token only ever travels in the fragment, which is never sent over the network.
 */
export function buildConnectUrl(p: ConnectUrlParams): string {
  const fragment: [string, string][] = [
    ["link_token", p.linkToken],
    ["mode", "webview"],
    ["theme", p.theme],
  ];
  if (p.language) fragment.push(["lang", p.language]);
  if (p.walletConnectProjectId) fragment.push(["walletconnect_project_id", p.walletConnectProjectId]);
  const hash = fragment.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
  const query = p.clientId ? `?client_id=${encodeURIComponent(p.clientId)}` : "";
  return `${p.baseUrl}/connect${query}#${hash}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Validates one `onMessage` payload (a JSON string). Returns `null` for anything that is not
 * a well-formed message of this protocol version: not JSON, another source or version, an
 * unknown type, or missing/ill-typed fields.
 */
export function parseWidgetMessage(data: unknown): WidgetMessage | null {
  if (typeof data !== "string" || data.length > 16384) return null;
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isRecord(v) || v.source !== WIDGET_SOURCE || v.version !== PROTOCOL_VERSION) return null;
  switch (v.type) {
    case "ready":
      return { type: "ready" };
    case "close":
      return { type: "close" };
    case "step":
      return typeof v.step === "string" && v.step ? { type: "step", step: v.step } : null;
    case "success": {
      if (!Object.prototype.hasOwnProperty.call(v, "public_token")) return null;
      const token = v.public_token;
      if (token === null) return { type: "success", public_token: null };
      return typeof token === "string" && /^public_[A-Za-z0-9_-]+$/.test(token)
        ? { type: "success", public_token: token }
        : null;
    }
    case "error": {
      if (typeof v.code !== "string" || !ERROR_CODE.test(v.code)) return null;
      const message = typeof v.message === "string" && v.message ? v.message : v.code;
      return { type: "error", code: v.code, message };
    }
    default:
      return null;
  }
}

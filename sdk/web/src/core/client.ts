/**
 * The controller behind both the React components and the `connect.js` global: configuration,
 * one flow at a time (generateLinkToken → overlay → exactly one result), observable state.
 *
 * Creating a controller touches nothing; `window`/`document` are used only when a flow opens
 * or a DOM button is created, so importing and server-rendering is safe.
 */

import buttonCss from "../styles/index.css?raw";
import { KryptosConnectError, toConnectError } from "./errors";
import { type Mounted, mountOverlay } from "./overlay";
import { callbacksOf, DEFAULT_LABEL, mergeConfig, normalizeBase, normalizeTheme } from "./protocol";
import { sanitizeCssVars } from "./theme";
import type { KryptosAuthMethod, KryptosConnectConfig, OpenOptions } from "./types";

/** The SDK version (the package's). */
export const VERSION = "1.0.0";

/** The configuration with every default filled in. */
export type ResolvedConfig = Required<Omit<KryptosConnectConfig, "appLogo" | "walletConnectProjectId">> &
  Pick<KryptosConnectConfig, "appLogo" | "walletConnectProjectId">;

/** Options of a DOM button made by {@link Controller.createButton}. */
export interface CreateButtonOptions extends OpenOptions {
  /** Extra class on the `<button>`; the SDK's own rules have zero specificity, so yours win. */
  className?: string;
  /** Inline styles (camelCase or kebab-case keys). */
  style?: Record<string, string>;
  /** Button label or content. Default `"Connect to Kryptos"`. */
  children?: string | Node;
  /** Alias of `children` (mobile SDK naming). */
  buttonLabel?: string;
  /** Button size. Default `"md"`. */
  size?: "sm" | "md" | "lg";
}

/** What a subscriber can read. */
export interface ControllerState {
  /** The overlay is on screen. */
  open: boolean;
  /** `generateLinkToken()` is in flight. */
  opening: boolean;
}

/** One SDK instance. */
export interface Controller {
  readonly version: string;
  /** Sets (or updates) the configuration. Touches no browser API. */
  init(config: Partial<KryptosConnectConfig>): Controller;
  /**
   * Runs the flow: awaits `generateLinkToken()`, then shows the widget. Ignored while a flow is
   * open or opening. `config` replaces the `init` configuration for this run (the React provider's).
   */
  open(options: OpenOptions, config?: Partial<KryptosConnectConfig>): Promise<void>;
  /** Closes the open widget; its error callback receives code `CLOSED`. */
  close(): void;
  /** Whether a widget is on screen. */
  isOpen(): boolean;
  /** A copy of the configuration, defaults filled in. */
  getConfig(): ResolvedConfig;
  /** Calls `listener` whenever {@link Controller.state} changes; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** The current state. */
  state(): ControllerState;
  /** A `<button>` that runs the flow when clicked (browser only). */
  createButton(options: CreateButtonOptions): HTMLButtonElement;
}

const DEFAULT_AUTH: KryptosAuthMethod[] = ["email", "anonymous"];

/** Fills in the defaults of `config`; `defaultBaseUrl` is consulted only when `baseUrl` is absent. */
export function resolveConfig(config: Partial<KryptosConnectConfig>, defaultBaseUrl: () => string): ResolvedConfig {
  const out: ResolvedConfig = {
    clientId: String(config.clientId || ""),
    appName: String(config.appName || ""),
    theme: normalizeTheme(config.theme),
    language: String(config.language || "en"),
    authMethods:
      Array.isArray(config.authMethods) && config.authMethods.length ? [...config.authMethods] : [...DEFAULT_AUTH],
    cssVars: sanitizeCssVars(config.cssVars),
    baseUrl: String(config.baseUrl || defaultBaseUrl()),
  };
  if (typeof config.appLogo === "string" && config.appLogo) out.appLogo = config.appLogo;
  if (typeof config.walletConnectProjectId === "string" && config.walletConnectProjectId) {
    out.walletConnectProjectId = config.walletConnectProjectId;
  }
  return out;
}

/** Installs the button rules once per document as a constructable stylesheet (CSP-safe). */
function installButtonSheet(doc: Document): boolean {
  const marked = doc as Document & { __kcButtonSheet?: boolean };
  if (marked.__kcButtonSheet) return true;
  try {
    const Sheet = (doc.defaultView || window).CSSStyleSheet;
    const sheet = new Sheet();
    sheet.replaceSync(buttonCss);
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
    marked.__kcButtonSheet = true;
  } catch {
    /* an older browser: the inline fallback styles apply */
  }
  return !!marked.__kcButtonSheet;
}

/** A new SDK instance; `defaultBaseUrl` gives the server when the configuration names none. */
export function createController(defaultBaseUrl: () => string): Controller {
  let config: Partial<KryptosConnectConfig> = {};
  let current: Mounted | null = null;
  let opening = false;
  let snapshot: ControllerState = { open: false, opening: false };
  const listeners = new Set<() => void>();

  const changed = (): void => {
    const next = { open: !!current, opening };
    if (next.open === snapshot.open && next.opening === snapshot.opening) return;
    snapshot = next;
    for (const l of [...listeners]) l();
  };

  const controller: Controller = {
    version: VERSION,

    init(next) {
      const merged: Partial<KryptosConnectConfig> = { ...config, ...(next || {}) };
      // Like connect.js always did: a new `cssVars` replaces the previous set.
      merged.cssVars = { ...((next && next.cssVars) || config.cssVars || {}) };
      config = merged;
      return controller;
    },

    open(options, override) {
      const callbacks = callbacksOf(options || ({} as OpenOptions));
      if (current || opening) return Promise.resolve();
      const report = (err: KryptosConnectError): void => {
        try {
          callbacks.error(err);
        } catch (e) {
          setTimeout(() => {
            throw e;
          });
        }
      };
      if (!options || typeof options.generateLinkToken !== "function") {
        report(new KryptosConnectError("INVALID_CONFIG", "generateLinkToken is required"));
        return Promise.resolve();
      }
      const win = typeof window === "undefined" ? null : window;
      if (!win) {
        report(new KryptosConnectError("INVALID_CONFIG", "Kryptos Connect can only open in a browser"));
        return Promise.resolve();
      }
      const base = resolveConfig(override || config, defaultBaseUrl);
      const cfg = mergeConfig(base, options);
      let baseUrl: string;
      try {
        baseUrl = normalizeBase(base.baseUrl, win.location.href);
      } catch (e) {
        report(new KryptosConnectError("INVALID_CONFIG", `baseUrl is not a URL: ${base.baseUrl}`, e));
        return Promise.resolve();
      }

      opening = true;
      changed();
      return Promise.resolve()
        .then(() => options.generateLinkToken())
        .then(
          (result) => {
            opening = false;
            const token = result && (result.link_token || (result as { linkToken?: string }).linkToken);
            if (typeof token !== "string" || !token) {
              changed();
              report(new KryptosConnectError("INVALID_LINK_TOKEN", "generateLinkToken() did not return a link_token"));
              return;
            }
            const extra = options.extraConfig || {};
            const integration = options.integrationName || extra.integrationName;
            current = mountOverlay({
              win,
              widget: {
                baseUrl,
                clientId: cfg.clientId,
                linkToken: token,
                theme: normalizeTheme(cfg.theme),
                language: String(cfg.language || "en"),
                authMethods: cfg.authMethods || DEFAULT_AUTH,
                cssVars: sanitizeCssVars(cfg.cssVars),
                appName: cfg.appName || undefined,
                appLogo: cfg.appLogo,
                walletConnectProjectId: cfg.walletConnectProjectId,
                integrationName: integration ? String(integration) : undefined,
                prefill: extra.prefill && typeof extra.prefill === "object" ? extra.prefill : undefined,
              },
              callbacks,
              onTeardown: () => {
                current = null;
                changed();
              },
            });
            changed();
          },
          (err: unknown) => {
            opening = false;
            changed();
            report(toConnectError(err, "LINK_TOKEN_ERROR", "Could not create a link token"));
          },
        );
    },

    close() {
      if (current) current.close("CLOSED", "Kryptos Connect was closed");
    },

    isOpen: () => !!current,

    getConfig: () => resolveConfig(config, defaultBaseUrl),

    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    state: () => snapshot,

    createButton(options) {
      const opts = options || ({} as CreateButtonOptions);
      const doc = document;
      const btn = doc.createElement("button");
      btn.type = "button";
      const size = opts.size === "sm" || opts.size === "lg" ? opts.size : "md";
      btn.className = `kc-connect-button kc-connect-button--${size}${opts.className ? " " + opts.className : ""}`;
      const cfg = mergeConfig(resolveConfig(config, defaultBaseUrl), opts);
      btn.setAttribute("data-kc-theme", normalizeTheme(cfg.theme));
      const vars = sanitizeCssVars(cfg.cssVars);
      for (const [name, value] of Object.entries(vars)) btn.style.setProperty(name, value);
      if (!installButtonSheet(doc)) {
        const sizes = { sm: ["8px 14px", "14px", "36px"], md: ["10px 18px", "15px", "44px"], lg: ["12px 22px", "16px", "52px"] };
        const [padding, fontSize, minHeight] = sizes[size];
        Object.assign(btn.style, {
          display: "inline-flex",
          alignItems: "center",
          justifyContent: "center",
          padding,
          fontSize,
          minHeight,
          fontWeight: "600",
          border: "0",
          cursor: "pointer",
          borderRadius: vars["--kc-border-radius"] || "10px",
          background: vars["--kc-primary"] || "#00c693",
          color: vars["--kc-primary-text"] || "#ffffff",
        });
      }
      if (opts.style && typeof opts.style === "object") {
        for (const [k, v] of Object.entries(opts.style)) {
          if (v == null) continue;
          if (k.includes("-")) btn.style.setProperty(k, String(v));
          else (btn.style as unknown as Record<string, string>)[k] = String(v);
        }
      }
      const children = opts.children != null ? opts.children : opts.buttonLabel;
      if (children && typeof children === "object" && "nodeType" in children) btn.appendChild(children);
      else btn.textContent = children != null && children !== "" ? String(children) : DEFAULT_LABEL;

      btn.addEventListener("click", () => {
        if (current || opening) return;
        btn.setAttribute("aria-busy", "true");
        void controller.open(opts).then(() => btn.removeAttribute("aria-busy"));
      });
      return btn;
    },
  };
  return controller;
}

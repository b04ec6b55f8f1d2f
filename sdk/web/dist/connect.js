/*! Kryptos Connect browser SDK 1.0.0 — served at /sdk/connect.js, typed by /sdk/connect.d.ts.
 *  Generated from sdk/web/src (the same core as @kryptos_connect/web-sdk); do not edit. */
"use strict";
(() => {
  // src/styles/index.css?raw
  var styles_default = '/*\n * @kryptos_connect/web-sdk \u2014 styles of the trigger button.\n *\n * Every rule has zero specificity (:where), so any class of your page wins. The colours come\n * from the --kc-* variables of the theming reference; set them on :root, or under\n * [data-kc-theme="dark"] for the dark theme (the button carries data-kc-theme, and the same\n * variables are handed to the widget when it opens).\n */\n:where(.kc-connect-button) {\n  display: inline-flex;\n  align-items: center;\n  justify-content: center;\n  gap: 8px;\n  box-sizing: border-box;\n  padding: var(--kc-btn-padding, 10px 18px);\n  min-height: var(--kc-btn-height, 44px);\n  font: inherit;\n  font-size: var(--kc-btn-font-size, 15px);\n  font-weight: 600;\n  line-height: 1.2;\n  border: 0;\n  border-radius: var(--kc-border-radius, 10px);\n  background: var(--kc-primary, #00c693);\n  color: var(--kc-primary-text, #03261c);\n  cursor: pointer;\n  transition: background-color 0.15s ease, transform 0.05s ease;\n}\n:where(.kc-connect-button):hover {\n  background: var(--kc-primary-hover, #00b386);\n}\n:where(.kc-connect-button):active {\n  transform: translateY(1px);\n}\n:where(.kc-connect-button):focus-visible {\n  outline: 2px solid var(--kc-border-focus, #00c693);\n  outline-offset: 2px;\n}\n:where(.kc-connect-button)[aria-busy="true"] {\n  cursor: progress;\n  opacity: 0.75;\n}\n:where(.kc-connect-button):disabled {\n  cursor: not-allowed;\n  opacity: 0.6;\n}\n:where(.kc-connect-button--sm) {\n  --kc-btn-padding: 8px 14px;\n  --kc-btn-font-size: 14px;\n  --kc-btn-height: 36px;\n}\n:where(.kc-connect-button--lg) {\n  --kc-btn-padding: 12px 22px;\n  --kc-btn-font-size: 16px;\n  --kc-btn-height: 52px;\n}\n:where(.kc-connect-button__logo) {\n  display: inline-flex;\n  align-items: center;\n  justify-content: center;\n  width: 1.25em;\n  height: 1.25em;\n  overflow: hidden;\n  border-radius: 4px;\n}\n:where(.kc-connect-button__logo) > :where(img, svg) {\n  width: 100%;\n  height: 100%;\n  object-fit: contain;\n}\n';

  // src/core/errors.ts
  var KryptosConnectError = class extends Error {
    constructor(code, message, cause) {
      super(message || code);
      Object.setPrototypeOf(this, new.target.prototype);
      this.name = "KryptosConnectError";
      this.code = code;
      if (cause !== void 0) this.cause = cause;
    }
  };
  function hasCode(value) {
    return value instanceof Error && typeof value.code === "string";
  }
  function toConnectError(err, fallback, message) {
    if (err instanceof KryptosConnectError) return err;
    if (hasCode(err)) return new KryptosConnectError(err.code, err.message, err);
    const detail = err instanceof Error && err.message ? err.message : message;
    return new KryptosConnectError(fallback, detail, err);
  }

  // src/core/messages.ts
  var TEXT = {
    en: {
      close: "Close",
      originTitle: "Kryptos Connect is not set up for this site",
      originLead: (origin) => `This page (${origin}) is not allowed to open Kryptos Connect for this app, so nothing can be shared from here. Please try again later or contact the site's support.`,
      originDev: "For the developer \u2014 register this origin on the Kryptos Connect server:",
      configTitle: "Kryptos Connect is not configured",
      configLead: "This app did not give its Kryptos Connect client id, so the connection cannot start."
    },
    fr: {
      close: "Fermer",
      originTitle: "Kryptos Connect n\u2019est pas configur\xE9 pour ce site",
      originLead: (origin) => `Cette page (${origin}) n\u2019est pas autoris\xE9e \xE0 ouvrir Kryptos Connect pour cette application : rien ne peut \xEAtre partag\xE9 d\u2019ici. R\xE9essayez plus tard ou contactez le support du site.`,
      originDev: "Pour le d\xE9veloppeur \u2014 enregistrez cette origine sur le serveur Kryptos Connect :",
      configTitle: "Kryptos Connect n\u2019est pas configur\xE9",
      configLead: "Cette application n\u2019a pas fourni son identifiant client Kryptos Connect : la connexion ne peut pas d\xE9marrer."
    }
  };
  function noticeText(language) {
    return /^fr\b/i.test(language) ? TEXT.fr : TEXT.en;
  }
  function addOriginCommand(clientId, origin) {
    return `kryptos-connect clients update ${clientId} --add-origin ${origin}`;
  }

  // src/core/protocol.ts
  var WIDGET_SOURCE = "kryptos-connect";
  var DEFAULT_LABEL = "Connect to Kryptos";
  function widgetUrl(p) {
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
  function readWidgetMessage(data) {
    if (!data || typeof data !== "object") return null;
    const d = data;
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
          message: String(d.message || "Kryptos Connect failed")
        };
      case "close":
        return { kind: "close" };
      default:
        return null;
    }
  }
  function normalizeTheme(theme) {
    return theme === "dark" || theme === "auto" ? theme : "light";
  }
  function normalizeBase(url, relativeTo) {
    const u = new URL(String(url), relativeTo);
    return (u.origin + u.pathname).replace(/\/+$/, "");
  }
  function baseFromScriptUrl(src, relativeTo) {
    const u = new URL(String(src), relativeTo);
    const prefix = /^(.*?)\/sdk\/[^/]+\.js$/.exec(u.pathname);
    return u.origin + (prefix ? prefix[1].replace(/\/+$/, "") : "");
  }
  function callbacksOf(options) {
    const both = (a, b) => (v) => {
      if (a) a(v);
      if (b && b !== a) b(v);
    };
    return {
      success: both(options.onConnectSuccess, options.onSuccess),
      error: both(options.onConnectError, options.onError),
      event: options.onEvent || (() => void 0)
    };
  }
  function mergeConfig(config, options) {
    const extra = options.extraConfig || {};
    const merged = { ...config };
    if (typeof extra.appName === "string") merged.appName = extra.appName;
    if (typeof extra.appLogo === "string") merged.appLogo = extra.appLogo;
    if (extra.theme) merged.theme = extra.theme;
    if (extra.language) merged.language = extra.language;
    if (Array.isArray(extra.authMethods) && extra.authMethods.length) merged.authMethods = extra.authMethods;
    if (typeof extra.walletConnectProjectId === "string") merged.walletConnectProjectId = extra.walletConnectProjectId;
    merged.cssVars = { ...config.cssVars || {}, ...extra.cssVars || {} };
    return merged;
  }

  // src/core/theme.ts
  var KC_CSS_VARS = [
    "--kc-primary",
    "--kc-primary-hover",
    "--kc-primary-light",
    "--kc-primary-text",
    "--kc-primary-rgb",
    "--kc-bg-primary",
    "--kc-bg-secondary",
    "--kc-bg-tertiary",
    "--kc-bg-hover",
    "--kc-text-primary",
    "--kc-text-secondary",
    "--kc-text-tertiary",
    "--kc-text-inverse",
    "--kc-border",
    "--kc-border-focus",
    "--kc-border-radius",
    "--kc-secondary",
    "--kc-secondary-hover",
    "--kc-success",
    "--kc-success-light",
    "--kc-success-dark",
    "--kc-error",
    "--kc-error-light",
    "--kc-error-dark",
    "--kc-warning",
    "--kc-warning-light",
    "--kc-warning-dark",
    "--kc-shadow-sm",
    "--kc-shadow-md",
    "--kc-shadow-lg"
  ];
  function resolveTheme(theme, win) {
    if (theme !== "auto") return theme;
    return typeof win.matchMedia === "function" && win.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function readPageCssVars(el, win) {
    const out = {};
    const styles = [];
    for (let node = el; node; node = node.parentElement) {
      try {
        styles.push(win.getComputedStyle(node));
      } catch {
        break;
      }
    }
    for (const name of KC_CSS_VARS) {
      for (const style of styles) {
        const value = style.getPropertyValue(name).trim();
        if (value) {
          out[name] = value;
          break;
        }
      }
    }
    return out;
  }
  function sanitizeCssVars(vars) {
    const out = {};
    if (!vars) return out;
    for (const [name, value] of Object.entries(vars)) {
      if (!/^--kc-[a-z0-9-]+$/.test(name) || value == null) continue;
      const v = String(value).trim();
      if (v && v.length <= 200 && !/[;{}<>]/.test(v)) out[name] = v;
    }
    return out;
  }

  // src/core/overlay.ts
  var FALLBACK_CLOSE_AFTER_MS = 1e4;
  function css(el, styles) {
    for (const [k, v] of Object.entries(styles)) {
      if (v == null) continue;
      if (k.includes("-")) el.style.setProperty(k, v);
      else el.style[k] = v;
    }
  }
  function safely(win, fn) {
    try {
      fn();
    } catch (e) {
      win.setTimeout(() => {
        throw e;
      });
    }
  }
  var LIGHT = { bg: "#ffffff", text: "#1f2937", muted: "#4b5563", code: "#f3f4f6" };
  var DARK = { bg: "#0a0a0a", text: "#f6f6f8", muted: "#e5e7eb", code: "#1a1a1d" };
  function mountOverlay(p) {
    const { win, callbacks } = p;
    const doc = win.document;
    const theme = resolveTheme(p.widget.theme, win);
    const pageOrigin = win.location.origin;
    const serverOrigin = new URL(p.widget.baseUrl).origin;
    const text = noticeText(p.widget.language);
    const overlay = doc.createElement("div");
    overlay.setAttribute("data-kryptos-connect", "overlay");
    overlay.setAttribute("data-kc-theme", theme);
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "Kryptos Connect");
    css(overlay, {
      position: "fixed",
      top: "0",
      right: "0",
      bottom: "0",
      left: "0",
      zIndex: "2147483646",
      display: "flex",
      alignItems: "center",
      justifyContent: "center",
      background: "rgba(15, 23, 42, 0.55)",
      opacity: "0",
      transition: "opacity 160ms ease"
    });
    doc.body.appendChild(overlay);
    const cssVars = { ...readPageCssVars(overlay, win), ...p.widget.cssVars };
    const palette = theme === "dark" ? DARK : LIGHT;
    const bg = cssVars["--kc-bg-primary"] || palette.bg;
    const frame = doc.createElement("iframe");
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-popups");
    frame.setAttribute("title", "Kryptos Connect");
    frame.setAttribute("allow", "clipboard-write");
    css(frame, {
      border: "0",
      display: "block",
      background: bg,
      boxShadow: "0 25px 50px -12px rgba(0, 0, 0, 0.35)",
      transform: "translateY(8px)",
      transition: "transform 180ms ease"
    });
    frame.src = widgetUrl({ ...p.widget, cssVars, pageOrigin });
    const fallbackClose = doc.createElement("button");
    fallbackClose.type = "button";
    fallbackClose.setAttribute("aria-label", text.close);
    fallbackClose.textContent = "\xD7";
    css(fallbackClose, {
      position: "absolute",
      top: "12px",
      right: "12px",
      width: "40px",
      height: "40px",
      border: "0",
      borderRadius: "999px",
      background: "rgba(255, 255, 255, 0.9)",
      color: "#111827",
      fontSize: "24px",
      lineHeight: "40px",
      cursor: "pointer",
      display: "none"
    });
    overlay.appendChild(frame);
    overlay.appendChild(fallbackClose);
    const previousFocus = doc.activeElement;
    const previousOverflow = doc.documentElement.style.overflow;
    const media = typeof win.matchMedia === "function" ? win.matchMedia("(max-width: 480px), (max-height: 600px)") : null;
    let ready = false;
    let delivered = false;
    let removed = false;
    let notice = null;
    const layout = () => {
      const compact = !!media && media.matches;
      const box = compact ? { width: "100%", height: "100%", maxWidth: "none", maxHeight: "none", borderRadius: "0" } : {
        width: "420px",
        height: "700px",
        maxWidth: "calc(100vw - 32px)",
        maxHeight: "calc(100vh - 32px)",
        borderRadius: "16px"
      };
      css(frame, box);
    };
    const deliver = (fn) => {
      if (delivered) return;
      delivered = true;
      safely(win, fn);
    };
    const teardown = () => {
      if (removed) return;
      removed = true;
      win.removeEventListener("message", onMessage);
      doc.removeEventListener("keydown", onKeydown);
      doc.removeEventListener("focusin", onFocusIn);
      if (media) {
        if (media.removeEventListener) media.removeEventListener("change", layout);
        else if (media.removeListener) media.removeListener(layout);
      }
      win.clearTimeout(fallbackTimer);
      if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
      doc.documentElement.style.overflow = previousOverflow;
      if (previousFocus && typeof previousFocus.focus === "function" && doc.contains(previousFocus)) {
        try {
          previousFocus.focus();
        } catch {
        }
      }
      p.onTeardown();
    };
    const finish = (fn) => {
      if (delivered) {
        teardown();
        return;
      }
      teardown();
      deliver(fn);
    };
    const closeWith = (code, message) => finish(() => callbacks.error(new KryptosConnectError(code, message)));
    const userClosed = () => closeWith("USER_CLOSED", "The user closed Kryptos Connect");
    const showNotice = (code, title, lead, devLabel, command) => {
      if (notice || removed) return;
      if (frame.parentNode) frame.parentNode.removeChild(frame);
      fallbackClose.style.display = "none";
      notice = doc.createElement("div");
      notice.setAttribute("data-kryptos-connect", "notice");
      notice.setAttribute("data-code", code);
      notice.setAttribute("role", "alert");
      css(notice, {
        boxSizing: "border-box",
        width: "440px",
        maxWidth: "calc(100vw - 32px)",
        maxHeight: "calc(100vh - 32px)",
        overflow: "auto",
        padding: "24px",
        borderRadius: cssVars["--kc-border-radius"] ? `calc(${cssVars["--kc-border-radius"]} * 2)` : "16px",
        background: bg,
        color: cssVars["--kc-text-primary"] || palette.text,
        boxShadow: "0 25px 50px -12px rgba(0, 0, 0, 0.35)",
        fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        fontSize: "15px",
        lineHeight: "1.5",
        textAlign: "left"
      });
      const h = doc.createElement("h2");
      h.textContent = title;
      css(h, { margin: "0 0 8px", fontSize: "18px", lineHeight: "1.3", fontWeight: "650" });
      const lp = doc.createElement("p");
      lp.textContent = lead;
      css(lp, { margin: "0 0 16px", color: cssVars["--kc-text-secondary"] || palette.muted });
      notice.appendChild(h);
      notice.appendChild(lp);
      if (command) {
        const dl = doc.createElement("p");
        dl.textContent = devLabel;
        css(dl, { margin: "0 0 6px", fontSize: "13px", color: cssVars["--kc-text-secondary"] || palette.muted });
        const code2 = doc.createElement("code");
        code2.textContent = command;
        css(code2, {
          display: "block",
          padding: "10px 12px",
          marginBottom: "20px",
          borderRadius: "8px",
          background: cssVars["--kc-bg-secondary"] || palette.code,
          fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
          fontSize: "13px",
          wordBreak: "break-all",
          userSelect: "all"
        });
        notice.appendChild(dl);
        notice.appendChild(code2);
      }
      const close = doc.createElement("button");
      close.type = "button";
      close.textContent = text.close;
      close.setAttribute("data-kryptos-connect", "notice-close");
      css(close, {
        display: "block",
        width: "100%",
        minHeight: "44px",
        padding: "10px 18px",
        border: "0",
        borderRadius: cssVars["--kc-border-radius"] || "10px",
        background: palette.text,
        color: palette.bg,
        font: "inherit",
        fontWeight: "600",
        cursor: "pointer"
      });
      close.addEventListener("click", teardown);
      notice.appendChild(close);
      overlay.appendChild(notice);
      try {
        close.focus();
      } catch {
      }
    };
    const originNotAllowed = (origin) => {
      const clientId = p.widget.clientId;
      const command = addOriginCommand(clientId, origin);
      showNotice("ORIGIN_NOT_ALLOWED", text.originTitle, text.originLead(origin), text.originDev, command);
      deliver(
        () => callbacks.error(
          new KryptosConnectError(
            "ORIGIN_NOT_ALLOWED",
            `This page's origin ${origin} is not registered for the Kryptos Connect client ${clientId}, so the browser refuses to show the widget. Register it on the server: ${command}`
          )
        )
      );
    };
    function onMessage(event) {
      if (event.source !== frame.contentWindow || event.origin !== serverOrigin) return;
      const signal = readWidgetMessage(event.data);
      if (!signal) return;
      switch (signal.kind) {
        case "event":
          if (signal.event.type === "ready") {
            ready = true;
            fallbackClose.style.display = "none";
          }
          safely(win, () => callbacks.event(signal.event));
          break;
        case "success":
          finish(() => callbacks.success(signal.consent));
          break;
        case "error":
          closeWith(signal.code, signal.message);
          break;
        case "close":
          userClosed();
          break;
      }
    }
    function onKeydown(event) {
      if (event.key !== "Escape") return;
      event.preventDefault();
      userClosed();
    }
    function onFocusIn(event) {
      const target = event.target;
      if (target && overlay.contains(target)) return;
      const inside = notice ? notice.querySelector("button") : frame;
      if (inside) inside.focus();
    }
    fallbackClose.addEventListener("click", userClosed);
    win.addEventListener("message", onMessage);
    doc.addEventListener("keydown", onKeydown);
    doc.addEventListener("focusin", onFocusIn);
    if (media) {
      if (media.addEventListener) media.addEventListener("change", layout);
      else if (media.addListener) media.addListener(layout);
    }
    const fallbackTimer = win.setTimeout(() => {
      if (!ready && !notice) fallbackClose.style.display = "block";
    }, FALLBACK_CLOSE_AFTER_MS);
    layout();
    doc.documentElement.style.overflow = "hidden";
    const show = () => {
      overlay.style.opacity = "1";
      frame.style.transform = "none";
      if (!notice) frame.focus();
    };
    if (typeof win.requestAnimationFrame === "function") win.requestAnimationFrame(show);
    else show();
    if (pageOrigin !== serverOrigin) {
      if (!p.widget.clientId) {
        showNotice("INVALID_CONFIG", text.configTitle, text.configLead, "", "");
        deliver(
          () => callbacks.error(
            new KryptosConnectError(
              "INVALID_CONFIG",
              "clientId is required to open Kryptos Connect from another origin (set it in the provider config or KryptosConnect.init)"
            )
          )
        );
      } else if (typeof win.fetch === "function") {
        const url = `${p.widget.baseUrl}/widget/origin-check?client_id=${encodeURIComponent(p.widget.clientId)}`;
        win.fetch(url, { method: "GET", mode: "cors", credentials: "omit", cache: "no-store" }).then((res) => res.ok ? res.json() : null).then((body) => {
          const data = body && typeof body === "object" ? body.data : null;
          if (!data || typeof data !== "object") return;
          const { allowed, origin } = data;
          if (allowed === false && !ready && !removed) {
            originNotAllowed(typeof origin === "string" && origin ? origin : pageOrigin);
          }
        }).catch(() => {
        });
      }
    }
    return { overlay, close: closeWith };
  }

  // src/core/client.ts
  var VERSION = "1.0.0";
  var DEFAULT_AUTH = ["email", "anonymous"];
  function resolveConfig(config, defaultBaseUrl) {
    const out = {
      clientId: String(config.clientId || ""),
      appName: String(config.appName || ""),
      theme: normalizeTheme(config.theme),
      language: String(config.language || "en"),
      authMethods: Array.isArray(config.authMethods) && config.authMethods.length ? [...config.authMethods] : [...DEFAULT_AUTH],
      cssVars: sanitizeCssVars(config.cssVars),
      baseUrl: String(config.baseUrl || defaultBaseUrl())
    };
    if (typeof config.appLogo === "string" && config.appLogo) out.appLogo = config.appLogo;
    if (typeof config.walletConnectProjectId === "string" && config.walletConnectProjectId) {
      out.walletConnectProjectId = config.walletConnectProjectId;
    }
    return out;
  }
  function installButtonSheet(doc) {
    const marked = doc;
    if (marked.__kcButtonSheet) return true;
    try {
      const Sheet = (doc.defaultView || window).CSSStyleSheet;
      const sheet = new Sheet();
      sheet.replaceSync(styles_default);
      doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
      marked.__kcButtonSheet = true;
    } catch {
    }
    return !!marked.__kcButtonSheet;
  }
  function createController(defaultBaseUrl) {
    let config = {};
    let current = null;
    let opening = false;
    let snapshot = { open: false, opening: false };
    const listeners = /* @__PURE__ */ new Set();
    const changed = () => {
      const next = { open: !!current, opening };
      if (next.open === snapshot.open && next.opening === snapshot.opening) return;
      snapshot = next;
      for (const l of [...listeners]) l();
    };
    const controller = {
      version: VERSION,
      init(next) {
        const merged = { ...config, ...next || {} };
        merged.cssVars = { ...next && next.cssVars || config.cssVars || {} };
        config = merged;
        return controller;
      },
      open(options, override) {
        const callbacks = callbacksOf(options || {});
        if (current || opening) return Promise.resolve();
        const report = (err) => {
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
        let baseUrl;
        try {
          baseUrl = normalizeBase(base.baseUrl, win.location.href);
        } catch (e) {
          report(new KryptosConnectError("INVALID_CONFIG", `baseUrl is not a URL: ${base.baseUrl}`, e));
          return Promise.resolve();
        }
        opening = true;
        changed();
        return Promise.resolve().then(() => options.generateLinkToken()).then(
          (result) => {
            opening = false;
            const token = result && (result.link_token || result.linkToken);
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
                appName: cfg.appName || void 0,
                appLogo: cfg.appLogo,
                walletConnectProjectId: cfg.walletConnectProjectId,
                integrationName: integration ? String(integration) : void 0,
                prefill: extra.prefill && typeof extra.prefill === "object" ? extra.prefill : void 0
              },
              callbacks,
              onTeardown: () => {
                current = null;
                changed();
              }
            });
            changed();
          },
          (err) => {
            opening = false;
            changed();
            report(toConnectError(err, "LINK_TOKEN_ERROR", "Could not create a link token"));
          }
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
        const opts = options || {};
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
            color: vars["--kc-primary-text"] || "#ffffff"
          });
        }
        if (opts.style && typeof opts.style === "object") {
          for (const [k, v] of Object.entries(opts.style)) {
            if (v == null) continue;
            if (k.includes("-")) btn.style.setProperty(k, String(v));
            else btn.style[k] = String(v);
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
      }
    };
    return controller;
  }

  // src/global.ts
  (function install(win, doc) {
    if (win.KryptosConnect && win.KryptosConnect.__sdk === "kryptos-connect") return;
    const script = doc.currentScript;
    let scriptBase;
    try {
      scriptBase = script && script.src ? baseFromScriptUrl(script.src, win.location.href) : win.location.origin;
    } catch {
      scriptBase = win.location.origin;
    }
    const sdk = createController(() => scriptBase);
    const api = {
      __sdk: "kryptos-connect",
      version: sdk.version,
      init(config) {
        sdk.init(config);
        return api;
      },
      open: (options) => sdk.open(options),
      close: () => sdk.close(),
      createButton: sdk.createButton,
      isOpen: () => sdk.isOpen(),
      getConfig: () => sdk.getConfig()
    };
    win.KryptosConnect = api;
  })(window, document);
})();

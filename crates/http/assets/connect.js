/*!
 * Kryptos Connect browser SDK — served at /sdk/connect.js. No dependencies.
 *
 *   KryptosConnect.init({ clientId, appName, theme, language, authMethods, cssVars, baseUrl? });
 *   KryptosConnect.open({ generateLinkToken, onConnectSuccess, onConnectError,
 *                         integrationName?, extraConfig?: { prefill } });
 *   document.body.appendChild(KryptosConnect.createButton({ ...same options, children: "Connect" }));
 *
 * The widget runs in a sandboxed iframe served by the Kryptos Connect server.
 * The link token travels in the iframe URL *fragment* (never sent over the
 * network, removed by the widget on load). Results come back by postMessage,
 * accepted only from that iframe and the server's origin.
 */
(function (window, document) {
  "use strict";

  if (window.KryptosConnect && window.KryptosConnect.__sdk === "kryptos-connect") return; // loaded twice

  var VERSION = "1.0.0";
  var WIDGET_SOURCE = "kryptos-connect";   // messages from the widget
  var DEFAULT_LABEL = "Connect to Kryptos";
  var FALLBACK_CLOSE_AFTER_MS = 10000;     // show our own × if the widget never says "ready"

  // Where this script came from = where the widget lives (unless baseUrl is given).
  var scriptOrigin = (function () {
    var s = document.currentScript;
    try { return new URL(s && s.src ? s.src : window.location.href, window.location.href).origin; }
    catch (e) { return window.location.origin; }
  })();

  var config = {
    clientId: "",
    appName: "",
    appLogo: null,
    theme: "light",
    language: "en",
    authMethods: ["email", "anonymous"],
    cssVars: {},
    baseUrl: scriptOrigin
  };

  var current = null;   // the open widget: { overlay, frame, origin, settled, ... }
  var opening = false;  // generateLinkToken() in flight

  // ---------------------------------------------------------------- helpers
  function noop() {}

  function assign(target) {
    for (var i = 1; i < arguments.length; i++) {
      var src = arguments[i];
      if (src) for (var k in src) if (Object.prototype.hasOwnProperty.call(src, k)) target[k] = src[k];
    }
    return target;
  }

  /** Set styles through CSSOM (works under a strict host CSP, unlike style="" attributes). */
  function css(el, styles) {
    for (var k in styles) {
      if (!Object.prototype.hasOwnProperty.call(styles, k) || styles[k] == null) continue;
      if (k.indexOf("-") >= 0) el.style.setProperty(k, String(styles[k]));
      else el.style[k] = styles[k];
    }
  }

  function makeError(code, message, cause) {
    var err = new Error(message || code);
    err.name = "KryptosConnectError";
    err.code = code;
    if (cause) err.cause = cause;
    return err;
  }

  /** Call a user callback without letting its exception break the SDK. */
  function safeCall(fn, arg) {
    try { fn(arg); } catch (e) { setTimeout(function () { throw e; }); }
  }

  function normalizeBase(url) {
    var u = new URL(String(url), window.location.href);
    return (u.origin + u.pathname).replace(/\/+$/, "");
  }

  function themeBackground(theme, cssVars) {
    if (cssVars && cssVars["--kc-bg-primary"]) return cssVars["--kc-bg-primary"];
    var dark = theme === "dark" ||
      (theme === "auto" && window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
    return dark ? "#0a0a0a" : "#ffffff";
  }

  // ------------------------------------------------------------------- init
  /** Set the global configuration. Can be called again at any time; returns the SDK. */
  function init(options) {
    options = options || {};
    var next = assign({}, config, options);
    if (["light", "dark", "auto"].indexOf(next.theme) < 0) next.theme = "light";
    next.language = String(next.language || "en");
    next.cssVars = assign({}, options.cssVars || config.cssVars);
    next.baseUrl = normalizeBase(options.baseUrl || config.baseUrl || scriptOrigin);
    if (!Array.isArray(next.authMethods) || !next.authMethods.length) next.authMethods = ["email", "anonymous"];
    config = next;
    return api;
  }

  // ------------------------------------------------------------------- open
  /**
   * Open the widget. Awaits generateLinkToken(), then shows the overlay.
   * Ignored (resolves immediately) while a widget is already open or opening.
   */
  function open(options) {
    options = options || {};
    if (current || opening) return Promise.resolve();

    var callbacks = {
      success: options.onConnectSuccess || options.onSuccess || noop,
      error: options.onConnectError || options.onError || noop,
      event: options.onEvent || noop
    };
    if (typeof options.generateLinkToken !== "function") {
      safeCall(callbacks.error, makeError("INVALID_CONFIG", "KryptosConnect.open: generateLinkToken is required"));
      return Promise.resolve();
    }

    opening = true;
    return Promise.resolve()
      .then(function () { return options.generateLinkToken(); })
      .then(function (result) {
        opening = false;
        var token = result && (result.link_token || result.linkToken);
        if (typeof token !== "string" || !token) {
          throw makeError("INVALID_LINK_TOKEN", "generateLinkToken() did not return a link_token");
        }
        mount(token, options, callbacks);
      })
      .catch(function (err) {
        opening = false;
        if (current) return;
        safeCall(callbacks.error, err && err.code ? err
          : makeError("LINK_TOKEN_ERROR", (err && err.message) || "Could not create a link token", err));
      });
  }

  /** Build the iframe URL: client_id in the query, everything else in the fragment. */
  function widgetUrl(linkToken, options, cfg) {
    var extra = options.extraConfig || {};
    var frag = new URLSearchParams();
    frag.set("link_token", linkToken);
    frag.set("origin", window.location.origin);
    frag.set("theme", cfg.theme);
    frag.set("lang", cfg.language);
    frag.set("mode", "iframe");
    if (cfg.cssVars && Object.keys(cfg.cssVars).length) frag.set("css", JSON.stringify(cfg.cssVars));
    if (cfg.authMethods) frag.set("auth", cfg.authMethods.join(","));
    var integration = options.integrationName || extra.integrationName;
    if (integration) frag.set("integration", String(integration));
    if (extra.prefill && typeof extra.prefill === "object") frag.set("prefill", JSON.stringify(extra.prefill));
    var query = cfg.clientId ? "?client_id=" + encodeURIComponent(cfg.clientId) : "";
    return cfg.baseUrl + "/connect" + query + "#" + frag.toString();
  }

  function mount(linkToken, options, callbacks) {
    // extraConfig: per-open overrides merged onto the global config.
    var extra = options.extraConfig || {};
    var cfg = assign({}, config, extra);
    cfg.cssVars = assign({}, config.cssVars, extra.cssVars);
    var origin = new URL(cfg.baseUrl).origin;

    var overlay = document.createElement("div");
    overlay.setAttribute("data-kryptos-connect", "overlay");
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "Kryptos Connect");
    css(overlay, {
      position: "fixed", top: "0", right: "0", bottom: "0", left: "0",
      zIndex: "2147483646",
      display: "flex", alignItems: "center", justifyContent: "center",
      background: "rgba(15, 23, 42, 0.55)",
      opacity: "0", transition: "opacity 160ms ease"
    });

    var frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-popups");
    frame.setAttribute("title", "Kryptos Connect");
    frame.setAttribute("allow", "clipboard-write");
    css(frame, {
      border: "0", display: "block",
      background: themeBackground(cfg.theme, cfg.cssVars),
      boxShadow: "0 25px 50px -12px rgba(0, 0, 0, 0.35)",
      transform: "translateY(8px)", transition: "transform 180ms ease"
    });
    frame.src = widgetUrl(linkToken, options, cfg);

    // Last-resort close button, only if the widget never reports "ready"
    // (e.g. blocked by frame-ancestors because this origin is not registered).
    var fallbackClose = document.createElement("button");
    fallbackClose.type = "button";
    fallbackClose.setAttribute("aria-label", "Close");
    fallbackClose.textContent = "\u00d7";
    css(fallbackClose, {
      position: "absolute", top: "12px", right: "12px", width: "40px", height: "40px",
      border: "0", borderRadius: "999px", background: "rgba(255, 255, 255, 0.9)", color: "#111827",
      fontSize: "24px", lineHeight: "40px", cursor: "pointer", display: "none"
    });

    overlay.appendChild(frame);
    overlay.appendChild(fallbackClose);

    var state = {
      overlay: overlay,
      frame: frame,
      origin: origin,
      callbacks: callbacks,
      settled: false,
      ready: false,
      previousFocus: document.activeElement,
      previousOverflow: document.documentElement.style.overflow,
      media: window.matchMedia ? window.matchMedia("(max-width: 480px), (max-height: 600px)") : null
    };

    state.layout = function () {
      var compact = state.media && state.media.matches;
      css(frame, compact
        ? { width: "100%", height: "100%", maxWidth: "none", maxHeight: "none", borderRadius: "0" }
        : { width: "420px", height: "700px", maxWidth: "calc(100vw - 32px)", maxHeight: "calc(100vh - 32px)", borderRadius: "16px" });
    };

    state.onMessage = function (event) {
      // Only our iframe, only the server's origin, only widget messages.
      if (event.source !== frame.contentWindow || event.origin !== origin) return;
      var d = event.data;
      if (!d || typeof d !== "object" || d.source !== WIDGET_SOURCE) return;
      switch (d.type) {
        case "ready":
          state.ready = true;
          fallbackClose.style.display = "none";
          safeCall(callbacks.event, { type: "ready" });
          break;
        case "step":
          safeCall(callbacks.event, { type: "step", step: d.step });
          break;
        case "success":
          var consent = typeof d.public_token === "string" && d.public_token ? { public_token: d.public_token } : null;
          settle(function () { callbacks.success(consent); });
          break;
        case "error":
          settle(function () {
            callbacks.error(makeError(String(d.code || "UNKNOWN_ERROR"), String(d.message || "Kryptos Connect failed")));
          });
          break;
        case "close":
          settle(function () { callbacks.error(makeError("USER_CLOSED", "The user closed Kryptos Connect")); });
          break;
      }
    };

    state.onKeydown = function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        settle(function () { callbacks.error(makeError("USER_CLOSED", "The user closed Kryptos Connect")); });
      }
    };

    // Keep keyboard focus inside the dialog.
    state.onFocusIn = function (event) {
      if (!overlay.contains(event.target)) frame.focus();
    };

    fallbackClose.addEventListener("click", function () {
      settle(function () { callbacks.error(makeError("USER_CLOSED", "The user closed Kryptos Connect")); });
    });

    current = state;
    window.addEventListener("message", state.onMessage);
    document.addEventListener("keydown", state.onKeydown);
    document.addEventListener("focusin", state.onFocusIn);
    if (state.media) {
      if (state.media.addEventListener) state.media.addEventListener("change", state.layout);
      else if (state.media.addListener) state.media.addListener(state.layout);
    }
    state.fallbackTimer = setTimeout(function () {
      if (!state.ready) fallbackClose.style.display = "block";
    }, FALLBACK_CLOSE_AFTER_MS);

    state.layout();
    document.documentElement.style.overflow = "hidden"; // no background scroll
    document.body.appendChild(overlay);
    requestAnimationFrame(function () {
      overlay.style.opacity = "1";
      frame.style.transform = "none";
      frame.focus();
    });
  }

  /** Tear down first, then call the user callback — exactly once per open(). */
  function settle(callback) {
    var state = current;
    if (!state || state.settled) return;
    state.settled = true;
    teardown(state);
    if (callback) {
      try { callback(); } catch (e) { setTimeout(function () { throw e; }); }
    }
  }

  function teardown(state) {
    window.removeEventListener("message", state.onMessage);
    document.removeEventListener("keydown", state.onKeydown);
    document.removeEventListener("focusin", state.onFocusIn);
    if (state.media) {
      if (state.media.removeEventListener) state.media.removeEventListener("change", state.layout);
      else if (state.media.removeListener) state.media.removeListener(state.layout);
    }
    clearTimeout(state.fallbackTimer);
    if (state.overlay.parentNode) state.overlay.parentNode.removeChild(state.overlay);
    document.documentElement.style.overflow = state.previousOverflow;
    if (current === state) current = null;
    var prev = state.previousFocus;
    if (prev && typeof prev.focus === "function" && document.contains(prev)) {
      try { prev.focus(); } catch (e) { /* ignore */ }
    }
  }

  /** Close the open widget from code. onConnectError receives an Error with code "CLOSED". */
  function close() {
    if (!current) return;
    var callbacks = current.callbacks;
    settle(function () { callbacks.error(makeError("CLOSED", "Kryptos Connect was closed")); });
  }

  // ----------------------------------------------------------------- button
  var SIZES = {
    sm: { padding: "8px 14px", fontSize: "14px", minHeight: "36px" },
    md: { padding: "10px 18px", fontSize: "15px", minHeight: "44px" },
    lg: { padding: "12px 22px", fontSize: "16px", minHeight: "52px" }
  };

  // Zero-specificity base rules (:where) so any class of the host page wins.
  // Installed as a constructable stylesheet: CSSOM, so a strict host CSP allows it.
  var BUTTON_CSS =
    ":where(.kc-connect-button){display:inline-flex;align-items:center;justify-content:center;gap:8px;" +
    "padding:var(--kc-btn-padding,10px 18px);min-height:var(--kc-btn-height,44px);font:inherit;" +
    "font-size:var(--kc-btn-font-size,15px);font-weight:600;line-height:1.2;border:0;" +
    "border-radius:var(--kc-border-radius,10px);background:var(--kc-primary,#00c693);" +
    "color:var(--kc-primary-text,#fff);cursor:pointer;transition:background-color .15s ease,transform .05s ease}" +
    ":where(.kc-connect-button):hover{background:var(--kc-primary-hover,#007558)}" +
    ":where(.kc-connect-button):active{transform:translateY(1px)}" +
    ":where(.kc-connect-button):focus-visible{outline:2px solid var(--kc-border-focus,#00c693);outline-offset:2px}" +
    ":where(.kc-connect-button)[aria-busy=true]{cursor:progress;opacity:.75}" +
    ":where(.kc-connect-button):disabled{cursor:not-allowed;opacity:.6}";

  var buttonSheetInstalled = false;
  function installButtonSheet() {
    if (buttonSheetInstalled) return true;
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(BUTTON_CSS);
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
      buttonSheetInstalled = true;
    } catch (e) { /* older browser: fall back to inline CSSOM styles */ }
    return buttonSheetInstalled;
  }

  /**
   * Create a <button> that opens the widget. Options: everything open() takes,
   * plus className, style (object), children (string | Node), size ("sm"|"md"|"lg").
   */
  function createButton(options) {
    options = options || {};
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "kc-connect-button" + (options.className ? " " + options.className : "");

    // Theme variables the button uses (--kc-primary, --kc-primary-text, ...).
    var vars = assign({}, config.cssVars, options.extraConfig && options.extraConfig.cssVars);
    for (var name in vars) if (/^--kc-/.test(name)) btn.style.setProperty(name, String(vars[name]));
    var size = SIZES[options.size] || SIZES.md;
    btn.style.setProperty("--kc-btn-padding", size.padding);
    btn.style.setProperty("--kc-btn-font-size", size.fontSize);
    btn.style.setProperty("--kc-btn-height", size.minHeight);

    if (!installButtonSheet()) {
      css(btn, {
        display: "inline-flex", alignItems: "center", justifyContent: "center", gap: "8px",
        padding: size.padding, minHeight: size.minHeight, fontSize: size.fontSize, fontWeight: "600",
        border: "0", borderRadius: vars["--kc-border-radius"] || "10px", cursor: "pointer",
        background: vars["--kc-primary"] || "#00c693", color: vars["--kc-primary-text"] || "#ffffff"
      });
    }
    if (options.style && typeof options.style === "object") css(btn, options.style);

    var children = options.children != null ? options.children : options.buttonLabel;
    if (children && typeof children === "object" && children.nodeType) btn.appendChild(children);
    else btn.textContent = children != null && children !== "" ? String(children) : DEFAULT_LABEL;

    btn.addEventListener("click", function () {
      if (current || opening) return;
      btn.setAttribute("aria-busy", "true");
      open(options).then(function () { btn.removeAttribute("aria-busy"); });
    });
    return btn;
  }

  // -------------------------------------------------------------------- API
  var api = {
    __sdk: "kryptos-connect",
    version: VERSION,
    init: init,
    open: open,
    close: close,
    createButton: createButton,
    isOpen: function () { return !!current; },
    getConfig: function () { return assign({}, config, { cssVars: assign({}, config.cssVars) }); }
  };

  window.KryptosConnect = api;
})(window, document);

/*
 * Kryptos Connect demo client ("Acme Portfolio").
 *
 * The browser side of a typical integration:
 *   1. generateLinkToken()  → our backend: POST /demo/api/create-link-token
 *   2. KryptosConnect widget (sandboxed iframe)
 *   3. onConnectSuccess({public_token}) → our backend: POST /demo/api/exchange-token
 *   4. our backend reads data with the access token: GET /demo/api/holdings
 * The client secret and the access token stay on the backend.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);

  /**
   * The path prefix this server is reached under ("" at the root, "/kryptos" when a host app
   * mounts it there): the server fills in <meta name="kc-base">. Every request path starts with it.
   */
  const BASE = (function () {
    const meta = document.querySelector('meta[name="kc-base"]');
    const v = meta ? meta.getAttribute("content") || "" : "";
    return /^(\/[A-Za-z0-9._~%-]+)*$/.test(v) ? v : "";
  })();

  // ------------------------------------------------------------ backend calls
  class DemoError extends Error {
    constructor(message, code, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  /** Call the demo backend; unwraps {success, data} envelopes, throws DemoError. */
  async function backend(method, path, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(BASE + path, init);
    } catch (_) {
      throw new DemoError("Network error: is the server running?", "NETWORK_ERROR", 0);
    }
    let json = null;
    try { json = await res.json(); } catch (_) { /* empty body */ }
    if (!res.ok || (json && json.success === false)) {
      const message = (json && (json.error_description || json.message || (typeof json.error === "string" && json.error))) ||
        res.status + " " + res.statusText;
      throw new DemoError(message, (json && json.code) || (json && json.error) || "HTTP_" + res.status, res.status);
    }
    if (json && json.success === true && "data" in json) return json.data;
    return json;
  }

  // ------------------------------------------------------------------ helpers
  function h(tag, props, children) {
    const el = document.createElement(tag);
    if (props) {
      if (props.className) el.className = props.className;
      if (props.text != null) el.textContent = props.text;
      if (props.attrs) for (const k in props.attrs) el.setAttribute(k, props.attrs[k]);
    }
    (children || []).forEach((c) => c != null && el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c))));
    return el;
  }

  function replace(container, ...nodes) {
    container.textContent = "";
    nodes.forEach((n) => n && container.appendChild(n));
  }

  function note(text) { return h("p", { className: "note", text }); }

  function kv(pairs) {
    const dl = h("dl", { className: "kv" });
    pairs.forEach(([k, v]) => {
      if (v == null || v === "") return;
      dl.appendChild(h("dt", { text: k }));
      dl.appendChild(h("dd", {}, [v]));
    });
    return dl;
  }

  function mono(text) { return h("span", { className: "mono", text: String(text) }); }

  function chips(scopes) {
    const list = Array.isArray(scopes) ? scopes : String(scopes || "").split(/\s+/).filter(Boolean);
    return h("span", { className: "chips" }, list.map((s) => h("span", { className: "chip", text: s })));
  }

  function raw(obj) {
    return h("details", { className: "raw" }, [h("summary", { text: "Raw JSON" }), h("pre", { text: JSON.stringify(obj, null, 2) })]);
  }

  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = "status" + (kind ? " is-" + kind : "");
  }

  // ------------------------------------------------------------- client id
  /** The demo client's id: meta tag, ?client_id=, or the create-link-token response. */
  function initialClientId() {
    const meta = document.querySelector('meta[name="kryptos-client-id"]');
    const fromMeta = meta && meta.content && meta.content.indexOf("{{") < 0 ? meta.content : "";
    return fromMeta || new URLSearchParams(location.search).get("client_id") || "";
  }

  // ----------------------------------------------------------- SDK config
  function currentOptions() {
    const accent = $("opt-accent").value;
    // Text on the accent: white or dark ink, whichever reads better (WCAG contrast).
    const ink = contrast(accent, "#ffffff") >= contrast(accent, "#03261c") ? "#ffffff" : "#03261c";
    return {
      theme: $("opt-theme").value,
      language: $("opt-lang").value,
      cssVars: {
        "--kc-primary": accent,
        "--kc-primary-hover": shade(accent, ink === "#ffffff" ? -0.15 : -0.08),
        "--kc-primary-text": ink,
        "--kc-primary-rgb": hexToRgb(accent),
        "--kc-border-focus": accent
      }
    };
  }

  function luminance(hex) {
    const c = hexToRgb(hex).split(", ").map((v) => Number(v) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    const x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }

  /** Acme's logo for the widget header (appLogo): an inline SVG, as a data: URL. */
  const ACME_LOGO = "data:image/svg+xml," + encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#4f46e5"/>' +
    '<path d="M7 21l6-6 4 4 8-8M19 11h6v6" fill="none" stroke="#fff" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round"/></svg>');

  function hexToRgb(hex) {
    const n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255].join(", ");
  }

  /** Lighten (>0) or darken (<0) a #rrggbb colour. */
  function shade(hex, amount) {
    const rgb = hexToRgb(hex).split(", ").map(Number).map((c) =>
      Math.round(amount < 0 ? c * (1 + amount) : c + (255 - c) * amount));
    return "#" + rgb.map((c) => c.toString(16).padStart(2, "0")).join("");
  }

  function configureSdk(clientId) {
    window.KryptosConnect.init(Object.assign({
      clientId: clientId || window.KryptosConnect.getConfig().clientId,
      appName: "Acme Portfolio",
      appLogo: ACME_LOGO,
      authMethods: ["email", "anonymous"]
    }, currentOptions()));
  }

  // ------------------------------------------------------------ connect flow
  async function generateLinkToken() {
    setStatus("Creating a link token…");
    const data = await backend("POST", "/demo/api/create-link-token", {});
    if (data && data.client_id) configureSdk(data.client_id); // read by open() right after
    setStatus(data.isAuthorized ? "Returning user: opening Kryptos Connect…" : "Opening Kryptos Connect…");
    return { link_token: data.link_token, isAuthorized: !!data.isAuthorized };
  }

  async function onConnectSuccess(consent) {
    if (!consent) {
      setStatus("Connected again with your existing grant (no new token needed).", "ok");
    } else {
      setStatus("Exchanging the public token on the backend…");
      try {
        const grant = await backend("POST", "/demo/api/exchange-token", { public_token: consent.public_token });
        renderGrant(grant, "exchange");
        setStatus("Connected! Acme now has a grant.", "ok");
      } catch (err) {
        setStatus("Token exchange failed: " + err.message, "error");
        return;
      }
    }
    await checkSession();
    await loadHoldings();
  }

  function onConnectError(err) {
    if (err.code === "USER_CLOSED" || err.code === "CLOSED") setStatus("Kryptos Connect was closed. Nothing changed.");
    else if (err.code === "ACCESS_DENIED") setStatus("You declined to share your data with Acme.", "error");
    else setStatus("Connection failed (" + (err.code || "ERROR") + "): " + err.message, "error");
  }

  /** (Re)build the SDK button; rebuilt when the "open provider" option changes. */
  function mountButton() {
    if (!window.KryptosConnect) {
      replace($("connect-slot"), note("Could not load /sdk/connect.js."));
      return;
    }
    const button = window.KryptosConnect.createButton({
      generateLinkToken,
      onConnectSuccess,
      onConnectError,
      integrationName: $("opt-integration").value || undefined,
      size: "lg",
      children: "Connect to Kryptos"
    });
    button.setAttribute("data-testid", "demo-connect");
    replace($("connect-slot"), button);
  }

  /** Apply the option panel: SDK config for the widget, CSS variables for the button. */
  function retheme() {
    configureSdk();
    const button = document.querySelector('[data-testid="demo-connect"]');
    const vars = currentOptions().cssVars;
    if (button) Object.keys(vars).forEach((k) => button.style.setProperty(k, vars[k]));
  }

  // ----------------------------------------------------------------- grant
  function renderGrant(grant, origin) {
    if (!grant || !grant.grant_id) {
      replace($("grant"), h("p", { className: "muted", text: "No grant yet. Click “Connect to Kryptos” to create one." }));
      $("revoke").disabled = true;
      return;
    }
    replace($("grant"),
      kv([
        ["Grant id", mono(grant.grant_id)],
        ["Workspace", grant.workspace_id ? mono(grant.workspace_id) : null],
        ["Scopes", chips(grant.scope || grant.granted_scopes || grant.scopes)],
        ["Source", origin === "exchange" ? "Fresh token exchange" : "Stored on the backend"]
      ]),
      raw(grant));
    $("revoke").disabled = false;
  }

  async function revoke() {
    const btn = $("revoke");
    btn.disabled = true;
    setStatus("Revoking the grant…");
    try {
      await backend("POST", "/demo/api/revoke", {});
      setStatus("Disconnected. The grant and its access token are revoked.", "ok");
      replace($("grant"), h("p", { className: "muted", text: "Grant revoked. Connect again to create a new one." }));
    } catch (err) {
      setStatus("Revoke failed: " + err.message, "error");
      btn.disabled = false;
      return;
    }
    await checkSession();
    await loadHoldings();
  }

  // --------------------------------------------------------------- session
  async function checkSession() {
    const box = $("session");
    replace(box, h("p", { className: "muted", text: "Checking…" }));
    let data;
    try {
      data = await backend("GET", "/demo/api/session");
    } catch (err) {
      if (err.status === 404) replace(box, h("p", { className: "muted", text: "No stored access token: not connected yet." }));
      else replace(box, note("Session check failed: " + err.message));
      return null;
    }
    if (!data || data.has_valid_session === undefined) {
      replace(box, h("p", { className: "muted", text: "No stored access token: not connected yet." }), data ? raw(data) : null);
      return data;
    }
    const valid = !!data.has_valid_session;
    replace(box,
      kv([
        ["Status", h("span", { className: "pill " + (valid ? "pill-ok" : "pill-bad"), text: valid ? "Valid" : "Invalid" })],
        ["Reason", valid ? null : data.reason],
        ["User", data.user_id ? mono(data.user_id) : null],
        ["Workspace", data.workspace_name || (data.workspace_id ? mono(data.workspace_id) : null)],
        ["Grant", data.grant_id ? mono(data.grant_id) : null],
        ["Scopes", data.granted_scopes ? chips(data.granted_scopes) : null]
      ]),
      raw(data));
    // After a reload the session tells us which grant the backend holds.
    if (valid && data.grant_id && $("revoke").disabled) {
      renderGrant({ grant_id: data.grant_id, workspace_id: data.workspace_id, scope: data.granted_scopes }, "session");
      setStatus("Connected.", "ok");
    }
    if (!valid) $("revoke").disabled = true;
    return data;
  }

  // -------------------------------------------------------------- holdings
  function money(value, currency) {
    const n = Number(value);
    if (value == null || !isFinite(n)) return "—";
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD", maximumFractionDigits: 2 }).format(n);
    } catch (_) {
      return n.toFixed(2) + " " + (currency || "");
    }
  }

  function quantity(value) {
    const n = Number(value);
    return value == null || !isFinite(n) ? "—" : new Intl.NumberFormat(undefined, { maximumFractionDigits: 8 }).format(n);
  }

  function signed(value, currency) {
    const n = Number(value);
    if (value == null || !isFinite(n)) return h("span", { text: "—" });
    return h("span", { className: n > 0 ? "up" : n < 0 ? "down" : "", text: (n > 0 ? "+" : "") + money(n, currency) });
  }

  /** A signed percentage, e.g. `+2.5%` (the Data API's 24-hour changes are percentages). */
  function signedPct(value) {
    const n = Number(value);
    if (value == null || !isFinite(n)) return h("span", { text: "—" });
    const text = (n > 0 ? "+" : "") + n.toLocaleString(undefined, { maximumFractionDigits: 2 }) + "%";
    return h("span", { className: n > 0 ? "up" : n < 0 ? "down" : "", text: text });
  }

  async function loadHoldings() {
    const box = $("holdings");
    replace(box, h("p", { className: "muted", text: "Loading holdings…" }));
    let data;
    try {
      data = await backend("GET", "/demo/api/holdings");
    } catch (err) {
      if (err.status === 404) {
        replace(box, note("Holdings are not available yet: either nothing is connected, or this server does not serve the Data API holdings endpoint yet."));
      } else if (err.status === 401) {
        replace(box, note("Not authorized: the grant is missing or was revoked. Connect again."));
      } else {
        replace(box, note("Could not load holdings: " + err.message));
      }
      return;
    }
    if (data && !data.holdings && data.data && data.data.holdings) data = data.data;
    const holdings = (data && data.holdings) || [];
    const currency = (holdings[0] && holdings[0].baseCurrency) || "USD";
    if (!holdings.length) {
      replace(box, note("No holdings yet. Balances appear once the connected accounts finish syncing — try Refresh in a moment."), raw(data));
      return;
    }
    const s = data.summary || {};
    const summary = h("div", { className: "summary" }, [
      h("div", {}, [h("span", { text: "Total value" }), h("strong", { text: money(s.totalValue, currency) })]),
      h("div", {}, [h("span", { text: "Unrealized P&L" }), h("strong", {}, [signed(s.totalUnrealizedPnL, currency)])]),
      h("div", {}, [h("span", { text: "24h" }), h("strong", {}, [signedPct(s.total24hrChange)])])
    ]);
    const rows = holdings.map((item) => {
      const a = item.asset || {};
      const shown = a.logoUrl && (/^https:/.test(a.logoUrl) || a.logoUrl.startsWith(location.origin + "/"));
      // Without a logo, the symbol's first letter in a disc of the same size keeps the column aligned.
      const logo = shown
        ? h("img", { attrs: { src: a.logoUrl, alt: "", loading: "lazy" } })
        : h("span", { className: "asset-mark", attrs: { "aria-hidden": "true" }, text: (a.symbol || a.tokenId || "?").charAt(0) });
      return h("tr", {}, [
        h("td", {}, [h("span", { className: "asset" }, [logo, h("span", { className: "asset-name" }, [
          h("strong", { text: a.symbol || a.tokenId || "?" }),
          h("small", { text: [a.publicName, a.chainId].filter(Boolean).join(" · ") })
        ])])]),
        h("td", { text: quantity(item.totalQuantity) }),
        h("td", { text: money(item.marketPrice, item.baseCurrency || currency) }),
        h("td", { text: money(item.marketValue, item.baseCurrency || currency) }),
        h("td", {}, [signedPct(item["24hrChange"])])
      ]);
    });
    const table = h("table", {}, [
      h("thead", {}, [h("tr", {}, ["Asset", "Quantity", "Price", "Value", "24h"].map((t) => h("th", { text: t, attrs: { scope: "col" } })))]),
      h("tbody", {}, rows)
    ]);
    replace(box, summary, h("div", { className: "table-wrap" }, [table]), raw(data));
  }

  // ------------------------------------------------------------------ boot
  async function boot() {
    if (window.KryptosConnect) configureSdk(initialClientId());
    mountButton();
    ["opt-theme", "opt-lang", "opt-accent"].forEach((id) => $(id).addEventListener("input", retheme));
    $("opt-integration").addEventListener("change", () => { mountButton(); retheme(); });
    $("revoke").addEventListener("click", revoke);
    $("check-session").addEventListener("click", checkSession);
    $("refresh-holdings").addEventListener("click", loadHoldings);
    const session = await checkSession();
    if (session && session.has_valid_session) await loadHoldings();
    else replace($("holdings"), h("p", { className: "muted", text: "Connect an account to see its holdings." }));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();

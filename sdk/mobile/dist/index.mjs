// src/context.tsx
import { createContext, useContext, useMemo } from "react";

// src/defaults.ts
var SERVED_BASE_URL = "%%KRYPTOS_CONNECT_BASE_URL%%";
function isMarker(url) {
  return url.startsWith("%%") && url.endsWith("%%");
}

// src/protocol.ts
var WIDGET_SOURCE = "kryptos-connect";
var PROTOCOL_VERSION = 1;
var ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
function isLinkToken(token) {
  return typeof token === "string" && /^link_[A-Za-z0-9_-]+$/.test(token);
}
function originOf(url) {
  const m = /^(https?):\/\/([^/?#\s]+)/i.exec(url);
  if (!m || !m[1] || !m[2] || m[2].includes("@")) return null;
  return `${m[1].toLowerCase()}://${m[2].toLowerCase()}`;
}
function normalizeBaseUrl(url) {
  const trimmed = url.trim().replace(/\/+$/, "");
  if (!originOf(trimmed) || /[?#\s]/.test(trimmed)) return null;
  return trimmed;
}
function buildConnectUrl(p) {
  const fragment = [
    ["link_token", p.linkToken],
    ["mode", "webview"],
    ["theme", p.theme]
  ];
  if (p.language) fragment.push(["lang", p.language]);
  if (p.walletConnectProjectId) fragment.push(["walletconnect_project_id", p.walletConnectProjectId]);
  const hash = fragment.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
  const query = p.clientId ? `?client_id=${encodeURIComponent(p.clientId)}` : "";
  return `${p.baseUrl}/connect${query}#${hash}`;
}
function isRecord(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function parseWidgetMessage(data) {
  if (typeof data !== "string" || data.length > 16384) return null;
  let v;
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
      return typeof token === "string" && /^public_[A-Za-z0-9_-]+$/.test(token) ? { type: "success", public_token: token } : null;
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

// src/context.tsx
import { jsx } from "react/jsx-runtime";
var Ctx = createContext(null);
function resolveConfig(config) {
  var _a;
  const raw = (_a = config.baseUrl) != null ? _a : isMarker(SERVED_BASE_URL) ? "" : SERVED_BASE_URL;
  return {
    config,
    theme: config.theme === "dark" ? "dark" : "light",
    baseUrl: raw ? normalizeBaseUrl(raw) : null
  };
}
function KryptosConnectProvider({ config, children }) {
  const { appName, appLogo, clientId, theme, walletConnectProjectId, baseUrl, language } = config;
  const value = useMemo(
    () => resolveConfig({ appName, appLogo, clientId, theme, walletConnectProjectId, baseUrl, language }),
    [appName, appLogo, clientId, theme, walletConnectProjectId, baseUrl, language]
  );
  return /* @__PURE__ */ jsx(Ctx.Provider, { value, children });
}
function useKryptosConnectConfig() {
  const value = useContext(Ctx);
  if (!value) {
    throw new Error("Kryptos Connect: wrap your app in <KryptosConnectProvider config={\u2026}>.");
  }
  return value;
}

// src/KryptosConnectButton.tsx
import { useCallback as useCallback2, useState as useState2 } from "react";
import { Pressable as Pressable2, StyleSheet as StyleSheet2, Text as Text2 } from "react-native";

// src/KryptosConnectModal.tsx
import { isValidElement, useCallback, useEffect, useRef, useState } from "react";
import {
  ActivityIndicator,
  Image,
  Linking,
  Modal,
  Pressable,
  StyleSheet,
  Text,
  View
} from "react-native";
import { WebView } from "react-native-webview";

// src/strings.ts
var EN = {
  loading: "Opening Kryptos Connect\u2026",
  cancel: "Cancel",
  failedTitle: "Kryptos Connect can\u2019t be reached",
  failedLead: "Check your connection and try again.",
  retry: "Try again",
  close: "Close",
  httpStatus: (status) => `The server answered with HTTP ${status}.`
};
var FR = {
  loading: "Ouverture de Kryptos Connect\u2026",
  cancel: "Annuler",
  failedTitle: "Kryptos Connect est injoignable",
  failedLead: "V\xE9rifiez votre connexion puis r\xE9essayez.",
  retry: "R\xE9essayer",
  close: "Fermer",
  httpStatus: (status) => `Le serveur a r\xE9pondu HTTP ${status}.`
};
function stringsFor(language) {
  return language && /^fr\b/i.test(language) ? FR : EN;
}

// src/theme.ts
var PALETTES = {
  light: {
    background: "#ffffff",
    text: "#1f2937",
    muted: "#4b5563",
    primary: "#00c693",
    primaryText: "#03261c",
    border: "#e5e7eb"
  },
  dark: {
    background: "#0a0a0a",
    text: "#f6f6f8",
    muted: "#e5e7eb",
    primary: "#00c693",
    primaryText: "#03261c",
    border: "#334155"
  }
};

// src/KryptosConnectModal.tsx
import { jsx as jsx2, jsxs } from "react/jsx-runtime";
function safeCall(fn) {
  try {
    fn();
  } catch (e) {
    setTimeout(() => {
      throw e;
    }, 0);
  }
}
function KryptosConnectModal({
  open,
  setOpen,
  generateLinkToken,
  onSuccess,
  onError
}) {
  const { config, theme, baseUrl } = useKryptosConnectConfig();
  const palette = PALETTES[theme];
  const strings = stringsFor(config.language);
  const [phase, setPhase] = useState({ kind: "idle" });
  const session = useRef({ id: 0, settled: true });
  const latest = useRef({ setOpen, generateLinkToken, onSuccess, onError });
  latest.current = { setOpen, generateLinkToken, onSuccess, onError };
  const finish = useCallback((id, outcome) => {
    const s = session.current;
    if (s.id !== id || s.settled) return;
    s.settled = true;
    setPhase({ kind: "idle" });
    const cb = latest.current;
    safeCall(() => cb.setOpen(false));
    if (outcome.ok) {
      const { onSuccess: done } = cb;
      if (done) safeCall(() => done(outcome.consent));
    } else {
      const { onError: failed } = cb;
      if (failed) safeCall(() => failed(outcome.error));
    }
  }, []);
  const fail = useCallback(
    (id, code, message) => finish(id, { ok: false, error: { code, message } }),
    [finish]
  );
  useEffect(() => {
    if (!open) {
      session.current = { id: session.current.id + 1, settled: true };
      setPhase({ kind: "idle" });
      return;
    }
    const id = session.current.id + 1;
    session.current = { id, settled: false };
    if (!baseUrl) {
      fail(id, "INVALID_CONFIG", "No Kryptos Connect server: set config.baseUrl (an http(s) URL).");
      return;
    }
    setPhase({ kind: "token" });
    Promise.resolve().then(() => latest.current.generateLinkToken()).then(
      (token) => {
        if (session.current.id !== id || session.current.settled) return;
        if (!isLinkToken(token)) {
          fail(id, "INVALID_LINK_TOKEN", "generateLinkToken() did not return a link token (link_\u2026).");
          return;
        }
        const url = buildConnectUrl({
          baseUrl,
          linkToken: token,
          clientId: config.clientId,
          theme,
          language: config.language,
          walletConnectProjectId: config.walletConnectProjectId
        });
        setPhase({ kind: "web", url, attempt: 0, loading: true });
      },
      (err) => {
        const detail = err instanceof Error && err.message ? `: ${err.message}` : "";
        fail(id, "LINK_TOKEN_ERROR", `generateLinkToken() failed${detail}`);
      }
    );
  }, [open]);
  const serverOrigin = baseUrl ? originOf(baseUrl) : null;
  const close = useCallback(() => {
    const current = session.current.id;
    if (phase.kind === "failed") {
      fail(current, "WIDGET_UNAVAILABLE", `Kryptos Connect could not be loaded (${phase.detail})`);
    } else {
      fail(current, "USER_CLOSED", "The user closed Kryptos Connect.");
    }
  }, [fail, phase]);
  const onMessage = useCallback(
    (event) => {
      const { data, url } = event.nativeEvent;
      if (!serverOrigin || typeof url !== "string" || originOf(url) !== serverOrigin) return;
      const msg = parseWidgetMessage(data);
      if (!msg) return;
      const id = session.current.id;
      switch (msg.type) {
        case "ready":
        case "step":
          setPhase((p) => p.kind === "web" && p.loading ? { ...p, loading: false } : p);
          return;
        case "success":
          finish(id, { ok: true, consent: msg.public_token ? { public_token: msg.public_token } : null });
          return;
        case "error":
          fail(id, msg.code, msg.message);
          return;
        case "close":
          fail(id, "USER_CLOSED", "The user closed Kryptos Connect.");
          return;
      }
    },
    [fail, finish, serverOrigin]
  );
  const onShouldStartLoadWithRequest = useCallback(
    (req) => {
      if (req.url.startsWith("about:")) return true;
      const origin = originOf(req.url);
      if (origin && origin === serverOrigin) return true;
      if (origin) Linking.openURL(req.url).catch(() => void 0);
      return false;
    },
    [serverOrigin]
  );
  const onLoad = useCallback(() => {
    setPhase((p) => p.kind === "web" && p.loading ? { ...p, loading: false } : p);
  }, []);
  const onLoadError = useCallback((event) => {
    const detail = event.nativeEvent.description || `error ${event.nativeEvent.code}`;
    setPhase((p) => p.kind === "web" ? { kind: "failed", url: p.url, attempt: p.attempt, detail } : p);
  }, []);
  const onHttpError = useCallback(
    (event) => {
      const detail = strings.httpStatus(event.nativeEvent.statusCode);
      setPhase((p) => p.kind === "web" ? { kind: "failed", url: p.url, attempt: p.attempt, detail } : p);
    },
    [strings]
  );
  const retry = useCallback(() => {
    setPhase((p) => p.kind === "failed" ? { kind: "web", url: p.url, attempt: p.attempt + 1, loading: true } : p);
  }, []);
  const visible = open && phase.kind !== "idle";
  if (!visible) return null;
  return /* @__PURE__ */ jsx2(
    Modal,
    {
      visible: true,
      animationType: "slide",
      presentationStyle: "fullScreen",
      onRequestClose: close,
      testID: "kryptos-connect-modal",
      children: /* @__PURE__ */ jsxs(View, { style: [styles.root, { backgroundColor: palette.background }], children: [
        phase.kind === "web" ? /* @__PURE__ */ jsx2(
          WebView,
          {
            testID: "kryptos-connect-webview",
            source: { uri: phase.url },
            style: [styles.web, { backgroundColor: palette.background }],
            containerStyle: { backgroundColor: palette.background },
            originWhitelist: serverOrigin ? [serverOrigin, "about:*"] : ["about:*"],
            onMessage,
            onLoad,
            onError: onLoadError,
            onHttpError,
            onShouldStartLoadWithRequest,
            setSupportMultipleWindows: false,
            javaScriptEnabled: true,
            domStorageEnabled: true,
            contentInsetAdjustmentBehavior: "always",
            forceDarkOn: theme === "dark",
            accessibilityLabel: `Kryptos Connect \u2014 ${config.appName}`
          },
          phase.attempt
        ) : null,
        phase.kind === "token" || phase.kind === "web" && phase.loading ? /* @__PURE__ */ jsx2(Loading, { palette, strings, logo: config.appLogo, appName: config.appName, onCancel: close }) : null,
        phase.kind === "failed" ? /* @__PURE__ */ jsx2(Failed, { palette, strings, detail: phase.detail, onRetry: retry, onClose: close }) : null
      ] })
    }
  );
}
function Logo({ logo, appName }) {
  if (logo === void 0 || logo === null) return null;
  if (isValidElement(logo)) return /* @__PURE__ */ jsx2(View, { style: styles.logo, children: logo });
  const source = typeof logo === "string" ? { uri: logo } : logo;
  return /* @__PURE__ */ jsx2(
    Image,
    {
      source,
      style: styles.logo,
      resizeMode: "contain",
      accessibilityLabel: appName,
      testID: "kryptos-connect-logo"
    }
  );
}
function Loading(props) {
  const { palette, strings } = props;
  return /* @__PURE__ */ jsxs(View, { style: [styles.overlay, { backgroundColor: palette.background }], testID: "kryptos-connect-loading", children: [
    /* @__PURE__ */ jsx2(Logo, { logo: props.logo, appName: props.appName }),
    /* @__PURE__ */ jsx2(ActivityIndicator, { size: "large", color: palette.primary, accessibilityLabel: strings.loading }),
    /* @__PURE__ */ jsx2(Text, { style: [styles.lead, { color: palette.muted }], children: strings.loading }),
    /* @__PURE__ */ jsx2(
      Pressable,
      {
        onPress: props.onCancel,
        accessibilityRole: "button",
        testID: "kryptos-connect-cancel",
        style: ({ pressed }) => [styles.secondary, { borderColor: palette.border, opacity: pressed ? 0.7 : 1 }],
        children: /* @__PURE__ */ jsx2(Text, { style: [styles.secondaryText, { color: palette.text }], children: strings.cancel })
      }
    )
  ] });
}
function Failed(props) {
  const { palette, strings } = props;
  return /* @__PURE__ */ jsxs(View, { style: [styles.overlay, { backgroundColor: palette.background }], testID: "kryptos-connect-error", children: [
    /* @__PURE__ */ jsx2(Text, { style: [styles.title, { color: palette.text }], accessibilityRole: "header", children: strings.failedTitle }),
    /* @__PURE__ */ jsx2(Text, { style: [styles.lead, { color: palette.muted }], children: strings.failedLead }),
    /* @__PURE__ */ jsx2(Text, { style: [styles.detail, { color: palette.muted }], testID: "kryptos-connect-error-detail", children: props.detail }),
    /* @__PURE__ */ jsx2(
      Pressable,
      {
        onPress: props.onRetry,
        accessibilityRole: "button",
        testID: "kryptos-connect-retry",
        style: ({ pressed }) => [styles.primary, { backgroundColor: palette.primary, opacity: pressed ? 0.85 : 1 }],
        children: /* @__PURE__ */ jsx2(Text, { style: [styles.primaryText, { color: palette.primaryText }], children: strings.retry })
      }
    ),
    /* @__PURE__ */ jsx2(
      Pressable,
      {
        onPress: props.onClose,
        accessibilityRole: "button",
        testID: "kryptos-connect-close",
        style: ({ pressed }) => [styles.secondary, { borderColor: palette.border, opacity: pressed ? 0.7 : 1 }],
        children: /* @__PURE__ */ jsx2(Text, { style: [styles.secondaryText, { color: palette.text }], children: strings.close })
      }
    )
  ] });
}
var styles = StyleSheet.create({
  root: { flex: 1 },
  web: { flex: 1 },
  overlay: {
    position: "absolute",
    top: 0,
    right: 0,
    bottom: 0,
    left: 0,
    alignItems: "center",
    justifyContent: "center",
    paddingHorizontal: 32,
    gap: 16
  },
  logo: { width: 56, height: 56, borderRadius: 12, overflow: "hidden" },
  title: { fontSize: 20, fontWeight: "600", textAlign: "center" },
  lead: { fontSize: 15, lineHeight: 21, textAlign: "center" },
  detail: { fontSize: 13, lineHeight: 18, textAlign: "center" },
  primary: {
    minWidth: 200,
    minHeight: 48,
    borderRadius: 10,
    alignItems: "center",
    justifyContent: "center",
    paddingHorizontal: 24
  },
  primaryText: { fontSize: 16, fontWeight: "600" },
  secondary: {
    minWidth: 200,
    minHeight: 48,
    borderRadius: 10,
    borderWidth: 1,
    alignItems: "center",
    justifyContent: "center",
    paddingHorizontal: 24
  },
  secondaryText: { fontSize: 16, fontWeight: "500" }
});

// src/KryptosConnectButton.tsx
import { Fragment, jsx as jsx3, jsxs as jsxs2 } from "react/jsx-runtime";
var DEFAULT_LABEL = "Connect to Kryptos";
function KryptosConnectButton({
  generateLinkToken,
  onSuccess,
  onError,
  children,
  style,
  textStyle,
  disabled,
  testID
}) {
  const { theme } = useKryptosConnectConfig();
  const palette = PALETTES[theme];
  const [open, setOpen] = useState2(false);
  const press = useCallback2(() => setOpen(true), []);
  const content = children != null ? children : DEFAULT_LABEL;
  const inactive = disabled === true || open;
  return /* @__PURE__ */ jsxs2(Fragment, { children: [
    /* @__PURE__ */ jsx3(
      Pressable2,
      {
        onPress: press,
        disabled: inactive,
        accessibilityRole: "button",
        accessibilityState: { disabled: inactive, busy: open },
        testID: testID != null ? testID : "kryptos-connect-button",
        style: ({ pressed }) => [
          styles2.button,
          { backgroundColor: palette.primary, opacity: disabled ? 0.5 : pressed ? 0.85 : 1 },
          style
        ],
        children: typeof content === "string" || typeof content === "number" ? /* @__PURE__ */ jsx3(Text2, { style: [styles2.label, { color: palette.primaryText }, textStyle], children: content }) : content
      }
    ),
    /* @__PURE__ */ jsx3(
      KryptosConnectModal,
      {
        open,
        setOpen,
        generateLinkToken,
        onSuccess,
        onError
      }
    )
  ] });
}
var styles2 = StyleSheet2.create({
  button: {
    minHeight: 48,
    borderRadius: 10,
    paddingHorizontal: 20,
    paddingVertical: 12,
    alignItems: "center",
    justifyContent: "center"
  },
  label: { fontSize: 16, fontWeight: "600", textAlign: "center" }
});
export {
  KryptosConnectButton,
  KryptosConnectModal,
  KryptosConnectProvider,
  PROTOCOL_VERSION,
  WIDGET_SOURCE,
  buildConnectUrl,
  isLinkToken,
  parseWidgetMessage,
  useKryptosConnectConfig
};

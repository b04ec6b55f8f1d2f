import { isValidElement, useCallback, useEffect, useRef, useState } from "react";
import type { ReactElement } from "react";
import {
  ActivityIndicator,
  Image,
  Linking,
  Modal,
  Pressable,
  StyleSheet,
  Text,
  View,
} from "react-native";
import { WebView } from "react-native-webview";
import type { WebViewMessageEvent, WebViewNavigation, WebViewProps } from "react-native-webview";
import { useKryptosConnectConfig } from "./context";
import { buildConnectUrl, isLinkToken, originOf, parseWidgetMessage } from "./protocol";
import { stringsFor } from "./strings";
import type { Strings } from "./strings";
import { PALETTES } from "./theme";
import type { Palette } from "./theme";
import type {
  KryptosConnectErrorInfo,
  KryptosConnectLogo,
  KryptosConnectModalProps,
  UserConsent,
} from "./types";

type Phase =
  | { kind: "idle" }
  | { kind: "token" }
  | { kind: "web"; url: string; attempt: number; loading: boolean }
  | { kind: "failed"; url: string; attempt: number; detail: string };

type WebViewErrorEvent = Parameters<NonNullable<WebViewProps["onError"]>>[0];
type WebViewHttpErrorEvent = Parameters<NonNullable<WebViewProps["onHttpError"]>>[0];

type Outcome = { ok: true; consent: UserConsent | null } | { ok: false; error: KryptosConnectErrorInfo };

/** Calls a user callback; its exception is rethrown later so it cannot break the modal. */
function safeCall(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    setTimeout(() => {
      throw e;
    }, 0);
  }
}

/**
 * A full-screen modal running the Kryptos Connect widget in a WebView. Setting `open` to
 * `true` calls `generateLinkToken` and opens `<baseUrl>/connect` in WebView mode; the flow
 * ends exactly once — `onSuccess(userConsent)` or `onError(error)` — and then `setOpen(false)`
 * is called. Closing it from outside (`open` → `false`) ends the flow without a callback.
 */
export function KryptosConnectModal({
  open,
  setOpen,
  generateLinkToken,
  onSuccess,
  onError,
}: KryptosConnectModalProps): ReactElement | null {
  const { config, theme, baseUrl } = useKryptosConnectConfig();
  const palette = PALETTES[theme];
  const strings = stringsFor(config.language);
  const [phase, setPhase] = useState<Phase>({ kind: "idle" });

  // The current connection; `settled` once its one callback has been made.
  const session = useRef({ id: 0, settled: true });
  const latest = useRef({ setOpen, generateLinkToken, onSuccess, onError });
  latest.current = { setOpen, generateLinkToken, onSuccess, onError };

  const finish = useCallback((id: number, outcome: Outcome) => {
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
    (id: number, code: string, message: string) => finish(id, { ok: false, error: { code, message } }),
    [finish],
  );

  // open: false → true starts a connection; true → false drops it silently.
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
    Promise.resolve()
      .then(() => latest.current.generateLinkToken())
      .then(
        (token: unknown) => {
          if (session.current.id !== id || session.current.settled) return;
          if (!isLinkToken(token)) {
            fail(id, "INVALID_LINK_TOKEN", "generateLinkToken() did not return a link token (link_…).");
            return;
          }
          const url = buildConnectUrl({
            baseUrl,
            linkToken: token,
            clientId: config.clientId,
            theme,
            language: config.language,
            walletConnectProjectId: config.walletConnectProjectId,
          });
          setPhase({ kind: "web", url, attempt: 0, loading: true });
        },
        (err: unknown) => {
          const detail = err instanceof Error && err.message ? `: ${err.message}` : "";
          fail(id, "LINK_TOKEN_ERROR", `generateLinkToken() failed${detail}`);
        },
      );
    // A new connection only when `open` flips; config changes apply to the next one.
    // eslint-disable-next-line react-hooks/exhaustive-deps
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
    (event: WebViewMessageEvent) => {
      const { data, url } = event.nativeEvent;
      // Only the widget page of our server speaks for the widget.
      if (!serverOrigin || typeof url !== "string" || originOf(url) !== serverOrigin) return;
      const msg = parseWidgetMessage(data);
      if (!msg) return;
      const id = session.current.id;
      switch (msg.type) {
        case "ready":
        case "step":
          setPhase((p) => (p.kind === "web" && p.loading ? { ...p, loading: false } : p));
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
    [fail, finish, serverOrigin],
  );

  const onShouldStartLoadWithRequest = useCallback(
    (req: WebViewNavigation) => {
      if (req.url.startsWith("about:")) return true;
      const origin = originOf(req.url);
      if (origin && origin === serverOrigin) return true;
      // Links to other sites (e.g. a provider's help page) open in the system browser.
      if (origin) Linking.openURL(req.url).catch(() => undefined);
      return false;
    },
    [serverOrigin],
  );

  const onLoad = useCallback(() => {
    setPhase((p) => (p.kind === "web" && p.loading ? { ...p, loading: false } : p));
  }, []);

  const onLoadError = useCallback((event: WebViewErrorEvent) => {
    const detail = event.nativeEvent.description || `error ${event.nativeEvent.code}`;
    setPhase((p) => (p.kind === "web" ? { kind: "failed", url: p.url, attempt: p.attempt, detail } : p));
  }, []);

  const onHttpError = useCallback(
    (event: WebViewHttpErrorEvent) => {
      const detail = strings.httpStatus(event.nativeEvent.statusCode);
      setPhase((p) => (p.kind === "web" ? { kind: "failed", url: p.url, attempt: p.attempt, detail } : p));
    },
    [strings],
  );

  const retry = useCallback(() => {
    setPhase((p) => (p.kind === "failed" ? { kind: "web", url: p.url, attempt: p.attempt + 1, loading: true } : p));
  }, []);

  const visible = open && phase.kind !== "idle";
  if (!visible) return null;

  return (
    <Modal
      visible
      animationType="slide"
      presentationStyle="fullScreen"
      onRequestClose={close}
      testID="kryptos-connect-modal"
    >
      <View style={[styles.root, { backgroundColor: palette.background }]}>
        {phase.kind === "web" ? (
          <WebView
            key={phase.attempt}
            testID="kryptos-connect-webview"
            source={{ uri: phase.url }}
            style={[styles.web, { backgroundColor: palette.background }]}
            containerStyle={{ backgroundColor: palette.background }}
            originWhitelist={serverOrigin ? [serverOrigin, "about:*"] : ["about:*"]}
            onMessage={onMessage}
            onLoad={onLoad}
            onError={onLoadError}
            onHttpError={onHttpError}
            onShouldStartLoadWithRequest={onShouldStartLoadWithRequest}
            setSupportMultipleWindows={false}
            javaScriptEnabled
            domStorageEnabled
            contentInsetAdjustmentBehavior="always"
            forceDarkOn={theme === "dark"}
            accessibilityLabel={`Kryptos Connect — ${config.appName}`}
          />
        ) : null}
        {phase.kind === "token" || (phase.kind === "web" && phase.loading) ? (
          <Loading palette={palette} strings={strings} logo={config.appLogo} appName={config.appName} onCancel={close} />
        ) : null}
        {phase.kind === "failed" ? (
          <Failed palette={palette} strings={strings} detail={phase.detail} onRetry={retry} onClose={close} />
        ) : null}
      </View>
    </Modal>
  );
}

function Logo({ logo, appName }: { logo: KryptosConnectLogo | undefined; appName: string }): ReactElement | null {
  if (logo === undefined || logo === null) return null;
  if (isValidElement(logo)) return <View style={styles.logo}>{logo}</View>;
  const source = typeof logo === "string" ? { uri: logo } : logo;
  return (
    <Image
      source={source}
      style={styles.logo}
      resizeMode="contain"
      accessibilityLabel={appName}
      testID="kryptos-connect-logo"
    />
  );
}

function Loading(props: {
  palette: Palette;
  strings: Strings;
  logo: KryptosConnectLogo | undefined;
  appName: string;
  onCancel: () => void;
}): ReactElement {
  const { palette, strings } = props;
  return (
    <View style={[styles.overlay, { backgroundColor: palette.background }]} testID="kryptos-connect-loading">
      <Logo logo={props.logo} appName={props.appName} />
      <ActivityIndicator size="large" color={palette.primary} accessibilityLabel={strings.loading} />
      <Text style={[styles.lead, { color: palette.muted }]}>{strings.loading}</Text>
      <Pressable
        onPress={props.onCancel}
        accessibilityRole="button"
        testID="kryptos-connect-cancel"
        style={({ pressed }) => [styles.secondary, { borderColor: palette.border, opacity: pressed ? 0.7 : 1 }]}
      >
        <Text style={[styles.secondaryText, { color: palette.text }]}>{strings.cancel}</Text>
      </Pressable>
    </View>
  );
}

function Failed(props: {
  palette: Palette;
  strings: Strings;
  detail: string;
  onRetry: () => void;
  onClose: () => void;
}): ReactElement {
  const { palette, strings } = props;
  return (
    <View style={[styles.overlay, { backgroundColor: palette.background }]} testID="kryptos-connect-error">
      <Text style={[styles.title, { color: palette.text }]} accessibilityRole="header">
        {strings.failedTitle}
      </Text>
      <Text style={[styles.lead, { color: palette.muted }]}>{strings.failedLead}</Text>
      <Text style={[styles.detail, { color: palette.muted }]} testID="kryptos-connect-error-detail">
        {props.detail}
      </Text>
      <Pressable
        onPress={props.onRetry}
        accessibilityRole="button"
        testID="kryptos-connect-retry"
        style={({ pressed }) => [styles.primary, { backgroundColor: palette.primary, opacity: pressed ? 0.85 : 1 }]}
      >
        <Text style={[styles.primaryText, { color: palette.primaryText }]}>{strings.retry}</Text>
      </Pressable>
      <Pressable
        onPress={props.onClose}
        accessibilityRole="button"
        testID="kryptos-connect-close"
        style={({ pressed }) => [styles.secondary, { borderColor: palette.border, opacity: pressed ? 0.7 : 1 }]}
      >
        <Text style={[styles.secondaryText, { color: palette.text }]}>{strings.close}</Text>
      </Pressable>
    </View>
  );
}

const styles = StyleSheet.create({
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
    gap: 16,
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
    paddingHorizontal: 24,
  },
  primaryText: { fontSize: 16, fontWeight: "600" },
  secondary: {
    minWidth: 200,
    minHeight: 48,
    borderRadius: 10,
    borderWidth: 1,
    alignItems: "center",
    justifyContent: "center",
    paddingHorizontal: 24,
  },
  secondaryText: { fontSize: 16, fontWeight: "500" },
});

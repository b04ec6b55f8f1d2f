import { act, fireEvent, render, screen } from "@testing-library/react-native";
import { KryptosConnectButton, KryptosConnectProvider } from "../src";
import type { KryptosConnectConfig, KryptosConnectErrorInfo, UserConsent } from "../src";

/** A rendered host element (what `screen.getByTestId` returns). */
export type ReactTestInstance = ReturnType<typeof screen.getByTestId>;

export const BASE = "https://connect.example.com";
export const LINK = "link_Abc-123_xyz";
export const PUBLIC = "public_Zyx-987_abc";

export interface Harness {
  onSuccess: jest.Mock<void, [UserConsent | null]>;
  onError: jest.Mock<void, [KryptosConnectErrorInfo]>;
  generateLinkToken: jest.Mock<Promise<string>, []>;
}

/** Renders Provider + Button with mocks; `token` is what generateLinkToken resolves to. */
export function renderButton(
  config: Partial<KryptosConnectConfig> = {},
  token: () => Promise<string> = async () => LINK,
): Harness {
  const h: Harness = {
    onSuccess: jest.fn<void, [UserConsent | null]>(),
    onError: jest.fn<void, [KryptosConnectErrorInfo]>(),
    generateLinkToken: jest.fn<Promise<string>, []>(token),
  };
  render(
    <KryptosConnectProvider config={{ appName: "Test App", clientId: "kc_test", baseUrl: BASE, ...config }}>
      <KryptosConnectButton generateLinkToken={h.generateLinkToken} onSuccess={h.onSuccess} onError={h.onError}>
        Connect to Kryptos
      </KryptosConnectButton>
    </KryptosConnectProvider>,
  );
  return h;
}

/** Presses the button and waits for the WebView. */
export async function pressAndOpen(): Promise<ReactTestInstance> {
  fireEvent.press(screen.getByTestId("kryptos-connect-button"));
  return screen.findByTestId("kryptos-connect-webview");
}

/** The WebView's current `source.uri`. */
export function sourceUri(webview: ReactTestInstance): string {
  const source: unknown = webview.props.source;
  if (typeof source !== "object" || source === null || !("uri" in source) || typeof source.uri !== "string") {
    throw new Error("the WebView has no source.uri");
  }
  return source.uri;
}

/** A message handler captured from the WebView (still callable after it unmounted). */
export type Post = (data: string, url?: string) => void;

/** Captures the WebView's `onMessage` and returns a function posting `data` from `url`. */
export function poster(webview: ReactTestInstance): Post {
  const handler: unknown = webview.props.onMessage;
  if (typeof handler !== "function") throw new Error("the WebView has no onMessage");
  return (data, url = `${BASE}/connect?client_id=kc_test`) => {
    act(() => {
      handler({ nativeEvent: { data, url } });
    });
  };
}

/** Parses a URL fragment (`a=b&c=d`) into a record. */
export function fragmentOf(uri: string): Record<string, string> {
  const hash = uri.split("#")[1] ?? "";
  const out: Record<string, string> = {};
  for (const pair of hash.split("&")) {
    if (!pair) continue;
    const [k, v = ""] = pair.split("=");
    if (k) out[decodeURIComponent(k)] = decodeURIComponent(v);
  }
  return out;
}

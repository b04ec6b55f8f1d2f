/**
 * `@kryptos_connect/mobile-sdk`: Kryptos Connect for React Native (Expo and React Native CLI).
 * The widget runs in a `react-native-webview` WebView; see docs/webview-protocol.md.
 */
export { KryptosConnectProvider, useKryptosConnectConfig } from "./context";
export type { ResolvedConfig } from "./context";
export { KryptosConnectButton } from "./KryptosConnectButton";
export { KryptosConnectModal } from "./KryptosConnectModal";
export {
  PROTOCOL_VERSION,
  WIDGET_SOURCE,
  buildConnectUrl,
  isLinkToken,
  parseWidgetMessage,
} from "./protocol";
export type { ConnectUrlParams, WidgetMessage } from "./protocol";
export type {
  GenerateLinkToken,
  KryptosConnectButtonProps,
  KryptosConnectConfig,
  KryptosConnectErrorHandler,
  KryptosConnectErrorInfo,
  KryptosConnectLogo,
  KryptosConnectModalProps,
  KryptosConnectProviderProps,
  KryptosConnectSdkErrorCode,
  KryptosConnectSuccessHandler,
  KryptosConnectTheme,
  UserConsent,
} from "./types";

import type { ReactElement, ReactNode } from "react";
import type { ImageSourcePropType, StyleProp, TextStyle, ViewStyle } from "react-native";

/** Colour scheme of the connect screens (the widget and the native loading/error views). */
export type KryptosConnectTheme = "light" | "dark";

/**
 * The app's logo, shown on the native loading and error screens: an image URL, an image
 * source (`require("./logo.png")`, `{ uri }`), or an element you render yourself.
 */
export type KryptosConnectLogo = string | ImageSourcePropType | ReactElement;

/** `config` of {@link KryptosConnectProvider}. */
export interface KryptosConnectConfig {
  /** Your application name (native screens and accessibility labels). */
  appName: string;
  /** Logo URL or image source (native screens). */
  appLogo?: KryptosConnectLogo;
  /** Your Kryptos Connect client id (`kc_…`). */
  clientId: string;
  /** UI theme; default `"light"`. */
  theme?: KryptosConnectTheme;
  /**
   * WalletConnect v2 project id. Accepted and forwarded to the widget (fragment parameter
   * `walletconnect_project_id`, as the web SDK does). Reserved: the widget offers no
   * WalletConnect path yet (a WebView has no injected wallet either), so the id is optional.
   */
  walletConnectProjectId?: string;
  /**
   * The Kryptos Connect server, e.g. `https://connect.example.com`. Defaults to the server
   * the package was downloaded from (`GET /sdk/mobile-sdk.tgz`).
   */
  baseUrl?: string;
  /** Widget language (`en`, `fr`); default: the device language. */
  language?: string;
}

/** `props` of {@link KryptosConnectProvider}. */
export interface KryptosConnectProviderProps {
  config: KryptosConnectConfig;
  children?: ReactNode;
}

/**
 * What `onSuccess` receives: `{ public_token }` for a new connection (exchange it on your
 * backend), or `null` for a returning user whose link token carried an access token.
 */
export interface UserConsent {
  public_token: string;
}

/** Error codes the SDK itself reports (the widget's own codes, e.g. `ACCESS_DENIED`, pass through). */
export type KryptosConnectSdkErrorCode =
  | "USER_CLOSED"
  | "LINK_TOKEN_ERROR"
  | "INVALID_LINK_TOKEN"
  | "INVALID_CONFIG"
  | "WIDGET_UNAVAILABLE";

/** Why a connection ended without success. */
export interface KryptosConnectErrorInfo {
  /** An SDK code ({@link KryptosConnectSdkErrorCode}) or the widget's error code. */
  code: string;
  /** A human-readable explanation (English). */
  message: string;
}

/** Callback for a successful connection (see {@link UserConsent}). */
export type KryptosConnectSuccessHandler = (userConsent: UserConsent | null) => void;

/**
 * Callback for a connection that ended without success: closed by the user (close control or
 * Android back button), denied, expired, or a link token that could not be created.
 * A `() => void` handler is fine; the argument says why.
 */
export type KryptosConnectErrorHandler = (error: KryptosConnectErrorInfo) => void;

/** Returns a fresh link token (`link_…`) created by **your** backend. */
export type GenerateLinkToken = () => Promise<string>;

/** `props` of {@link KryptosConnectButton}. */
export interface KryptosConnectButtonProps {
  generateLinkToken: GenerateLinkToken;
  onSuccess?: KryptosConnectSuccessHandler;
  onError?: KryptosConnectErrorHandler;
  /** Button content; a string is rendered with `textStyle`. Default "Connect to Kryptos". */
  children?: ReactNode;
  /** Container style. */
  style?: StyleProp<ViewStyle>;
  /** Label style. */
  textStyle?: StyleProp<TextStyle>;
  /** Disables the button. */
  disabled?: boolean;
  /** Test id of the button (default `kryptos-connect-button`). */
  testID?: string;
}

/** `props` of {@link KryptosConnectModal}. */
export interface KryptosConnectModalProps {
  /** Whether the modal is shown; `true` starts a connection (calls `generateLinkToken`). */
  open: boolean;
  /** Called with `false` when the connection ends (success, error or close). */
  setOpen: (open: boolean) => void;
  generateLinkToken: GenerateLinkToken;
  onSuccess?: KryptosConnectSuccessHandler;
  onError?: KryptosConnectErrorHandler;
}

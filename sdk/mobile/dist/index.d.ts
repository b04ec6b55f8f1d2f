import { ReactNode, ReactElement } from 'react';
import { StyleProp, ViewStyle, TextStyle, ImageSourcePropType } from 'react-native';

/** Colour scheme of the connect screens (the widget and the native loading/error views). */
type KryptosConnectTheme = "light" | "dark";
/**
 * The app's logo, shown on the native loading and error screens: an image URL, an image
 * source (`require("./logo.png")`, `{ uri }`), or an element you render yourself.
 */
type KryptosConnectLogo = string | ImageSourcePropType | ReactElement;
/** `config` of {@link KryptosConnectProvider}. */
interface KryptosConnectConfig {
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
interface KryptosConnectProviderProps {
    config: KryptosConnectConfig;
    children?: ReactNode;
}
/**
 * What `onSuccess` receives: `{ public_token }` for a new connection (exchange it on your
 * backend), or `null` for a returning user whose link token carried an access token.
 */
interface UserConsent {
    public_token: string;
}
/** Error codes the SDK itself reports (the widget's own codes, e.g. `ACCESS_DENIED`, pass through). */
type KryptosConnectSdkErrorCode = "USER_CLOSED" | "LINK_TOKEN_ERROR" | "INVALID_LINK_TOKEN" | "INVALID_CONFIG" | "WIDGET_UNAVAILABLE";
/** Why a connection ended without success. */
interface KryptosConnectErrorInfo {
    /** An SDK code ({@link KryptosConnectSdkErrorCode}) or the widget's error code. */
    code: string;
    /** A human-readable explanation (English). */
    message: string;
}
/** Callback for a successful connection (see {@link UserConsent}). */
type KryptosConnectSuccessHandler = (userConsent: UserConsent | null) => void;
/**
 * Callback for a connection that ended without success: closed by the user (close control or
 * Android back button), denied, expired, or a link token that could not be created.
 * A `() => void` handler is fine; the argument says why.
 */
type KryptosConnectErrorHandler = (error: KryptosConnectErrorInfo) => void;
/** Returns a fresh link token (`link_…`) created by **your** backend. */
type GenerateLinkToken = () => Promise<string>;
/** `props` of {@link KryptosConnectButton}. */
interface KryptosConnectButtonProps {
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
interface KryptosConnectModalProps {
    /** Whether the modal is shown; `true` starts a connection (calls `generateLinkToken`). */
    open: boolean;
    /** Called with `false` when the connection ends (success, error or close). */
    setOpen: (open: boolean) => void;
    generateLinkToken: GenerateLinkToken;
    onSuccess?: KryptosConnectSuccessHandler;
    onError?: KryptosConnectErrorHandler;
}

/** The provider's config with defaults applied. */
interface ResolvedConfig {
    config: KryptosConnectConfig;
    theme: KryptosConnectTheme;
    /** Normalised server URL, or `null` when none is usable (then every open fails with `INVALID_CONFIG`). */
    baseUrl: string | null;
}
/**
 * Makes the Kryptos Connect configuration available to every {@link KryptosConnectButton}
 * and {@link KryptosConnectModal} below it.
 */
declare function KryptosConnectProvider({ config, children }: KryptosConnectProviderProps): ReactElement;
/** The resolved configuration; throws when used outside {@link KryptosConnectProvider}. */
declare function useKryptosConnectConfig(): ResolvedConfig;

/**
 * A button that opens Kryptos Connect: on press it calls `generateLinkToken`, shows the
 * widget in a full-screen modal, and ends with exactly one `onSuccess(userConsent)` or
 * `onError(error)`.
 */
declare function KryptosConnectButton({ generateLinkToken, onSuccess, onError, children, style, textStyle, disabled, testID, }: KryptosConnectButtonProps): ReactElement;

/**
 * A full-screen modal running the Kryptos Connect widget in a WebView. Setting `open` to
 * `true` calls `generateLinkToken` and opens `<baseUrl>/connect` in WebView mode; the flow
 * ends exactly once — `onSuccess(userConsent)` or `onError(error)` — and then `setOpen(false)`
 * is called. Closing it from outside (`open` → `false`) ends the flow without a callback.
 */
declare function KryptosConnectModal({ open, setOpen, generateLinkToken, onSuccess, onError, }: KryptosConnectModalProps): ReactElement | null;

/**
 * The widget ↔ host message protocol (docs/webview-protocol.md): how the connect URL is
 * built, and which messages posted by the widget through `window.ReactNativeWebView` are
 * accepted. Anything else is ignored.
 */

/** `source` of every message the widget posts. */
declare const WIDGET_SOURCE = "kryptos-connect";
/** The message format version this package understands. */
declare const PROTOCOL_VERSION = 1;
/** A message posted by the widget, after validation. */
type WidgetMessage = {
    type: "ready";
} | {
    type: "step";
    step: string;
} | {
    type: "success";
    public_token: string | null;
} | {
    type: "error";
    code: string;
    message: string;
} | {
    type: "close";
};
/** What the connect URL carries (all but `clientId` in the fragment). */
interface ConnectUrlParams {
    baseUrl: string;
    linkToken: string;
    clientId?: string;
    theme: KryptosConnectTheme;
    language?: string;
    walletConnectProjectId?: string;
}
/** Whether `token` looks like a link token (`link_` and URL-safe characters). */
declare function isLinkToken(token: unknown): token is string;
/**
 * `<baseUrl>/connect?client_id=…#link_token=…&mode=webview&theme=…[&lang=…][&walletconnect_project_id=…]`.
 * The link token only ever travels in the fragment, which is never sent over the network.
 */
declare function buildConnectUrl(p: ConnectUrlParams): string;
/**
 * Validates one `onMessage` payload (a JSON string). Returns `null` for anything that is not
 * a well-formed message of this protocol version: not JSON, another source or version, an
 * unknown type, or missing/ill-typed fields.
 */
declare function parseWidgetMessage(data: unknown): WidgetMessage | null;

export { type ConnectUrlParams, type GenerateLinkToken, KryptosConnectButton, type KryptosConnectButtonProps, type KryptosConnectConfig, type KryptosConnectErrorHandler, type KryptosConnectErrorInfo, type KryptosConnectLogo, KryptosConnectModal, type KryptosConnectModalProps, KryptosConnectProvider, type KryptosConnectProviderProps, type KryptosConnectSdkErrorCode, type KryptosConnectSuccessHandler, type KryptosConnectTheme, PROTOCOL_VERSION, type ResolvedConfig, type UserConsent, WIDGET_SOURCE, type WidgetMessage, buildConnectUrl, isLinkToken, parseWidgetMessage, useKryptosConnectConfig };

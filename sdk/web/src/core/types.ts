/**
 * Public types shared by the React components and the `connect.js` global.
 * Nothing here touches the DOM.
 */

/** What `onSuccess` / `onConnectSuccess` receives for a new user. Exchange `public_token` server-side. */
export interface UserConsent {
  public_token: string;
}

/** UI theme of the widget (and of the trigger button's `data-kc-theme`). */
export type KryptosTheme = "light" | "dark" | "auto";

/** Sign-in methods the widget offers (narrows what the server allows). */
export type KryptosAuthMethod = "email" | "anonymous";

/** UI language. The widget speaks `en` and `fr`; other codes fall back to English. */
export type KryptosLanguage = "en" | "fr" | "de" | "pt" | "sv" | "es" | "pl" | "it" | (string & {});

/** `--kc-*` CSS custom properties, e.g. `{ "--kc-primary": "#6366f1" }`. */
export type KryptosCssVars = { [name: `--kc-${string}`]: string };

/** Result of your `generateLinkToken` function (your backend calls `POST /link-token`). */
export interface LinkTokenResult {
  link_token: string;
  /** `true` when the link token was created with a stored access token (returning user). */
  isAuthorized?: boolean;
}

/** Values that pre-populate the integration form (all optional, all editable by the user). */
export interface KryptosPrefill {
  address?: string;
  apiKey?: string;
  secretKey?: string;
  password?: string;
  accountName?: string;
  alias?: string;
  email?: string;
}

/**
 * Configuration of the widget. `appLogo` is a URL here; the React provider also accepts a
 * React node (rendered in the button, not forwarded).
 */
export interface KryptosConnectConfig {
  /** Your Kryptos client id; sent as `?client_id=` when loading the widget. */
  clientId: string;
  /** Your application name, shown by the widget beside the registered client name. */
  appName: string;
  /** Logo URL of your application, shown by the widget. */
  appLogo?: string;
  /** UI theme. Default `"light"`. */
  theme?: KryptosTheme;
  /** UI language. Default `"en"`. */
  language?: KryptosLanguage;
  /** Sign-in methods offered to the user. Default both. */
  authMethods?: KryptosAuthMethod[];
  /** Theme overrides for the widget and the trigger button (win over page CSS variables). */
  cssVars?: Partial<KryptosCssVars>;
  /** Origin (and optional path prefix) of the Kryptos Connect server. */
  baseUrl?: string;
  /**
   * WalletConnect Cloud project id. Accepted and forwarded to the widget (fragment parameter
   * `walletconnect_project_id`, as the mobile SDK does). Reserved: the widget connects injected
   * browser wallets (EIP-6963 / EIP-1193 and Solana Wallet Standard, proved by signature) and
   * offers no WalletConnect QR-code path yet, so the id is optional.
   */
  walletConnectProjectId?: string;
}

/** Per-open overrides merged onto the configuration, plus `prefill`. */
export interface KryptosExtraConfig extends Partial<Omit<KryptosConnectConfig, "clientId" | "baseUrl">> {
  /** Pre-populates the integration form. */
  prefill?: KryptosPrefill;
  /** Open a specific provider directly. */
  integrationName?: string;
  [key: string]: unknown;
}

/**
 * Codes carried by {@link KryptosConnectError}: a server error code (`TOKEN_EXPIRED`,
 * `INVALID_TOKEN`, `RATE_LIMITED`, …) or one of the SDK's own.
 */
export type KryptosErrorCode =
  /** The user dismissed the widget (close button, Escape). */
  | "USER_CLOSED"
  /** Your code closed it (`close()`). */
  | "CLOSED"
  /** The user denied consent. */
  | "ACCESS_DENIED"
  /** The link token expired before the flow finished. */
  | "TOKEN_EXPIRED"
  /** This page's origin is not registered for the client: the browser refuses to frame the widget. */
  | "ORIGIN_NOT_ALLOWED"
  /** `generateLinkToken()` threw or rejected. */
  | "LINK_TOKEN_ERROR"
  /** `generateLinkToken()` resolved without a `link_token`. */
  | "INVALID_LINK_TOKEN"
  /** Missing `generateLinkToken` or `clientId`. */
  | "INVALID_CONFIG"
  | (string & {});

/** Progress notifications from the widget. */
export type KryptosConnectEvent =
  | { type: "ready" }
  | { type: "step"; step: string };

/** Options of one run of the flow. */
export interface OpenOptions {
  /** Called when the flow starts; must resolve to a fresh link token from your backend. */
  generateLinkToken: () => Promise<LinkTokenResult> | LinkTokenResult;
  /** Called once on success: `{ public_token }` for a new user, `null` for a returning one. */
  onConnectSuccess?: (consent: UserConsent | null) => void;
  /** Called once on failure, denial or dismissal. */
  onConnectError?: (error: import("./errors").KryptosConnectError) => void;
  /** Alias of `onConnectSuccess` (the seed's React naming); both are called when both are given. */
  onSuccess?: (consent: UserConsent | null) => void;
  /** Alias of `onConnectError` (the seed's React naming); both are called when both are given. */
  onError?: (error: import("./errors").KryptosConnectError) => void;
  /** Optional progress callback. */
  onEvent?: (event: KryptosConnectEvent) => void;
  /** Open a specific provider directly (an id from the providers list, e.g. `"ethereum"`). */
  integrationName?: string;
  /** Per-open overrides and `prefill`. */
  extraConfig?: KryptosExtraConfig;
}

/** Messages the widget posts to its parent window (`event.data`). */
export type KryptosWidgetMessage =
  | { source: "kryptos-connect"; type: "ready" }
  | { source: "kryptos-connect"; type: "step"; step: string }
  | { source: "kryptos-connect"; type: "success"; public_token: string | null }
  | { source: "kryptos-connect"; type: "error"; code: string; message: string }
  | { source: "kryptos-connect"; type: "close" };

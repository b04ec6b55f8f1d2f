// Kryptos Connect browser SDK — type declarations.
//
// Load the SDK with <script src="https://<your-kryptos-connect-host>/sdk/connect.js"></script>;
// it defines the global `window.KryptosConnect`.

/** What onConnectSuccess receives for a new user. Exchange `public_token` server-side. */
export interface UserConsent {
  public_token: string;
}

export type KryptosTheme = "light" | "dark" | "auto";
export type KryptosAuthMethod = "email" | "anonymous";
export type KryptosLanguage = "en" | "fr" | (string & {});

/** `--kc-*` CSS custom properties, e.g. `{ "--kc-primary": "#6366f1" }`. */
export type KryptosCssVars = Record<`--kc-${string}`, string>;

/** Global configuration, set with `KryptosConnect.init`. */
export interface KryptosConnectConfig {
  /** Your Kryptos client id; sent as `?client_id=` when loading the widget. */
  clientId: string;
  /** Your application name; passed to the widget, which shows it beside the registered client name. */
  appName: string;
  /** Logo URL of your application; passed to the widget. */
  appLogo?: string;
  /** UI theme. Default `"light"`. */
  theme?: KryptosTheme;
  /** UI language. Supported: `"en"`, `"fr"` (others fall back to English). Default `"en"`. */
  language?: KryptosLanguage;
  /** Auth methods offered to the user (narrows what the server allows). Default both. */
  authMethods?: KryptosAuthMethod[];
  /** Theme overrides for the widget and the trigger button. */
  cssVars?: Partial<KryptosCssVars>;
  /** Origin (and optional path prefix) of the Kryptos Connect server.
   *  Default: the origin `connect.js` was loaded from. */
  baseUrl?: string;
  /** WalletConnect Cloud project id: accepted and passed to the widget; reserved. */
  walletConnectProjectId?: string;
}

/** Values that pre-populate the integration form (all optional, all editable). */
export interface KryptosPrefill {
  address?: string;
  apiKey?: string;
  secretKey?: string;
  password?: string;
  accountName?: string;
  alias?: string;
  email?: string;
}

/** Per-open overrides merged onto the global config. */
export interface KryptosExtraConfig extends Partial<Omit<KryptosConnectConfig, "clientId" | "baseUrl">> {
  prefill?: KryptosPrefill;
  [key: string]: unknown;
}

/** Result of your `generateLinkToken` function (call your backend's `/link-token`). */
export interface LinkTokenResult {
  link_token: string;
  /** `true` when the link token was created with a stored access token (returning user). */
  isAuthorized?: boolean;
}

/** Error passed to onConnectError. */
export interface KryptosConnectError extends Error {
  name: "KryptosConnectError";
  /**
   * A server error code (`TOKEN_EXPIRED`, `INVALID_TOKEN`, `RATE_LIMITED`, …) or one of:
   * `ACCESS_DENIED` (user denied consent), `USER_CLOSED` (user dismissed the widget),
   * `CLOSED` (`KryptosConnect.close()` was called), `LINK_TOKEN_ERROR` /
   * `INVALID_LINK_TOKEN` (generateLinkToken failed), `INVALID_CONFIG`,
   * `ORIGIN_NOT_ALLOWED` (this page's origin is not registered for the client; the message
   * names the `kryptos-connect clients update … --add-origin …` command to run).
   */
  code: string;
  cause?: unknown;
}

/** Progress notifications from the widget. */
export type KryptosConnectEvent =
  | { type: "ready" }
  | { type: "step"; step: "auth" | "workspace" | "consent" | "integration" | "status" | "done" | "error" };

export interface OpenOptions {
  /** Called when the widget opens; must resolve to a fresh link token. */
  generateLinkToken: () => Promise<LinkTokenResult> | LinkTokenResult;
  /** Called once on success: `{ public_token }` for a new user, `null` for a returning one. */
  onConnectSuccess?: (consent: UserConsent | null) => void;
  /** Called once on failure, denial or dismissal. */
  onConnectError?: (error: KryptosConnectError) => void;
  /** Alias of `onConnectSuccess` (seed React naming). */
  onSuccess?: (consent: UserConsent | null) => void;
  /** Alias of `onConnectError` (seed React naming). */
  onError?: (error: KryptosConnectError) => void;
  /** Optional progress callback. */
  onEvent?: (event: KryptosConnectEvent) => void;
  /** Open a specific provider directly (an id from the providers list, e.g. `"ethereum"`). */
  integrationName?: string;
  extraConfig?: KryptosExtraConfig;
}

export interface CreateButtonOptions extends OpenOptions {
  /** Extra class on the `<button>`; the SDK's own rules have zero specificity, so yours win. */
  className?: string;
  /** Inline styles (camelCase or kebab-case keys), e.g. `{ borderRadius: "12px" }`. */
  style?: Partial<CSSStyleDeclaration> | Record<string, string>;
  /** Button label or content. Default `"Connect to Kryptos"`. */
  children?: string | Node;
  /** Button size. Default `"md"`. */
  size?: "sm" | "md" | "lg";
}

export interface KryptosConnectSDK {
  readonly version: string;
  /** Set (or update) the global configuration. */
  init(config: KryptosConnectConfig): KryptosConnectSDK;
  /** Open the widget; ignored while one is already open. Resolves once the overlay is shown (or failed). */
  open(options: OpenOptions): Promise<void>;
  /** Close the open widget; its onConnectError receives code `"CLOSED"`. */
  close(): void;
  /** A `<button>` that calls `open(options)` when clicked. */
  createButton(options: CreateButtonOptions): HTMLButtonElement;
  /** Whether a widget is currently open. */
  isOpen(): boolean;
  /** A copy of the current global configuration. */
  getConfig(): Required<Omit<KryptosConnectConfig, "appLogo" | "walletConnectProjectId">> &
    Pick<KryptosConnectConfig, "appLogo" | "walletConnectProjectId">;
}

/** Messages the widget posts to its parent window (`event.data`). */
export type KryptosWidgetMessage =
  | { source: "kryptos-connect"; type: "ready" }
  | { source: "kryptos-connect"; type: "step"; step: string }
  | { source: "kryptos-connect"; type: "success"; public_token: string | null }
  | { source: "kryptos-connect"; type: "error"; code: string; message: string }
  | { source: "kryptos-connect"; type: "close" };

declare global {
  interface Window {
    KryptosConnect: KryptosConnectSDK;
  }
  const KryptosConnect: KryptosConnectSDK;
}

import * as React from 'react';
import { ReactNode } from 'react';

/** The `Error` every failure callback receives; `code` says what happened. */
declare class KryptosConnectError extends Error {
    /** Machine-readable reason, e.g. `USER_CLOSED` or `ORIGIN_NOT_ALLOWED`. */
    readonly code: KryptosErrorCode;
    /** The underlying error, when there is one (e.g. what `generateLinkToken` threw). */
    readonly cause?: unknown;
    constructor(code: KryptosErrorCode, message?: string, cause?: unknown);
}

/**
 * Public types shared by the React components and the `connect.js` global.
 * Nothing here touches the DOM.
 */
/** What `onSuccess` / `onConnectSuccess` receives for a new user. Exchange `public_token` server-side. */
interface UserConsent {
    public_token: string;
}
/** UI theme of the widget (and of the trigger button's `data-kc-theme`). */
type KryptosTheme = "light" | "dark" | "auto";
/** Sign-in methods the widget offers (narrows what the server allows). */
type KryptosAuthMethod = "email" | "anonymous";
/** UI language. The widget speaks `en` and `fr`; other codes fall back to English. */
type KryptosLanguage = "en" | "fr" | "de" | "pt" | "sv" | "es" | "pl" | "it" | (string & {});
/** `--kc-*` CSS custom properties, e.g. `{ "--kc-primary": "#6366f1" }`. */
type KryptosCssVars = {
    [name: `--kc-${string}`]: string;
};
/** Result of your `generateLinkToken` function (your backend calls `POST /link-token`). */
interface LinkTokenResult {
    link_token: string;
    /** `true` when the link token was created with a stored access token (returning user). */
    isAuthorized?: boolean;
}
/** Values that pre-populate the integration form (all optional, all editable by the user). */
interface KryptosPrefill {
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
interface KryptosConnectConfig {
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
interface KryptosExtraConfig extends Partial<Omit<KryptosConnectConfig, "clientId" | "baseUrl">> {
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
type KryptosErrorCode = 
/** The user dismissed the widget (close button, Escape). */
"USER_CLOSED"
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
 | "INVALID_CONFIG" | (string & {});
/** Progress notifications from the widget. */
type KryptosConnectEvent = {
    type: "ready";
} | {
    type: "step";
    step: string;
};
/** Options of one run of the flow. */
interface OpenOptions {
    /** Called when the flow starts; must resolve to a fresh link token from your backend. */
    generateLinkToken: () => Promise<LinkTokenResult> | LinkTokenResult;
    /** Called once on success: `{ public_token }` for a new user, `null` for a returning one. */
    onConnectSuccess?: (consent: UserConsent | null) => void;
    /** Called once on failure, denial or dismissal. */
    onConnectError?: (error: KryptosConnectError) => void;
    /** Alias of `onConnectSuccess` (the seed's React naming); both are called when both are given. */
    onSuccess?: (consent: UserConsent | null) => void;
    /** Alias of `onConnectError` (the seed's React naming); both are called when both are given. */
    onError?: (error: KryptosConnectError) => void;
    /** Optional progress callback. */
    onEvent?: (event: KryptosConnectEvent) => void;
    /** Open a specific provider directly (an id from the providers list, e.g. `"ethereum"`). */
    integrationName?: string;
    /** Per-open overrides and `prefill`. */
    extraConfig?: KryptosExtraConfig;
}
/** Messages the widget posts to its parent window (`event.data`). */
type KryptosWidgetMessage = {
    source: "kryptos-connect";
    type: "ready";
} | {
    source: "kryptos-connect";
    type: "step";
    step: string;
} | {
    source: "kryptos-connect";
    type: "success";
    public_token: string | null;
} | {
    source: "kryptos-connect";
    type: "error";
    code: string;
    message: string;
} | {
    source: "kryptos-connect";
    type: "close";
};

/**
 * The controller behind both the React components and the `connect.js` global: configuration,
 * one flow at a time (generateLinkToken → overlay → exactly one result), observable state.
 *
 * Creating a controller touches nothing; `window`/`document` are used only when a flow opens
 * or a DOM button is created, so importing and server-rendering is safe.
 */

/** The configuration with every default filled in. */
type ResolvedConfig = Required<Omit<KryptosConnectConfig, "appLogo" | "walletConnectProjectId">> & Pick<KryptosConnectConfig, "appLogo" | "walletConnectProjectId">;

/** The provider's configuration: the widget configuration, with `appLogo` also a React node. */
interface KryptosConnectProviderConfig extends Omit<KryptosConnectConfig, "appLogo"> {
    /** A logo URL (shown by the widget) or a React node (rendered in the button, not sent to the widget). */
    appLogo?: string | ReactNode;
}
/** The imperative API. */
interface KryptosConnectApi {
    readonly version: string;
    /** Sets (or updates) the configuration used outside a `KryptosConnectProvider`. Safe on the server. */
    init(config: Partial<KryptosConnectProviderConfig>): KryptosConnectApi;
    /** Runs the flow with the `init` configuration (browser only). */
    open(options: OpenOptions): Promise<void>;
    /** Closes the open widget; its error callback receives code `CLOSED`. */
    close(): void;
    /** Whether a widget is on screen. */
    isOpen(): boolean;
    /** The `init` configuration with defaults filled in (a React-node logo omitted). */
    getConfig(): ResolvedConfig;
}
/** The imperative API (`KryptosConnect.init({...})`, `KryptosConnect.open({...})`). */
declare const KryptosConnect: KryptosConnectApi;

/** Props of {@link KryptosConnectProvider}. */
interface KryptosConnectProviderProps {
    /** App name and logo, client id, theme, language, sign-in methods, CSS variables, server URL. */
    config: KryptosConnectProviderConfig;
    children?: React.ReactNode;
}
/**
 * Makes `config` available to every `KryptosConnectButton` and `useKryptosConnect()` below it.
 * Renders nothing of its own and touches no browser API (server rendering is safe).
 */
declare function KryptosConnectProvider(props: KryptosConnectProviderProps): React.ReactElement;

type NativeButtonProps = Omit<React.ButtonHTMLAttributes<HTMLButtonElement>, "children" | "className" | "style" | "type" | "onError">;
/** Props of {@link KryptosConnectButton}; other `<button>` attributes (`id`, `aria-*`, `data-*`, …) pass through. */
interface KryptosConnectButtonProps extends NativeButtonProps {
    /** Called on click; returns a fresh link token from your backend (`isAuthorized: true` for a returning user). */
    generateLinkToken: () => Promise<LinkTokenResult>;
    /** Called once on success: `{ public_token }` for a new user, `null` for a returning one. */
    onSuccess?: (userConsent: UserConsent | null) => void;
    /** Called once on failure or dismissal, with an `Error` carrying a `code` (`USER_CLOSED`, `ACCESS_DENIED`, …). */
    onError?: (error: KryptosConnectError) => void;
    /** The reference page's name for `onSuccess` (both are called when both are given). */
    onConnectSuccess?: (userConsent: UserConsent | null) => void;
    /** The reference page's name for `onError` (both are called when both are given). */
    onConnectError?: (error: KryptosConnectError) => void;
    /** Progress notifications (`ready`, each `step`). */
    onEvent?: (event: KryptosConnectEvent) => void;
    /** Button label. Default `"Connect to Kryptos"`. */
    children?: React.ReactNode;
    /** Extra CSS class (the SDK's own rules have zero specificity, so yours win). */
    className?: string;
    /** Inline styles of the `<button>`. */
    style?: React.CSSProperties;
    /** Button size. Default `"md"`. */
    size?: "sm" | "md" | "lg";
    /** Open a specific provider directly (e.g. `"ethereum"`). */
    integrationName?: string;
    /** Per-button overrides of the provider config, and `prefill` for the integration form. */
    extraConfig?: KryptosExtraConfig;
}
/** The button that runs the Kryptos Connect flow. */
declare function KryptosConnectButton(props: KryptosConnectButtonProps): React.ReactElement;

/** What {@link useKryptosConnect} returns. */
interface UseKryptosConnect {
    /** Runs the flow (awaits `generateLinkToken`, then shows the widget); ignored while one is open. */
    open(options: OpenOptions): Promise<void>;
    /** Closes the open widget; its error callback receives code `CLOSED`. */
    close(): void;
    /** The widget is on screen. */
    isOpen: boolean;
    /** `generateLinkToken()` is in flight. */
    isLoading: boolean;
    /** The configuration in effect here (the nearest provider's, else `KryptosConnect.init`'s). */
    config: Partial<KryptosConnectProviderConfig>;
}
/** Opens the flow without the button, e.g. from a menu item: `const { open } = useKryptosConnect()`. */
declare function useKryptosConnect(): UseKryptosConnect;

/** The public Kryptos Connect service (the seed's base URL). */
declare const PUBLIC_BASE_URL = "https://connect-api.kryptos.io";

export { type KryptosAuthMethod, KryptosConnect, type KryptosConnectApi, KryptosConnectButton, type KryptosConnectButtonProps, type KryptosConnectConfig, KryptosConnectError, type KryptosConnectEvent, KryptosConnectProvider, type KryptosConnectProviderConfig, type KryptosConnectProviderProps, type KryptosCssVars, type KryptosErrorCode, type KryptosExtraConfig, type KryptosLanguage, type KryptosPrefill, type KryptosTheme, type KryptosWidgetMessage, type LinkTokenResult, type OpenOptions, PUBLIC_BASE_URL, type ResolvedConfig, type UseKryptosConnect, type UserConsent, useKryptosConnect };

/**
 * @kryptos_connect/web-sdk — Kryptos Connect for React.
 *
 *   import "@kryptos_connect/web-sdk/dist/styles/index.css";
 *   import { KryptosConnectProvider, KryptosConnectButton } from "@kryptos_connect/web-sdk";
 */

export { KryptosConnectProvider } from "./react/context";
export type { KryptosConnectProviderProps } from "./react/context";
export { KryptosConnectButton } from "./react/button";
export type { KryptosConnectButtonProps } from "./react/button";
export { useKryptosConnect } from "./react/hook";
export type { UseKryptosConnect } from "./react/hook";
export { KryptosConnect } from "./react/sdk";
export type { KryptosConnectApi, KryptosConnectProviderConfig } from "./react/sdk";
export { KryptosConnectError } from "./core/errors";
export { PUBLIC_BASE_URL } from "./core/defaults";
export type { ResolvedConfig } from "./core/client";
export type {
  KryptosAuthMethod,
  KryptosConnectConfig,
  KryptosConnectEvent,
  KryptosCssVars,
  KryptosErrorCode,
  KryptosExtraConfig,
  KryptosLanguage,
  KryptosPrefill,
  KryptosTheme,
  KryptosWidgetMessage,
  LinkTokenResult,
  OpenOptions,
  UserConsent,
} from "./core/types";

/**
 * `KryptosConnect`: the imperative API of the React package (the reference page's
 * `KryptosConnect.init(...)`), one shared instance for the page. Importing it touches nothing.
 */

import type { ReactNode } from "react";
import { createController, type ResolvedConfig } from "../core/client";
import { packageBaseUrl } from "../core/defaults";
import type { KryptosConnectConfig, OpenOptions } from "../core/types";

/** The provider's configuration: the widget configuration, with `appLogo` also a React node. */
export interface KryptosConnectProviderConfig extends Omit<KryptosConnectConfig, "appLogo"> {
  /** A logo URL (shown by the widget) or a React node (rendered in the button, not sent to the widget). */
  appLogo?: string | ReactNode;
}

/** The shared controller (one widget open at a time per page). */
export const core = createController(packageBaseUrl);

let reactConfig: Partial<KryptosConnectProviderConfig> = {};

/** The configuration the widget can receive: a React-node logo stays on the page. */
export function toCoreConfig(config: Partial<KryptosConnectProviderConfig>): Partial<KryptosConnectConfig> {
  const { appLogo, ...rest } = config;
  return typeof appLogo === "string" ? { ...rest, appLogo } : rest;
}

/** The configuration set with `KryptosConnect.init` (used by buttons outside any provider). */
export function globalConfig(): Partial<KryptosConnectProviderConfig> {
  return reactConfig;
}

/** The imperative API. */
export interface KryptosConnectApi {
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
export const KryptosConnect: KryptosConnectApi = {
  version: core.version,
  init(config) {
    reactConfig = { ...reactConfig, ...(config || {}) };
    core.init(toCoreConfig(config || {}));
    return KryptosConnect;
  },
  open: (options) => core.open(options),
  close: () => core.close(),
  isOpen: () => core.isOpen(),
  getConfig: () => core.getConfig(),
};

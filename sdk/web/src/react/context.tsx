import * as React from "react";
import type { KryptosConnectProviderConfig } from "./sdk";

/** Props of {@link KryptosConnectProvider}. */
export interface KryptosConnectProviderProps {
  /** App name and logo, client id, theme, language, sign-in methods, CSS variables, server URL. */
  config: KryptosConnectProviderConfig;
  children?: React.ReactNode;
}

/** The provider's configuration, for the buttons and hooks below it. */
export const ConfigContext = React.createContext<KryptosConnectProviderConfig | null>(null);

/**
 * Makes `config` available to every `KryptosConnectButton` and `useKryptosConnect()` below it.
 * Renders nothing of its own and touches no browser API (server rendering is safe).
 */
export function KryptosConnectProvider(props: KryptosConnectProviderProps): React.ReactElement {
  return React.createElement(ConfigContext.Provider, { value: props.config }, props.children);
}

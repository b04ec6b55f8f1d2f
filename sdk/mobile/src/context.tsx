import { createContext, useContext, useMemo } from "react";
import type { ReactElement } from "react";
import { SERVED_BASE_URL, isMarker } from "./defaults";
import { normalizeBaseUrl } from "./protocol";
import type { KryptosConnectConfig, KryptosConnectProviderProps, KryptosConnectTheme } from "./types";

/** The provider's config with defaults applied. */
export interface ResolvedConfig {
  config: KryptosConnectConfig;
  theme: KryptosConnectTheme;
  /** Normalised server URL, or `null` when none is usable (then every open fails with `INVALID_CONFIG`). */
  baseUrl: string | null;
}

const Ctx = createContext<ResolvedConfig | null>(null);

/** Resolves `config` (theme default, base URL default and normalisation). */
export function resolveConfig(config: KryptosConnectConfig): ResolvedConfig {
  const raw = config.baseUrl ?? (isMarker(SERVED_BASE_URL) ? "" : SERVED_BASE_URL);
  return {
    config,
    theme: config.theme === "dark" ? "dark" : "light",
    baseUrl: raw ? normalizeBaseUrl(raw) : null,
  };
}

/**
 * Makes the Kryptos Connect configuration available to every {@link KryptosConnectButton}
 * and {@link KryptosConnectModal} below it.
 */
export function KryptosConnectProvider({ config, children }: KryptosConnectProviderProps): ReactElement {
  const { appName, appLogo, clientId, theme, walletConnectProjectId, baseUrl, language } = config;
  const value = useMemo(
    () => resolveConfig({ appName, appLogo, clientId, theme, walletConnectProjectId, baseUrl, language }),
    [appName, appLogo, clientId, theme, walletConnectProjectId, baseUrl, language],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

/** The resolved configuration; throws when used outside {@link KryptosConnectProvider}. */
export function useKryptosConnectConfig(): ResolvedConfig {
  const value = useContext(Ctx);
  if (!value) {
    throw new Error("Kryptos Connect: wrap your app in <KryptosConnectProvider config={…}>.");
  }
  return value;
}

import * as React from "react";
import type { KryptosConnectError } from "../core/errors";
import { DEFAULT_LABEL, normalizeTheme } from "../core/protocol";
import { sanitizeCssVars } from "../core/theme";
import type { KryptosConnectEvent, KryptosExtraConfig, LinkTokenResult, UserConsent } from "../core/types";
import { useKryptosConnect } from "./hook";

type NativeButtonProps = Omit<
  React.ButtonHTMLAttributes<HTMLButtonElement>,
  "children" | "className" | "style" | "type" | "onError"
>;

/** Props of {@link KryptosConnectButton}; other `<button>` attributes (`id`, `aria-*`, `data-*`, …) pass through. */
export interface KryptosConnectButtonProps extends NativeButtonProps {
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
export function KryptosConnectButton(props: KryptosConnectButtonProps): React.ReactElement {
  const {
    generateLinkToken,
    onSuccess,
    onError,
    onConnectSuccess,
    onConnectError,
    onEvent,
    children,
    className,
    style,
    size,
    integrationName,
    extraConfig,
    onClick,
    ...rest
  } = props;
  const { open, isLoading, isOpen, config } = useKryptosConnect();
  const theme = normalizeTheme((extraConfig && extraConfig.theme) || config.theme);
  const vars = sanitizeCssVars({ ...(config.cssVars || {}), ...((extraConfig && extraConfig.cssVars) || {}) });
  const sizeClass = size === "sm" || size === "lg" ? size : "md";
  const logo = config.appLogo != null && typeof config.appLogo !== "string" ? config.appLogo : null;

  const handleClick = (event: React.MouseEvent<HTMLButtonElement>): void => {
    if (onClick) onClick(event);
    if (event.defaultPrevented) return;
    void open({
      generateLinkToken,
      onSuccess,
      onError,
      onConnectSuccess,
      onConnectError,
      onEvent,
      integrationName,
      extraConfig,
    });
  };

  return React.createElement(
    "button",
    {
      type: "button",
      ...rest,
      className: `kc-connect-button kc-connect-button--${sizeClass}${className ? " " + className : ""}`,
      style: { ...(vars as React.CSSProperties), ...style },
      "data-kc-theme": theme,
      "aria-busy": isLoading || undefined,
      "aria-haspopup": "dialog",
      "aria-expanded": isOpen,
      onClick: handleClick,
    },
    logo ? React.createElement("span", { className: "kc-connect-button__logo", "aria-hidden": true }, logo) : null,
    children != null && children !== "" ? children : DEFAULT_LABEL,
  );
}

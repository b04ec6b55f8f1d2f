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

/** Dark ink of the default theme (7.3:1 on the brand mint). */
const DARK_INK = "#03261c";

/** WCAG relative luminance of an sRGB channel triple (0–255). */
function luminance(rgb: readonly number[]): number {
  const [r, g, b] = rgb.map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/**
 * The label colour that reads best on a computed `background-color` (`rgb(…)`/`rgba(…)`):
 * white or the dark ink, whichever contrasts more; `null` for a transparent or unparsable one.
 */
export function readableInk(background: string): string | null {
  const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:[,\s/]+([\d.]+))?\s*\)$/.exec(background.trim());
  if (!m) return null;
  if (m[4] !== undefined && Number(m[4]) === 0) return null;
  const bg = luminance([Number(m[1]), Number(m[2]), Number(m[3])]);
  const ink = luminance([3, 38, 28]);
  const onWhite = 1.05 / (bg + 0.05);
  const onInk = (bg + 0.05) / (ink + 0.05);
  return onWhite >= onInk ? "#ffffff" : DARK_INK;
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
  const ref = React.useRef<HTMLButtonElement>(null);
  // A page that sets only `--kc-primary` (as the product docs show) gets a readable label:
  // unless it also chose `--kc-primary-text`, pick white or dark ink for the actual background.
  // Runs in the browser only (effects do not run during server rendering).
  React.useEffect(() => {
    const el = ref.current;
    if (!el || typeof window === "undefined" || typeof window.getComputedStyle !== "function") return;
    const computed = window.getComputedStyle(el);
    if (computed.getPropertyValue("--kc-primary-text").trim() !== "") return;
    const ink = readableInk(computed.backgroundColor);
    if (ink) el.style.setProperty("--kc-primary-text", ink);
  });
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
      ref,
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

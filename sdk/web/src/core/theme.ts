/**
 * Page → widget theming: the `--kc-*` variables the host page sets in its own CSS
 * (`:root { --kc-primary: … }`, `[data-kc-theme="dark"] { … }`) are read from the computed
 * style of an element carrying the resolved `data-kc-theme`, and handed to the widget (which
 * runs sandboxed in an iframe, where the page's stylesheets cannot reach).
 */

/** Every variable of the theming reference, in its order. */
export const KC_CSS_VARS = [
  "--kc-primary",
  "--kc-primary-hover",
  "--kc-primary-light",
  "--kc-primary-text",
  "--kc-primary-rgb",
  "--kc-bg-primary",
  "--kc-bg-secondary",
  "--kc-bg-tertiary",
  "--kc-bg-hover",
  "--kc-text-primary",
  "--kc-text-secondary",
  "--kc-text-tertiary",
  "--kc-text-inverse",
  "--kc-border",
  "--kc-border-focus",
  "--kc-border-radius",
  "--kc-secondary",
  "--kc-secondary-hover",
  "--kc-success",
  "--kc-success-light",
  "--kc-success-dark",
  "--kc-error",
  "--kc-error-light",
  "--kc-error-dark",
  "--kc-warning",
  "--kc-warning-light",
  "--kc-warning-dark",
  "--kc-shadow-sm",
  "--kc-shadow-md",
  "--kc-shadow-lg",
] as const;

/** `light` or `dark`: `auto` follows the system preference. */
export function resolveTheme(theme: "light" | "dark" | "auto", win: Window): "light" | "dark" {
  if (theme !== "auto") return theme;
  return typeof win.matchMedia === "function" && win.matchMedia("(prefers-color-scheme: dark)").matches
    ? "dark"
    : "light";
}

/**
 * The `--kc-*` values the page's CSS gives `el` (set `data-kc-theme` on it first so the
 * page's `[data-kc-theme="dark"]` rules apply), without empty ones.
 */
export function readPageCssVars(el: Element, win: Window): Record<string, string> {
  const out: Record<string, string> = {};
  // The element, then its ancestors: browsers inherit custom properties into the computed
  // style already; engines that do not (jsdom) find them where they are declared.
  const styles: CSSStyleDeclaration[] = [];
  for (let node: Element | null = el; node; node = node.parentElement) {
    try {
      styles.push(win.getComputedStyle(node));
    } catch {
      break;
    }
  }
  for (const name of KC_CSS_VARS) {
    for (const style of styles) {
      const value = style.getPropertyValue(name).trim();
      if (value) {
        out[name] = value;
        break;
      }
    }
  }
  return out;
}

/** Keeps only `--kc-*` names with string values that cannot break out of a CSS declaration. */
export function sanitizeCssVars(vars: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!vars) return out;
  for (const [name, value] of Object.entries(vars)) {
    if (!/^--kc-[a-z0-9-]+$/.test(name) || value == null) continue;
    const v = String(value).trim();
    if (v && v.length <= 200 && !/[;{}<>]/.test(v)) out[name] = v;
  }
  return out;
}

/**
 * The modal overlay: a sandboxed iframe on `GET /connect`, the origin-checked message
 * channel, and the overlay's own notices (an unregistered page origin, a missing client id).
 *
 * Styles are set through CSSOM (`el.style`), which a strict host Content-Security-Policy allows,
 * unlike `style=""` attributes or injected `<style>` elements.
 */

import { KryptosConnectError } from "./errors";
import { addOriginCommand, noticeText } from "./messages";
import { type Callbacks, readWidgetMessage, type WidgetParams, widgetUrl } from "./protocol";
import { readPageCssVars, resolveTheme } from "./theme";

/** Show our own close button if the widget never says "ready" within this. */
const FALLBACK_CLOSE_AFTER_MS = 10000;

/** What {@link mountOverlay} needs. */
export interface MountParams {
  win: Window;
  /** The widget parameters; `cssVars` holds the explicit overrides (they win over page CSS). */
  widget: Omit<WidgetParams, "pageOrigin">;
  callbacks: Callbacks;
  /** Called once the overlay has left the DOM. */
  onTeardown: () => void;
}

/** A mounted overlay. */
export interface Mounted {
  readonly overlay: HTMLElement;
  /** Tears down and reports `code` (unless a result was already reported). */
  close(code: string, message: string): void;
}

type Styles = Record<string, string | undefined>;

/** Sets styles through CSSOM. */
function css(el: HTMLElement, styles: Styles): void {
  for (const [k, v] of Object.entries(styles)) {
    if (v == null) continue;
    if (k.includes("-")) el.style.setProperty(k, v);
    else (el.style as unknown as Record<string, string>)[k] = v;
  }
}

/** Runs a user callback without letting its exception break the SDK (rethrown asynchronously). */
function safely(win: Window, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    win.setTimeout(() => {
      throw e;
    });
  }
}

const LIGHT = { bg: "#ffffff", text: "#1f2937", muted: "#4b5563", code: "#f3f4f6" };
const DARK = { bg: "#0a0a0a", text: "#f6f6f8", muted: "#e5e7eb", code: "#1a1a1d" };

/** Mounts the overlay and starts the widget. */
export function mountOverlay(p: MountParams): Mounted {
  const { win, callbacks } = p;
  const doc = win.document;
  const theme = resolveTheme(p.widget.theme, win);
  const pageOrigin = win.location.origin;
  const serverOrigin = new URL(p.widget.baseUrl).origin;
  const text = noticeText(p.widget.language);

  const overlay = doc.createElement("div");
  overlay.setAttribute("data-kryptos-connect", "overlay");
  overlay.setAttribute("data-kc-theme", theme);
  overlay.setAttribute("role", "dialog");
  overlay.setAttribute("aria-modal", "true");
  overlay.setAttribute("aria-label", "Kryptos Connect");
  css(overlay, {
    position: "fixed",
    top: "0",
    right: "0",
    bottom: "0",
    left: "0",
    zIndex: "2147483646",
    display: "flex",
    alignItems: "center",
    justifyContent: "center",
    background: "rgba(15, 23, 42, 0.55)",
    opacity: "0",
    transition: "opacity 160ms ease",
  });
  // In the DOM before anything is read from it: the page's `[data-kc-theme]` rules apply.
  doc.body.appendChild(overlay);
  const cssVars = { ...readPageCssVars(overlay, win), ...p.widget.cssVars };
  const palette = theme === "dark" ? DARK : LIGHT;
  const bg = cssVars["--kc-bg-primary"] || palette.bg;

  const frame = doc.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-popups");
  frame.setAttribute("title", "Kryptos Connect");
  frame.setAttribute("allow", "clipboard-write");
  css(frame, {
    border: "0",
    display: "block",
    background: bg,
    boxShadow: "0 25px 50px -12px rgba(0, 0, 0, 0.35)",
    transform: "translateY(8px)",
    transition: "transform 180ms ease",
  });
  frame.src = widgetUrl({ ...p.widget, cssVars, pageOrigin });

  // Last-resort close button, only if the widget never reports "ready".
  const fallbackClose = doc.createElement("button");
  fallbackClose.type = "button";
  fallbackClose.setAttribute("aria-label", text.close);
  fallbackClose.textContent = "\u00d7";
  css(fallbackClose, {
    position: "absolute",
    top: "12px",
    right: "12px",
    width: "40px",
    height: "40px",
    border: "0",
    borderRadius: "999px",
    background: "rgba(255, 255, 255, 0.9)",
    color: "#111827",
    fontSize: "24px",
    lineHeight: "40px",
    cursor: "pointer",
    display: "none",
  });

  overlay.appendChild(frame);
  overlay.appendChild(fallbackClose);

  const previousFocus = doc.activeElement as HTMLElement | null;
  const previousOverflow = doc.documentElement.style.overflow;
  const media = typeof win.matchMedia === "function" ? win.matchMedia("(max-width: 480px), (max-height: 600px)") : null;
  let ready = false;
  let delivered = false;
  let removed = false;
  let notice: HTMLElement | null = null;

  const layout = (): void => {
    const compact = !!media && media.matches;
    const box: Styles = compact
      ? { width: "100%", height: "100%", maxWidth: "none", maxHeight: "none", borderRadius: "0" }
      : {
          width: "420px",
          height: "700px",
          maxWidth: "calc(100vw - 32px)",
          maxHeight: "calc(100vh - 32px)",
          borderRadius: "16px",
        };
    css(frame, box);
  };

  /** Reports one result, exactly once per open. */
  const deliver = (fn: () => void): void => {
    if (delivered) return;
    delivered = true;
    safely(win, fn);
  };

  const teardown = (): void => {
    if (removed) return;
    removed = true;
    win.removeEventListener("message", onMessage);
    doc.removeEventListener("keydown", onKeydown);
    doc.removeEventListener("focusin", onFocusIn);
    if (media) {
      if (media.removeEventListener) media.removeEventListener("change", layout);
      else if (media.removeListener) media.removeListener(layout);
    }
    win.clearTimeout(fallbackTimer);
    if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
    doc.documentElement.style.overflow = previousOverflow;
    if (previousFocus && typeof previousFocus.focus === "function" && doc.contains(previousFocus)) {
      try {
        previousFocus.focus();
      } catch {
        /* ignore */
      }
    }
    p.onTeardown();
  };

  /** Tear down first, then report (the page sees a closed overlay in its callback). */
  const finish = (fn: () => void): void => {
    if (delivered) {
      teardown();
      return;
    }
    teardown();
    deliver(fn);
  };

  const closeWith = (code: string, message: string): void =>
    finish(() => callbacks.error(new KryptosConnectError(code, message)));

  const userClosed = (): void => closeWith("USER_CLOSED", "The user closed Kryptos Connect");

  /** Replaces the iframe by a message card; the result is reported at once, the card stays until closed. */
  const showNotice = (code: string, title: string, lead: string, devLabel: string, command: string): void => {
    if (notice || removed) return;
    if (frame.parentNode) frame.parentNode.removeChild(frame);
    fallbackClose.style.display = "none";
    notice = doc.createElement("div");
    notice.setAttribute("data-kryptos-connect", "notice");
    notice.setAttribute("data-code", code);
    notice.setAttribute("role", "alert");
    css(notice, {
      boxSizing: "border-box",
      width: "440px",
      maxWidth: "calc(100vw - 32px)",
      maxHeight: "calc(100vh - 32px)",
      overflow: "auto",
      padding: "24px",
      borderRadius: cssVars["--kc-border-radius"] ? `calc(${cssVars["--kc-border-radius"]} * 2)` : "16px",
      background: bg,
      color: cssVars["--kc-text-primary"] || palette.text,
      boxShadow: "0 25px 50px -12px rgba(0, 0, 0, 0.35)",
      fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
      fontSize: "15px",
      lineHeight: "1.5",
      textAlign: "left",
    });
    const h = doc.createElement("h2");
    h.textContent = title;
    css(h, { margin: "0 0 8px", fontSize: "18px", lineHeight: "1.3", fontWeight: "650" });
    const lp = doc.createElement("p");
    lp.textContent = lead;
    css(lp, { margin: "0 0 16px", color: cssVars["--kc-text-secondary"] || palette.muted });
    notice.appendChild(h);
    notice.appendChild(lp);
    if (command) {
      const dl = doc.createElement("p");
      dl.textContent = devLabel;
      css(dl, { margin: "0 0 6px", fontSize: "13px", color: cssVars["--kc-text-secondary"] || palette.muted });
      const code = doc.createElement("code");
      code.textContent = command;
      css(code, {
        display: "block",
        padding: "10px 12px",
        marginBottom: "20px",
        borderRadius: "8px",
        background: cssVars["--kc-bg-secondary"] || palette.code,
        fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
        fontSize: "13px",
        wordBreak: "break-all",
        userSelect: "all",
      });
      notice.appendChild(dl);
      notice.appendChild(code);
    }
    const close = doc.createElement("button");
    close.type = "button";
    close.textContent = text.close;
    close.setAttribute("data-kryptos-connect", "notice-close");
    css(close, {
      display: "block",
      width: "100%",
      minHeight: "44px",
      padding: "10px 18px",
      border: "0",
      borderRadius: cssVars["--kc-border-radius"] || "10px",
      background: palette.text,
      color: palette.bg,
      font: "inherit",
      fontWeight: "600",
      cursor: "pointer",
    });
    close.addEventListener("click", teardown);
    notice.appendChild(close);
    overlay.appendChild(notice);
    try {
      close.focus();
    } catch {
      /* ignore */
    }
  };

  const originNotAllowed = (origin: string): void => {
    const clientId = p.widget.clientId;
    const command = addOriginCommand(clientId, origin);
    showNotice("ORIGIN_NOT_ALLOWED", text.originTitle, text.originLead(origin), text.originDev, command);
    deliver(() =>
      callbacks.error(
        new KryptosConnectError(
          "ORIGIN_NOT_ALLOWED",
          `This page's origin ${origin} is not registered for the Kryptos Connect client ${clientId}, ` +
            `so the browser refuses to show the widget. Register it on the server: ${command}`,
        ),
      ),
    );
  };

  function onMessage(event: MessageEvent): void {
    // Only our iframe, only the server's origin, only widget messages.
    if (event.source !== frame.contentWindow || event.origin !== serverOrigin) return;
    const signal = readWidgetMessage(event.data);
    if (!signal) return;
    switch (signal.kind) {
      case "event":
        if (signal.event.type === "ready") {
          ready = true;
          fallbackClose.style.display = "none";
        }
        safely(win, () => callbacks.event(signal.event));
        break;
      case "success":
        finish(() => callbacks.success(signal.consent));
        break;
      case "error":
        closeWith(signal.code, signal.message);
        break;
      case "close":
        userClosed();
        break;
    }
  }

  function onKeydown(event: KeyboardEvent): void {
    if (event.key !== "Escape") return;
    event.preventDefault();
    userClosed();
  }

  // Keep keyboard focus inside the dialog.
  function onFocusIn(event: FocusEvent): void {
    const target = event.target as Node | null;
    if (target && overlay.contains(target)) return;
    const inside = notice ? notice.querySelector("button") : frame;
    if (inside) inside.focus();
  }

  fallbackClose.addEventListener("click", userClosed);
  win.addEventListener("message", onMessage);
  doc.addEventListener("keydown", onKeydown);
  doc.addEventListener("focusin", onFocusIn);
  if (media) {
    if (media.addEventListener) media.addEventListener("change", layout);
    else if (media.addListener) media.addListener(layout);
  }
  const fallbackTimer = win.setTimeout(() => {
    if (!ready && !notice) fallbackClose.style.display = "block";
  }, FALLBACK_CLOSE_AFTER_MS);

  layout();
  doc.documentElement.style.overflow = "hidden"; // no background scroll
  const show = (): void => {
    overlay.style.opacity = "1";
    frame.style.transform = "none";
    if (!notice) frame.focus();
  };
  if (typeof win.requestAnimationFrame === "function") win.requestAnimationFrame(show);
  else show();

  // The browser refuses to frame the widget on an origin the client did not register
  // (CSP frame-ancestors), and the page cannot see that happen: ask the server instead.
  if (pageOrigin !== serverOrigin) {
    if (!p.widget.clientId) {
      showNotice("INVALID_CONFIG", text.configTitle, text.configLead, "", "");
      deliver(() =>
        callbacks.error(
          new KryptosConnectError(
            "INVALID_CONFIG",
            "clientId is required to open Kryptos Connect from another origin (set it in the provider config or KryptosConnect.init)",
          ),
        ),
      );
    } else if (typeof win.fetch === "function") {
      const url = `${p.widget.baseUrl}/widget/origin-check?client_id=${encodeURIComponent(p.widget.clientId)}`;
      win
        .fetch(url, { method: "GET", mode: "cors", credentials: "omit", cache: "no-store" })
        .then((res) => (res.ok ? res.json() : null))
        .then((body: unknown) => {
          const data = body && typeof body === "object" ? (body as { data?: unknown }).data : null;
          if (!data || typeof data !== "object") return;
          const { allowed, origin } = data as { allowed?: unknown; origin?: unknown };
          if (allowed === false && !ready && !removed) {
            originNotAllowed(typeof origin === "string" && origin ? origin : pageOrigin);
          }
        })
        .catch(() => {
          /* an older server or no network: the fallback close button remains */
        });
    }
  }

  return { overlay, close: closeWith };
}

import { vi } from "vitest";

/** The Kryptos Connect server the tests point the SDK at (another origin than the jsdom page). */
export const SERVER = "http://127.0.0.1:8080";

/** The mounted widget iframe, if any. */
export function widgetFrame(): HTMLIFrameElement | null {
  return document.querySelector<HTMLIFrameElement>("[data-kryptos-connect=overlay] iframe");
}

/** A message from the widget iframe (or from `source`/`origin` when given, to test the checks). */
export function postFromWidget(data: unknown, opts: { origin?: string; source?: Window | null } = {}): void {
  const frame = widgetFrame();
  const source = opts.source === undefined ? (frame && frame.contentWindow) : opts.source;
  window.dispatchEvent(new MessageEvent("message", { data, origin: opts.origin ?? SERVER, source }));
}

/** Stubs `fetch` for `/widget/origin-check`: `allowed` decides the answer; returns the spy. */
export function stubOriginCheck(allowed: boolean) {
  const spy = vi.fn(async (input: RequestInfo | URL) => {
    const url = String(input);
    if (!url.includes("/widget/origin-check")) throw new Error(`unexpected fetch ${url}`);
    return new Response(JSON.stringify({ success: true, data: { origin: window.location.origin, allowed } }), {
      status: 200,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", spy);
  return spy;
}

/** Resolves once `check` is truthy (polls the microtask/macrotask queue). */
export async function until<T>(check: () => T | null | undefined | false, what: string, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The fragment parameters of the widget URL. */
export function fragmentOf(src: string): URLSearchParams {
  return new URLSearchParams(new URL(src).hash.replace(/^#/, ""));
}

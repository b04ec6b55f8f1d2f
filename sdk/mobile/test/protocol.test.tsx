/**
 * The package's side of the WebView contract: every message sequence in
 * docs/webview-protocol.fixtures.json (the same file the Rust e2e contract test checks the
 * real widget against) must produce exactly the documented callback, once; every "ignored"
 * message must change nothing.
 */
import { screen } from "@testing-library/react-native";
import fixtures from "../../../docs/webview-protocol.fixtures.json";
import { PROTOCOL_VERSION, WIDGET_SOURCE, buildConnectUrl, parseWidgetMessage } from "../src";
import { BASE, LINK, PUBLIC, fragmentOf, poster, pressAndOpen, renderButton } from "./helpers";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Replaces the fixture placeholders with concrete values. */
function concrete(v: Json): Json {
  if (v === "<public_token>") return PUBLIC;
  if (v === "<text>") return "Some explanation";
  if (v === "<link_token>") return LINK;
  if (Array.isArray(v)) return v.map(concrete);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, concrete(x)]));
  }
  return v;
}

interface Flow {
  description: string;
  messages: Json[];
  callback: { onSuccess?: Json; onError?: string };
}

const flows = Object.entries(fixtures.flows as unknown as Record<string, Flow>);
const terminals = flows.map(([, f]) => JSON.stringify(concrete(f.messages[f.messages.length - 1] ?? null)));

describe("the fixture file", () => {
  it("describes this package's protocol version and source", () => {
    expect(fixtures.version).toBe(PROTOCOL_VERSION);
    expect(fixtures.source).toBe(WIDGET_SOURCE);
    expect(flows.length).toBeGreaterThanOrEqual(5);
  });

  it("names fragment parameters the package sends", () => {
    const url = buildConnectUrl({ baseUrl: BASE, linkToken: LINK, theme: "light" });
    const fragment = fragmentOf(url);
    for (const [key, value] of Object.entries(fixtures.fragment.required)) {
      expect(fragment[key]).toBe(concrete(value));
    }
    for (const key of Object.keys(fragment)) {
      expect([...Object.keys(fixtures.fragment.required), ...fixtures.fragment.optional]).toContain(key);
    }
  });
});

describe.each(flows)("flow %s", (_name, flow) => {
  it("ends with exactly the documented callback, once", async () => {
    const h = renderButton();
    const post = poster(await pressAndOpen());
    for (const m of flow.messages) post(JSON.stringify(concrete(m)));

    if ("onSuccess" in flow.callback) {
      expect(h.onSuccess).toHaveBeenCalledTimes(1);
      expect(h.onSuccess).toHaveBeenCalledWith(concrete(flow.callback.onSuccess ?? null));
      expect(h.onError).not.toHaveBeenCalled();
    } else {
      expect(h.onError).toHaveBeenCalledTimes(1);
      expect(h.onError.mock.calls[0]?.[0].code).toBe(flow.callback.onError);
      expect(h.onError.mock.calls[0]?.[0].message).toEqual(expect.any(String));
      expect(h.onSuccess).not.toHaveBeenCalled();
    }
    // The modal is gone; replaying any terminal message changes nothing.
    expect(screen.queryByTestId("kryptos-connect-webview")).toBeNull();
    for (const t of terminals) post(t);
    expect(h.onSuccess.mock.calls.length + h.onError.mock.calls.length).toBe(1);
  });

  it("parses every message of the flow", () => {
    for (const m of flow.messages) {
      const parsed = parseWidgetMessage(JSON.stringify(concrete(m)));
      expect(parsed).not.toBeNull();
      expect(parsed?.type).toBe((m as { type: string }).type);
    }
  });
});

describe.each(fixtures.ignored.map((i) => [i.why, i.data] as const))("ignored: %s", (_why, data) => {
  it("is rejected by the parser", () => {
    expect(parseWidgetMessage(data)).toBeNull();
  });

  it("changes nothing: no callback, the widget stays open, a later close still counts once", async () => {
    const h = renderButton();
    const post = poster(await pressAndOpen());
    post(data);
    expect(h.onSuccess).not.toHaveBeenCalled();
    expect(h.onError).not.toHaveBeenCalled();
    expect(screen.getByTestId("kryptos-connect-webview")).toBeTruthy();
    post(JSON.stringify({ source: "kryptos-connect", version: 1, type: "close" }));
    expect(h.onError).toHaveBeenCalledTimes(1);
    expect(h.onError.mock.calls[0]?.[0].code).toBe("USER_CLOSED");
  });
});

describe("non-string payloads", () => {
  it.each([[undefined], [42], [{ type: "close" }]])("are ignored (%p)", (data) => {
    expect(parseWidgetMessage(data)).toBeNull();
  });
});

describe("the message's page", () => {
  it("must be the configured server: a message from another origin is ignored", async () => {
    const h = renderButton();
    const post = poster(await pressAndOpen());
    const success = JSON.stringify({ source: "kryptos-connect", version: 1, type: "success", public_token: PUBLIC });
    post(success, "https://evil.example.net/connect");
    post(success, "https://connect.example.com.evil.net/connect");
    expect(h.onSuccess).not.toHaveBeenCalled();
    post(success, `${BASE}/connect`);
    expect(h.onSuccess).toHaveBeenCalledWith({ public_token: PUBLIC });
  });
});

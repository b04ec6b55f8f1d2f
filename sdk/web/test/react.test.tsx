import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import * as React from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  KryptosConnect,
  KryptosConnectButton,
  type KryptosConnectButtonProps,
  KryptosConnectError,
  KryptosConnectProvider,
  type KryptosConnectProviderProps,
  type UserConsent,
  useKryptosConnect,
} from "../src/index";
import { fragmentOf, postFromWidget, SERVER, stubOriginCheck, until, widgetFrame } from "./helpers";

const config: KryptosConnectProviderProps["config"] = {
  appName: "My DeFi App",
  appLogo: "https://yourapp.example/logo.png",
  clientId: "kc_test_client",
  theme: "light",
  walletConnectProjectId: "wc-project",
  baseUrl: SERVER,
};

function renderButton(props: Partial<KryptosConnectButtonProps> = {}, cfg = config) {
  const onSuccess = vi.fn<(c: UserConsent | null) => void>();
  const onError = vi.fn<(e: Error) => void>();
  const generateLinkToken = vi.fn(async () => ({ link_token: "link_abc123", isAuthorized: false }));
  render(
    <KryptosConnectProvider config={cfg}>
      <KryptosConnectButton generateLinkToken={generateLinkToken} onSuccess={onSuccess} onError={onError} {...props} />
    </KryptosConnectProvider>,
  );
  return { onSuccess, onError, generateLinkToken };
}

async function clickAndMount(): Promise<HTMLIFrameElement> {
  await act(async () => {
    fireEvent.click(screen.getByRole("button"));
  });
  return until(widgetFrame, "the widget iframe");
}

beforeEach(() => {
  stubOriginCheck(true);
});

afterEach(() => {
  KryptosConnect.close();
  cleanup();
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

describe("KryptosConnectButton", () => {
  it("renders the seed's default label, the SDK class and the theme attribute", () => {
    renderButton();
    const button = screen.getByRole("button", { name: "Connect to Kryptos" });
    expect(button.getAttribute("type")).toBe("button");
    expect(button.className).toBe("kc-connect-button kc-connect-button--md");
    expect(button.getAttribute("data-kc-theme")).toBe("light");
  });

  it("takes children, className, style, size and passes other button attributes through", () => {
    render(
      <KryptosConnectProvider config={{ ...config, cssVars: { "--kc-primary": "#6366f1" } }}>
        <KryptosConnectButton
          generateLinkToken={async () => ({ link_token: "link_x" })}
          className="my-custom-button"
          style={{ borderRadius: "12px" }}
          size="lg"
          data-testid="connect"
          id="connect"
        >
          Connect Wallet
        </KryptosConnectButton>
      </KryptosConnectProvider>,
    );
    const button = screen.getByTestId("connect");
    expect(button.textContent).toBe("Connect Wallet");
    expect(button.id).toBe("connect");
    expect(button.className).toBe("kc-connect-button kc-connect-button--lg my-custom-button");
    expect(button.style.borderRadius).toBe("12px");
    expect(button.style.getPropertyValue("--kc-primary")).toBe("#6366f1");
  });

  it("renders a React-node logo in the button and does not send it to the widget", async () => {
    renderButton({}, { ...config, appLogo: <svg data-testid="logo" /> });
    expect(screen.getByTestId("logo").closest(".kc-connect-button__logo")).not.toBeNull();
    const frame = await clickAndMount();
    expect(fragmentOf(frame.src).has("app_logo")).toBe(false);
  });

  it("opens the widget with the link token in the fragment, never in the query", async () => {
    const { generateLinkToken } = renderButton({ integrationName: "ethereum", extraConfig: { prefill: { address: "0xabc" } } });
    const frame = await clickAndMount();
    expect(generateLinkToken).toHaveBeenCalledTimes(1);
    const url = new URL(frame.src);
    expect(url.origin + url.pathname).toBe(`${SERVER}/connect`);
    expect([...url.searchParams.keys()]).toEqual(["client_id"]);
    expect(url.searchParams.get("client_id")).toBe("kc_test_client");
    expect(url.search).not.toContain("link_");
    const f = fragmentOf(frame.src);
    expect(f.get("link_token")).toBe("link_abc123");
    expect(f.get("origin")).toBe(window.location.origin);
    expect(f.get("theme")).toBe("light");
    expect(f.get("lang")).toBe("en");
    expect(f.get("mode")).toBe("iframe");
    expect(f.get("auth")).toBe("email,anonymous");
    expect(f.get("app_name")).toBe("My DeFi App");
    expect(f.get("app_logo")).toBe("https://yourapp.example/logo.png");
    expect(f.get("walletconnect_project_id")).toBe("wc-project");
    expect(f.get("integration")).toBe("ethereum");
    expect(JSON.parse(f.get("prefill") || "null")).toEqual({ address: "0xabc" });
    expect(frame.getAttribute("sandbox")).toBe("allow-scripts allow-same-origin allow-forms allow-popups");
    expect(document.querySelector("[data-kryptos-connect=overlay]")?.getAttribute("role")).toBe("dialog");
  });

  it("reports success exactly once and removes the overlay", async () => {
    const { onSuccess, onError } = renderButton();
    await clickAndMount();
    act(() => {
      postFromWidget({ source: "kryptos-connect", type: "ready" });
      postFromWidget({ source: "kryptos-connect", type: "success", public_token: "public_tok" });
      postFromWidget({ source: "kryptos-connect", type: "success", public_token: "public_again" });
      postFromWidget({ source: "kryptos-connect", type: "close" });
    });
    expect(onSuccess).toHaveBeenCalledTimes(1);
    expect(onSuccess).toHaveBeenCalledWith({ public_token: "public_tok" });
    expect(onError).not.toHaveBeenCalled();
    expect(widgetFrame()).toBeNull();
    expect(document.querySelector("[data-kryptos-connect]")).toBeNull();
  });

  it("passes null for a returning user", async () => {
    const { onSuccess } = renderButton();
    await clickAndMount();
    act(() => postFromWidget({ source: "kryptos-connect", type: "success", public_token: null }));
    expect(onSuccess).toHaveBeenCalledWith(null);
  });

  it("calls both the seed's and the reference page's callback names", async () => {
    const onConnectSuccess = vi.fn();
    const { onSuccess } = renderButton({ onConnectSuccess });
    await clickAndMount();
    act(() => postFromWidget({ source: "kryptos-connect", type: "success", public_token: "public_tok" }));
    expect(onSuccess).toHaveBeenCalledTimes(1);
    expect(onConnectSuccess).toHaveBeenCalledTimes(1);
  });

  it("ignores messages from another origin, another window or not from the widget", async () => {
    const { onSuccess, onError } = renderButton();
    await clickAndMount();
    act(() => {
      postFromWidget({ source: "kryptos-connect", type: "success", public_token: "evil" }, { origin: "https://evil.example" });
      postFromWidget({ source: "kryptos-connect", type: "success", public_token: "evil" }, { source: window });
      postFromWidget({ source: "other", type: "success", public_token: "evil" });
      postFromWidget("kryptos-connect success");
    });
    expect(onSuccess).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
    expect(widgetFrame()).not.toBeNull();
  });

  it("reports USER_CLOSED when the user closes the widget", async () => {
    const { onError, onSuccess } = renderButton();
    await clickAndMount();
    act(() => postFromWidget({ source: "kryptos-connect", type: "close" }));
    expect(onSuccess).not.toHaveBeenCalled();
    expect(onError).toHaveBeenCalledTimes(1);
    const err = onError.mock.calls[0][0] as KryptosConnectError;
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(KryptosConnectError);
    expect(err.code).toBe("USER_CLOSED");
    expect(widgetFrame()).toBeNull();
  });

  it("reports USER_CLOSED on Escape, and the widget's error codes as they are", async () => {
    const { onError } = renderButton();
    await clickAndMount();
    act(() => {
      document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    });
    expect((onError.mock.calls[0][0] as KryptosConnectError).code).toBe("USER_CLOSED");
    await clickAndMount();
    act(() => postFromWidget({ source: "kryptos-connect", type: "error", code: "ACCESS_DENIED", message: "denied" }));
    const denied = onError.mock.calls[1][0] as KryptosConnectError;
    expect([denied.code, denied.message]).toEqual(["ACCESS_DENIED", "denied"]);
  });

  it("reports a rejecting generateLinkToken as LINK_TOKEN_ERROR and opens nothing", async () => {
    const cause = new Error("backend down");
    const { onError } = renderButton({ generateLinkToken: () => Promise.reject(cause) });
    await act(async () => {
      fireEvent.click(screen.getByRole("button"));
    });
    await until(() => onError.mock.calls.length > 0, "onError");
    const err = onError.mock.calls[0][0] as KryptosConnectError;
    expect(err.code).toBe("LINK_TOKEN_ERROR");
    expect(err.message).toBe("backend down");
    expect(err.cause).toBe(cause);
    expect(widgetFrame()).toBeNull();
  });

  it("reports a missing link_token as INVALID_LINK_TOKEN", async () => {
    const { onError } = renderButton({ generateLinkToken: async () => ({ link_token: "" }) });
    await act(async () => {
      fireEvent.click(screen.getByRole("button"));
    });
    await until(() => onError.mock.calls.length > 0, "onError");
    expect((onError.mock.calls[0][0] as KryptosConnectError).code).toBe("INVALID_LINK_TOKEN");
  });

  it("opens one widget at a time", async () => {
    const { generateLinkToken } = renderButton();
    await clickAndMount();
    await act(async () => {
      fireEvent.click(screen.getByRole("button"));
    });
    expect(generateLinkToken).toHaveBeenCalledTimes(1);
    expect(document.querySelectorAll("[data-kryptos-connect=overlay]").length).toBe(1);
  });
});

describe("useKryptosConnect", () => {
  function Menu(props: { onSuccess: (c: UserConsent | null) => void; onError: (e: Error) => void }) {
    const { open, close, isOpen } = useKryptosConnect();
    return (
      <div>
        <span data-testid="state">{isOpen ? "open" : "closed"}</span>
        <button
          type="button"
          onClick={() =>
            void open({ generateLinkToken: async () => ({ link_token: "link_hook" }), onSuccess: props.onSuccess, onError: props.onError })
          }
        >
          Share my portfolio
        </button>
        <button type="button" onClick={close}>
          Cancel
        </button>
      </div>
    );
  }

  it("opens the flow without the button, tracks isOpen, and close() reports CLOSED", async () => {
    const onSuccess = vi.fn();
    const onError = vi.fn();
    render(
      <KryptosConnectProvider config={config}>
        <Menu onSuccess={onSuccess} onError={onError} />
      </KryptosConnectProvider>,
    );
    expect(screen.getByTestId("state").textContent).toBe("closed");
    await act(async () => {
      fireEvent.click(screen.getByText("Share my portfolio"));
    });
    const frame = await until(widgetFrame, "the widget");
    expect(fragmentOf(frame.src).get("link_token")).toBe("link_hook");
    expect(screen.getByTestId("state").textContent).toBe("open");
    act(() => {
      fireEvent.click(screen.getByText("Cancel"));
    });
    expect(screen.getByTestId("state").textContent).toBe("closed");
    expect((onError.mock.calls[0][0] as KryptosConnectError).code).toBe("CLOSED");
    expect(onSuccess).not.toHaveBeenCalled();
  });
});

describe("KryptosConnect.init (the reference page's style, no provider)", () => {
  it("configures buttons outside any provider", async () => {
    KryptosConnect.init({ clientId: "kc_global", appName: "Global App", baseUrl: SERVER + "/", theme: "dark", language: "fr" });
    render(<KryptosConnectButton generateLinkToken={async () => ({ link_token: "link_g" })} />);
    expect(screen.getByRole("button").getAttribute("data-kc-theme")).toBe("dark");
    const frame = await clickAndMount();
    const url = new URL(frame.src);
    expect(url.origin + url.pathname).toBe(`${SERVER}/connect`);
    expect(url.searchParams.get("client_id")).toBe("kc_global");
    expect(fragmentOf(frame.src).get("lang")).toBe("fr");
    expect(fragmentOf(frame.src).get("theme")).toBe("dark");
    expect(KryptosConnect.getConfig().appName).toBe("Global App");
  });
});

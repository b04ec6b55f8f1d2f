import { act, fireEvent, render, screen, waitFor } from "@testing-library/react-native";
import { Linking, Text } from "react-native";
import { KryptosConnectButton, KryptosConnectProvider } from "../src";
import { BASE, LINK, PUBLIC, fragmentOf, poster, pressAndOpen, renderButton, sourceUri } from "./helpers";

const SUCCESS = JSON.stringify({ source: "kryptos-connect", version: 1, type: "success", public_token: PUBLIC });

describe("KryptosConnectButton", () => {
  it("shows its label and opens the widget on <baseUrl>/connect with the token in the fragment", async () => {
    const h = renderButton();
    expect(screen.getByText("Connect to Kryptos")).toBeTruthy();
    expect(screen.queryByTestId("kryptos-connect-webview")).toBeNull();

    const webview = await pressAndOpen();
    expect(h.generateLinkToken).toHaveBeenCalledTimes(1);
    const uri = sourceUri(webview);
    const [beforeHash] = uri.split("#");
    expect(beforeHash).toBe(`${BASE}/connect?client_id=kc_test`);
    expect(beforeHash).not.toContain("link_");
    expect(fragmentOf(uri)).toEqual({ link_token: LINK, mode: "webview", theme: "light" });
  });

  it("follows the dark theme (fragment and native background)", async () => {
    renderButton({ theme: "dark" });
    const webview = await pressAndOpen();
    expect(fragmentOf(sourceUri(webview)).theme).toBe("dark");
    expect(screen.getByTestId("kryptos-connect-webview")).toHaveStyle({ backgroundColor: "#0a0a0a" });
  });

  it("normalises baseUrl and forwards language and the WalletConnect project id", async () => {
    renderButton({ baseUrl: "https://connect.example.com/base//", language: "fr", walletConnectProjectId: "wc-1" });
    const uri = sourceUri(await pressAndOpen());
    expect(uri.startsWith("https://connect.example.com/base/connect?client_id=kc_test#")).toBe(true);
    expect(fragmentOf(uri)).toMatchObject({ lang: "fr", walletconnect_project_id: "wc-1" });
  });

  it("shows a loading state until the page has loaded", async () => {
    renderButton({ appLogo: "https://app.example.com/logo.png" });
    const webview = await pressAndOpen();
    expect(screen.getByTestId("kryptos-connect-loading")).toBeTruthy();
    expect(screen.getByTestId("kryptos-connect-logo").props.source).toEqual({ uri: "https://app.example.com/logo.png" });
    fireEvent(webview, "load");
    expect(screen.queryByTestId("kryptos-connect-loading")).toBeNull();
  });

  it("hides the loading state as soon as the widget says ready", async () => {
    renderButton();
    const post = poster(await pressAndOpen());
    post(JSON.stringify({ source: "kryptos-connect", version: 1, type: "ready" }));
    expect(screen.queryByTestId("kryptos-connect-loading")).toBeNull();
  });

  it("lets the user cancel while loading: onError(USER_CLOSED), once", async () => {
    const h = renderButton();
    await pressAndOpen();
    fireEvent.press(screen.getByTestId("kryptos-connect-cancel"));
    expect(h.onError).toHaveBeenCalledTimes(1);
    expect(h.onError.mock.calls[0]?.[0].code).toBe("USER_CLOSED");
    expect(screen.queryByTestId("kryptos-connect-modal")).toBeNull();
    expect(h.onSuccess).not.toHaveBeenCalled();
  });

  it("ends with onError(USER_CLOSED) on the Android back button", async () => {
    const h = renderButton();
    const post = poster(await pressAndOpen());
    fireEvent(screen.getByTestId("kryptos-connect-modal"), "requestClose");
    expect(h.onError).toHaveBeenCalledTimes(1);
    expect(h.onError.mock.calls[0]?.[0].code).toBe("USER_CLOSED");
    post(SUCCESS); // too late: the flow has ended
    expect(h.onSuccess).not.toHaveBeenCalled();
    expect(h.onError).toHaveBeenCalledTimes(1);
  });

  it("shows an error view with retry when the page cannot load, and Close ends with onError", async () => {
    const h = renderButton();
    const webview = await pressAndOpen();
    const uri = sourceUri(webview);
    fireEvent(webview, "error", { nativeEvent: { description: "net::ERR_CONNECTION_REFUSED", code: -6 } });
    expect(screen.getByTestId("kryptos-connect-error")).toBeTruthy();
    expect(screen.getByTestId("kryptos-connect-error-detail")).toHaveTextContent(/net::ERR_CONNECTION_REFUSED/);
    expect(screen.queryByTestId("kryptos-connect-webview")).toBeNull();
    expect(h.onError).not.toHaveBeenCalled();

    fireEvent.press(screen.getByTestId("kryptos-connect-retry"));
    const again = screen.getByTestId("kryptos-connect-webview");
    expect(sourceUri(again)).toBe(uri);
    expect(screen.getByTestId("kryptos-connect-loading")).toBeTruthy();
    expect(h.generateLinkToken).toHaveBeenCalledTimes(1);

    fireEvent(again, "httpError", { nativeEvent: { statusCode: 503, description: "" } });
    expect(screen.getByTestId("kryptos-connect-error-detail")).toHaveTextContent(/HTTP 503/);
    fireEvent.press(screen.getByTestId("kryptos-connect-close"));
    expect(h.onError).toHaveBeenCalledTimes(1);
    expect(h.onError.mock.calls[0]?.[0].code).toBe("WIDGET_UNAVAILABLE");
  });

  it("reports a rejecting generateLinkToken through onError, without opening the widget", async () => {
    const h = renderButton({}, () => Promise.reject(new Error("backend down")));
    fireEvent.press(screen.getByTestId("kryptos-connect-button"));
    await waitFor(() => expect(h.onError).toHaveBeenCalledTimes(1));
    expect(h.onError.mock.calls[0]?.[0]).toEqual({
      code: "LINK_TOKEN_ERROR",
      message: "generateLinkToken() failed: backend down",
    });
    expect(screen.queryByTestId("kryptos-connect-webview")).toBeNull();
    expect(h.onSuccess).not.toHaveBeenCalled();
  });

  it.each([
    ["a string without link_", "abc"],
    ["a public token", "public_abc"],
    ["an empty string", ""],
    ["a token with a fragment separator", "link_abc&mode=page"],
    ["the web SDK's object shape", { link_token: LINK }],
    ["undefined", undefined],
  ])("refuses %s from generateLinkToken: onError(INVALID_LINK_TOKEN)", async (_what, value) => {
    const h = renderButton({}, () => Promise.resolve(value as unknown as string));
    fireEvent.press(screen.getByTestId("kryptos-connect-button"));
    await waitFor(() => expect(h.onError).toHaveBeenCalledTimes(1));
    expect(h.onError.mock.calls[0]?.[0].code).toBe("INVALID_LINK_TOKEN");
    expect(screen.queryByTestId("kryptos-connect-webview")).toBeNull();
  });

  it("reports a missing server (no baseUrl, package not downloaded from a server): onError(INVALID_CONFIG)", async () => {
    const h = renderButton({ baseUrl: undefined });
    fireEvent.press(screen.getByTestId("kryptos-connect-button"));
    await waitFor(() => expect(h.onError).toHaveBeenCalledTimes(1));
    expect(h.onError.mock.calls[0]?.[0].code).toBe("INVALID_CONFIG");
    expect(h.generateLinkToken).not.toHaveBeenCalled();
  });

  it("can connect again after a flow ended", async () => {
    const h = renderButton();
    poster(await pressAndOpen())(SUCCESS);
    expect(h.onSuccess).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(screen.getByTestId("kryptos-connect-button")).toBeEnabled());
    poster(await pressAndOpen())(JSON.stringify({ source: "kryptos-connect", version: 1, type: "close" }));
    expect(h.generateLinkToken).toHaveBeenCalledTimes(2);
    expect(h.onSuccess).toHaveBeenCalledTimes(1);
    expect(h.onError).toHaveBeenCalledTimes(1);
  });

  it("is disabled while the widget is open", async () => {
    const h = renderButton();
    await pressAndOpen();
    expect(screen.getByTestId("kryptos-connect-button")).toBeDisabled();
    fireEvent.press(screen.getByTestId("kryptos-connect-button"));
    expect(h.generateLinkToken).toHaveBeenCalledTimes(1);
  });

  it("keeps the user on the server's pages and opens other links in the system browser", async () => {
    const open = jest.spyOn(Linking, "openURL").mockResolvedValue(true);
    renderButton();
    const webview = await pressAndOpen();
    const should = webview.props.onShouldStartLoadWithRequest as (req: { url: string }) => boolean;
    expect(should({ url: `${BASE}/connect` })).toBe(true);
    expect(should({ url: "https://help.example.org/wallets" })).toBe(false);
    expect(open).toHaveBeenCalledWith("https://help.example.org/wallets");
    expect(should({ url: "javascript:alert(1)" })).toBe(false);
    expect(open).toHaveBeenCalledTimes(1);
    open.mockRestore();
  });

  it("applies style and textStyle, and renders element children as given", () => {
    render(
      <KryptosConnectProvider config={{ appName: "A", clientId: "kc_x", baseUrl: BASE }}>
        <KryptosConnectButton
          generateLinkToken={async () => LINK}
          style={{ backgroundColor: "#8b5cf6", borderRadius: 12, padding: 16 }}
          textStyle={{ color: "#ffffff", fontSize: 16, fontWeight: "bold" }}
        >
          Connect Wallet
        </KryptosConnectButton>
        <KryptosConnectButton generateLinkToken={async () => LINK} testID="custom">
          <Text testID="custom-child">Custom</Text>
        </KryptosConnectButton>
      </KryptosConnectProvider>,
    );
    expect(screen.getByTestId("kryptos-connect-button")).toHaveStyle({ backgroundColor: "#8b5cf6", padding: 16 });
    expect(screen.getByText("Connect Wallet")).toHaveStyle({ color: "#ffffff", fontWeight: "bold" });
    expect(screen.getByTestId("custom-child")).toBeTruthy();
  });

  it("explains a missing provider", () => {
    const spy = jest.spyOn(console, "error").mockImplementation(() => undefined);
    expect(() => render(<KryptosConnectButton generateLinkToken={async () => LINK} />)).toThrow(
      /KryptosConnectProvider/,
    );
    spy.mockRestore();
  });

  it("does not let an exception in onSuccess break the flow", async () => {
    jest.useFakeTimers();
    const h = renderButton();
    h.onSuccess.mockImplementation(() => {
      throw new Error("app bug");
    });
    const post = poster(await pressAndOpen());
    post(SUCCESS);
    expect(h.onSuccess).toHaveBeenCalledTimes(1);
    expect(screen.queryByTestId("kryptos-connect-modal")).toBeNull();
    expect(() => act(() => jest.runOnlyPendingTimers())).toThrow("app bug");
    jest.useRealTimers();
  });
});

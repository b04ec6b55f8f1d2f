import { useState } from "react";
import { fireEvent, render, screen, waitFor } from "@testing-library/react-native";
import { Pressable, Text } from "react-native";
import { KryptosConnectModal, KryptosConnectProvider } from "../src";
import type { KryptosConnectErrorInfo, UserConsent } from "../src";
import { BASE, LINK, PUBLIC, fragmentOf, poster, sourceUri } from "./helpers";

/** The seed's "Using KryptosConnectModal" screen, with observable state. */
function Screen(props: {
  generateLinkToken: () => Promise<string>;
  onSuccess: (c: UserConsent | null) => void;
  onError: (e: KryptosConnectErrorInfo) => void;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Pressable onPress={() => setOpen(true)} testID="open">
        <Text>Open Connection Modal</Text>
      </Pressable>
      <Pressable onPress={() => setOpen(false)} testID="force-close">
        <Text>Force close</Text>
      </Pressable>
      <Text testID="state">{open ? "open" : "closed"}</Text>
      <KryptosConnectModal open={open} setOpen={setOpen} {...props} />
    </>
  );
}

function setup(generateLinkToken: () => Promise<string> = async () => LINK) {
  const onSuccess = jest.fn<void, [UserConsent | null]>();
  const onError = jest.fn<void, [KryptosConnectErrorInfo]>();
  const gen = jest.fn(generateLinkToken);
  render(
    <KryptosConnectProvider config={{ appName: "Modal App", clientId: "kc_m", baseUrl: BASE, theme: "dark" }}>
      <Screen generateLinkToken={gen} onSuccess={onSuccess} onError={onError} />
    </KryptosConnectProvider>,
  );
  return { onSuccess, onError, gen };
}

describe("KryptosConnectModal", () => {
  it("round-trips open/setOpen: open → widget → success → setOpen(false) → open again", async () => {
    const h = setup();
    expect(screen.queryByTestId("kryptos-connect-modal")).toBeNull();

    fireEvent.press(screen.getByTestId("open"));
    const webview = await screen.findByTestId("kryptos-connect-webview");
    expect(screen.getByTestId("state")).toHaveTextContent("open");
    expect(fragmentOf(sourceUri(webview))).toMatchObject({ link_token: LINK, mode: "webview", theme: "dark" });

    poster(webview)(JSON.stringify({ source: "kryptos-connect", version: 1, type: "success", public_token: PUBLIC }));
    expect(h.onSuccess).toHaveBeenCalledWith({ public_token: PUBLIC });
    expect(screen.getByTestId("state")).toHaveTextContent("closed");
    expect(screen.queryByTestId("kryptos-connect-modal")).toBeNull();

    fireEvent.press(screen.getByTestId("open"));
    await screen.findByTestId("kryptos-connect-webview");
    expect(h.gen).toHaveBeenCalledTimes(2);
    expect(h.onSuccess).toHaveBeenCalledTimes(1);
  });

  it("ends silently when the app closes it, and ignores a late link token", async () => {
    let resolve: (t: string) => void = () => undefined;
    const h = setup(() => new Promise<string>((r) => (resolve = r)));
    fireEvent.press(screen.getByTestId("open"));
    expect(screen.getByTestId("kryptos-connect-loading")).toBeTruthy();
    fireEvent.press(screen.getByTestId("force-close"));
    expect(screen.queryByTestId("kryptos-connect-modal")).toBeNull();
    resolve(LINK);
    await waitFor(() => expect(h.gen).toHaveBeenCalledTimes(1));
    await new Promise((r) => setTimeout(r, 10));
    expect(screen.queryByTestId("kryptos-connect-webview")).toBeNull();
    expect(h.onSuccess).not.toHaveBeenCalled();
    expect(h.onError).not.toHaveBeenCalled();
  });

  it("ends with onError and setOpen(false) when the widget reports an error", async () => {
    const h = setup();
    fireEvent.press(screen.getByTestId("open"));
    const post = poster(await screen.findByTestId("kryptos-connect-webview"));
    post(JSON.stringify({ source: "kryptos-connect", version: 1, type: "error", code: "TOKEN_EXPIRED", message: "Expired" }));
    expect(h.onError).toHaveBeenCalledWith({ code: "TOKEN_EXPIRED", message: "Expired" });
    expect(screen.getByTestId("state")).toHaveTextContent("closed");
  });
});

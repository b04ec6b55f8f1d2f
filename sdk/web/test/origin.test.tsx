import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import * as React from "react";
import { afterEach, expect, it, vi } from "vitest";
import { KryptosConnect, KryptosConnectButton, type KryptosConnectError, KryptosConnectProvider } from "../src/index";
import { SERVER, stubOriginCheck, until, widgetFrame } from "./helpers";

afterEach(() => {
  KryptosConnect.close();
  cleanup();
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

function mount(clientId = "kc_client_1", language = "en") {
  const onError = vi.fn<(e: KryptosConnectError) => void>();
  const onSuccess = vi.fn();
  render(
    <KryptosConnectProvider config={{ appName: "A", clientId, baseUrl: SERVER, language }}>
      <KryptosConnectButton generateLinkToken={async () => ({ link_token: "link_o" })} onError={onError} onSuccess={onSuccess} />
    </KryptosConnectProvider>,
  );
  return { onError, onSuccess };
}

it("asks the server whether this page's origin is registered, with the client id and no credentials", async () => {
  const fetch = stubOriginCheck(true);
  const { onError } = mount();
  await act(async () => {
    fireEvent.click(screen.getByRole("button"));
  });
  await until(() => fetch.mock.calls.length > 0, "the origin check");
  const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
  expect(url).toBe(`${SERVER}/widget/origin-check?client_id=kc_client_1`);
  expect(init).toMatchObject({ mode: "cors", credentials: "omit" });
  await new Promise((r) => setTimeout(r, 20));
  expect(onError).not.toHaveBeenCalled();
  expect(widgetFrame()).not.toBeNull();
});

it("shows a message and reports ORIGIN_NOT_ALLOWED with the command to run, once", async () => {
  stubOriginCheck(false);
  const { onError, onSuccess } = mount();
  await act(async () => {
    fireEvent.click(screen.getByRole("button"));
  });
  const notice = await until(() => document.querySelector<HTMLElement>("[data-kryptos-connect=notice]"), "the notice");
  expect(notice.getAttribute("data-code")).toBe("ORIGIN_NOT_ALLOWED");
  expect(notice.getAttribute("role")).toBe("alert");
  const origin = window.location.origin;
  expect(notice.textContent).toContain("Kryptos Connect is not set up for this site");
  expect(notice.textContent).toContain(`kryptos-connect clients update kc_client_1 --add-origin ${origin}`);
  expect(widgetFrame()).toBeNull();
  expect(onError).toHaveBeenCalledTimes(1);
  const err = onError.mock.calls[0][0];
  expect(err.code).toBe("ORIGIN_NOT_ALLOWED");
  expect(err.message).toContain(origin);
  expect(err.message).toContain(`kryptos-connect clients update kc_client_1 --add-origin ${origin}`);
  // The message stays until the user closes it; closing reports nothing more.
  expect(KryptosConnect.isOpen()).toBe(true);
  act(() => (notice.querySelector("button") as HTMLButtonElement).click());
  expect(document.querySelector("[data-kryptos-connect]")).toBeNull();
  expect(KryptosConnect.isOpen()).toBe(false);
  expect(onError).toHaveBeenCalledTimes(1);
  expect(onSuccess).not.toHaveBeenCalled();
});

it("speaks French when asked", async () => {
  stubOriginCheck(false);
  mount("kc_client_1", "fr");
  await act(async () => {
    fireEvent.click(screen.getByRole("button"));
  });
  const notice = await until(() => document.querySelector<HTMLElement>("[data-kryptos-connect=notice]"), "the notice");
  expect(notice.textContent).toContain("Kryptos Connect n’est pas configuré pour ce site");
  expect(notice.querySelector("button")?.textContent).toBe("Fermer");
});

it("without a client id, says so instead of showing a frame the browser will block", async () => {
  const fetch = stubOriginCheck(true);
  const { onError } = mount("");
  await act(async () => {
    fireEvent.click(screen.getByRole("button"));
  });
  await until(() => onError.mock.calls.length > 0, "onError");
  expect(onError.mock.calls[0][0].code).toBe("INVALID_CONFIG");
  expect(document.querySelector("[data-kryptos-connect=notice]")?.getAttribute("data-code")).toBe("INVALID_CONFIG");
  expect(fetch).not.toHaveBeenCalled();
});

it("does not check when the page is the server itself", async () => {
  const fetch = stubOriginCheck(false);
  const onError = vi.fn();
  render(
    <KryptosConnectProvider config={{ appName: "A", clientId: "kc_c", baseUrl: window.location.origin }}>
      <KryptosConnectButton generateLinkToken={async () => ({ link_token: "link_s" })} onError={onError} />
    </KryptosConnectProvider>,
  );
  await act(async () => {
    fireEvent.click(screen.getByRole("button"));
  });
  await until(widgetFrame, "the widget");
  await new Promise((r) => setTimeout(r, 20));
  expect(fetch).not.toHaveBeenCalled();
  expect(onError).not.toHaveBeenCalled();
});

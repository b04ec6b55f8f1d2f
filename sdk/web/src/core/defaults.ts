/**
 * Where the widget lives when the configuration gives no `baseUrl`.
 *
 * A Kryptos Connect server that serves this package (`GET /sdk/web-sdk.tgz`) replaces the
 * placeholder below with its own public URL, so `npm install https://<server>/sdk/web-sdk.tgz`
 * talks to that server without any configuration. Unreplaced, the public service is used.
 */
const SERVED_BASE_URL = "%%KRYPTOS_CONNECT_BASE_URL%%";

/** The public Kryptos Connect service (the seed's base URL). */
export const PUBLIC_BASE_URL = "https://connect-api.kryptos.io";

/** The serving server's URL when the package came from one, else {@link PUBLIC_BASE_URL}. */
export function packageBaseUrl(): string {
  return /^https?:\/\/[^\s"'\\]+$/.test(SERVED_BASE_URL) ? SERVED_BASE_URL : PUBLIC_BASE_URL;
}

/**
 * The server this copy of the package was downloaded from. `GET /sdk/mobile-sdk.tgz`
 * replaces the placeholder below with the serving server's public URL (see
 * crates/http/src/routes/sdk_packages.rs); a copy built from source keeps the placeholder,
 * and then `config.baseUrl` is required.
 */
export const SERVED_BASE_URL: string = "%%KRYPTOS_CONNECT_BASE_URL%%";

/** Whether `url` is still the unreplaced placeholder. */
export function isMarker(url: string): boolean {
  return url.startsWith("%%") && url.endsWith("%%");
}

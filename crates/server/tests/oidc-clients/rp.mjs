// A relying party built on npm `openid-client` (panva), run by crates/server/tests/e2e/oidc.rs.
//
// Environment: KC_ISSUER, KC_CLIENT_ID, KC_CLIENT_SECRET, KC_CALLBACK_PORT, KC_API_BASE.
// Prints one JSON line {"auth_url": …} once it listens for the callback on
// http://127.0.0.1:KC_CALLBACK_PORT/callback; the test drives a browser there. After the
// callback it runs the rest of the flow with the library and prints one JSON line
// {"report": {…}}, then exits (non-zero, with {"error": …}, on any failure).
import http from "node:http";
import { Issuer, generators, errors } from "openid-client";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const issuerUrl = env("KC_ISSUER");
const port = Number(env("KC_CALLBACK_PORT"));
const apiBase = env("KC_API_BASE");
const redirectUri = `http://127.0.0.1:${port}/callback`;
const clientId = env("KC_CLIENT_ID");
const clientSecret = env("KC_CLIENT_SECRET");
const scope = "openid profile email offline_access users:read portfolios:read";

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function oauthError(promise) {
  try {
    await promise;
    return null;
  } catch (e) {
    if (e instanceof errors.OPError) return e.error;
    throw e;
  }
}

async function main() {
  const issuer = await Issuer.discover(`${issuerUrl}/.well-known/openid-configuration`);
  const client = new issuer.Client({
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  });
  const codeVerifier = generators.codeVerifier();
  const state = generators.state();
  const nonce = generators.nonce();
  const authUrl = client.authorizationUrl({
    scope,
    state,
    nonce,
    code_challenge: generators.codeChallenge(codeVerifier),
    code_challenge_method: "S256",
  });

  const callbackParams = await new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      if (!req.url.startsWith("/callback")) {
        res.writeHead(404).end();
        return;
      }
      const params = client.callbackParams(req);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end('<!doctype html><title>RP</title><h1 data-testid="rp-done">Signed in with openid-client</h1>');
      server.close();
      resolve(params);
    });
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => out({ auth_url: authUrl }));
  });

  // Code exchange; the library validates the ID token (signature from the JWKS, iss, aud, exp, iat, nonce).
  const tokens = await client.callback(redirectUri, callbackParams, { code_verifier: codeVerifier, state, nonce });
  const claims = tokens.claims();
  const header = JSON.parse(Buffer.from(tokens.id_token.split(".")[0], "base64url").toString());
  const userinfo = await client.userinfo(tokens.access_token);

  // The access token on the Data API, with the client headers (as the reference shows).
  const dataApi = await fetch(`${apiBase}/api/v1/userinfo`, {
    headers: { Authorization: `Bearer ${tokens.access_token}`, "X-Client-Id": clientId, "X-Client-Secret": clientSecret },
  });

  // Refresh (rotation; the new ID token is validated again).
  const refreshed = await client.refresh(tokens.refresh_token);
  const introspected = await client.introspect(refreshed.access_token, "access_token");

  // RFC 7009: revoking the refresh token ends its grant; the access token dies with it.
  await client.revoke(refreshed.refresh_token, "refresh_token");
  const afterRevocation = await client.introspect(refreshed.access_token, "access_token");
  const userinfoAfter = await client.userinfo(refreshed.access_token).then(
    () => "ok",
    (e) => (e instanceof errors.OPError ? e.error : String(e)),
  );

  // Reusing the first (rotated) refresh token is refused.
  const reuseError = await oauthError(client.refresh(tokens.refresh_token));

  // client_credentials (RFC 6749 §4.4): the client for itself; no refresh token, no ID token,
  // and no user's data on the Data API.
  const cc = await client.grant({ grant_type: "client_credentials", scope: "portfolios:read" });
  const ccIntrospected = await client.introspect(cc.access_token, "access_token");
  const ccDataApi = await fetch(`${apiBase}/api/v1/holdings`, {
    headers: { Authorization: `Bearer ${cc.access_token}`, "X-Client-Id": clientId, "X-Client-Secret": clientSecret },
  });

  out({
    report: {
      issuer: issuer.issuer,
      state_ok: callbackParams.state === state,
      id_token_alg: header.alg,
      id_token_kid: header.kid,
      sub: claims.sub,
      aud: claims.aud,
      nonce_ok: claims.nonce === nonce,
      auth_time: claims.auth_time,
      scope: tokens.scope,
      expires_in: tokens.expires_in,
      userinfo_sub: userinfo.sub,
      userinfo_users_access: userinfo.users_access,
      data_api_status: dataApi.status,
      refreshed_sub: refreshed.claims().sub,
      refresh_rotated: refreshed.refresh_token !== tokens.refresh_token,
      introspection_active: introspected.active,
      introspection_client_id: introspected.client_id,
      introspection_after_revocation: afterRevocation.active,
      userinfo_after_revocation: userinfoAfter,
      reuse_error: reuseError,
      cc_scope: cc.scope,
      cc_expires_in: cc.expires_in,
      cc_refresh_token: cc.refresh_token !== undefined,
      cc_id_token: cc.id_token !== undefined,
      cc_introspection_active: ccIntrospected.active,
      cc_introspection_sub: ccIntrospected.sub,
      cc_data_api_status: ccDataApi.status,
    },
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    out({ error: String(e && e.stack ? e.stack : e) });
    process.exit(1);
  },
);

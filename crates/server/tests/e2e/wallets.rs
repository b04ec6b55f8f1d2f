//! Browser wallets (issue 17): a test EIP-1193 provider announced through EIP-6963 and a test
//! Solana Wallet Standard wallet are injected into the widget page. They hand every request to
//! this test (a queue in the page), which answers as the user would in the wallet: it shares
//! accounts, signs the server's sign-in message with keys generated here (k256 / ed25519), or
//! declines. Connect → sign → "Verified"; declining → back to the list with a message; two
//! accounts → pick one. Screenshots of every screen; axe-core on the new ones.

use crate::axe::assert_accessible;
use crate::browser::{Browser, Viewport};
use crate::server::DemoServer;
use ed25519_dalek::Signer as _;
use k256::ecdsa::SigningKey;
use reqwest::Method;
use serde_json::{json, Value};
use sha3::{Digest, Keccak256};

/// The test wallets, installed in the page. Each wallet request waits in `__kcWallet.queue`
/// until the test answers (`answer`, `answerSignature`) or declines it (`decline`: EIP-1193's
/// 4001 "User rejected the request").
const TEST_WALLETS: &str = r##"
(function () {
  if (window.__kcWallet) return true;
  var queue = [], pending = {}, next = 1;
  function ask(kind, data) {
    return new Promise(function (resolve, reject) {
      var id = next++;
      pending[id] = { resolve: resolve, reject: reject };
      data.id = id; data.kind = kind;
      queue.push(data);
    });
  }
  function text(bytes) { return new TextDecoder().decode(bytes); }
  window.__kcWallet = {
    queue: queue,
    answer: function (id, value) { pending[id].resolve(value); delete pending[id]; },
    answerSignature: function (id, bytes) { pending[id].resolve([{ signature: new Uint8Array(bytes) }]); delete pending[id]; },
    decline: function (id) {
      var e = new Error("User rejected the request."); e.code = 4001;
      pending[id].reject(e); delete pending[id];
    }
  };
  var icon = "data:image/svg+xml;base64," + btoa('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#6d28d9"/><path d="M8 12h16v10H8z" fill="#fff"/></svg>');
  var provider = {
    request: function (args) {
      if (args.method === "eth_requestAccounts") return ask("accounts", {});
      if (args.method === "eth_chainId") return Promise.resolve("0x1");
      if (args.method === "personal_sign") {
        var hex = String(args.params[0]).slice(2);
        var bytes = new Uint8Array(hex.match(/../g).map(function (h) { return parseInt(h, 16); }));
        return ask("personal_sign", { text: text(bytes), address: args.params[1] });
      }
      var e = new Error("Unsupported method"); e.code = 4200;
      return Promise.reject(e);
    }
  };
  var info = Object.freeze({ uuid: "5b1c5e3e-0000-4000-8000-000000000001", name: "Test Wallet", icon: icon, rdns: "dev.kryptos.testwallet" });
  function announce() {
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info: info, provider: provider }) }));
  }
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
  var solIcon = "data:image/svg+xml;base64," + btoa('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#0f766e"/><path d="M8 10h16l-3 4H5zM11 18h16l-3 4H8z" fill="#fff"/></svg>');
  var sol = {
    version: "1.0.0", name: "Test Solana", icon: solIcon, chains: ["solana:mainnet"], accounts: [],
    features: {
      "standard:connect": { version: "1.0.0", connect: function () { return ask("sol_connect", {}); } },
      "solana:signMessage": { version: "1.0.0", signMessage: function (input) {
        return ask("sol_sign", { text: text(input.message), address: input.account.address });
      } }
    }
  };
  window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: function (api) { api.register(sol); } }));
  return true;
})();
"##;

struct EvmKey {
    key: SigningKey,
    address: String,
}

impl EvmKey {
    fn generate() -> Self {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        let hash = Keccak256::digest(&point.as_bytes()[1..]);
        let address = kc_domain::eip55_address(&format!("0x{}", hex::encode(&hash[12..]))).expect("20 bytes");
        Self { key, address }
    }

    fn personal_sign(&self, text: &str) -> String {
        let prefixed = format!("\x19Ethereum Signed Message:\n{}{}", text.len(), text);
        let (sig, rec) = self.key.sign_prehash_recoverable(&Keccak256::digest(prefixed.as_bytes())).expect("signs");
        let mut bytes = sig.to_bytes().to_vec();
        bytes.push(27 + rec.to_byte());
        format!("0x{}", hex::encode(bytes))
    }
}

/// The next wallet request of `kind`, as the test wallet queued it.
async fn wallet_request(b: &Browser, kind: &str) -> Value {
    let req = b
        .until(&format!("a `{kind}` request in the test wallet"), || async {
            let v = b.js("return window.__kcWallet.queue.shift() || null;", vec![]).await;
            (!v.is_null()).then_some(v)
        })
        .await;
    assert_eq!(req["kind"], json!(kind), "the widget asked the wallet for {kind}: {req}");
    req
}

async fn answer(b: &Browser, req: &Value, value: Value) {
    b.js("window.__kcWallet.answer(arguments[0], arguments[1]); return true;", vec![req["id"].clone(), value]).await;
}

async fn decline(b: &Browser, req: &Value) {
    b.js("window.__kcWallet.decline(arguments[0]); return true;", vec![req["id"].clone()]).await;
}

/// Opens the widget page of a fresh demo link token (sandbox client; the server lets it connect
/// any verified address), installs the test wallets, signs in as a guest and consents.
async fn widget_with_wallets(b: &Browser, server: &DemoServer, fragment: &str) -> String {
    let creds = server.demo_creds();
    let link = crate::flows::demo_link_token(server).await;
    b.goto(&server.url(&format!("/connect?client_id={}#link_token={link}&mode=page&{fragment}", creds.id))).await;
    b.js(TEST_WALLETS, vec![]).await;
    b.click("auth-anonymous").await;
    b.click("consent-allow").await;
    b.visible("step-integration").await;
    link
}

/// The session's integrations, as the server lists them.
async fn server_integrations(server: &DemoServer, link: &str) -> Vec<Value> {
    let a = server.app.send(Method::GET, "/widget/integrations", None, Some(link), None).await;
    a.data()["integrations"].as_array().cloned().unwrap_or_default()
}

/// Scrolls the widget's scrolling areas to their end. With a connected wallet the provider list
/// runs under the sticky Continue bar; a row half under it would count as an obscured target
/// (axe `target-size`), which is where the page is when the user scrolls, not a fixed state.
async fn scroll_to_end(b: &Browser) {
    b.js(
        "Array.prototype.forEach.call(document.querySelectorAll('*'), function (el) { \
           if (el.scrollHeight > el.clientHeight + 1) el.scrollTop = el.scrollHeight; }); \
         window.scrollTo(0, document.documentElement.scrollHeight); return true;",
        vec![],
    )
    .await;
}

async fn verified_rows(b: &Browser) -> u64 {
    b.js("return document.querySelectorAll('#added-list [data-verified=\"true\"] [data-testid=\"verified-badge\"]').length;", vec![])
        .await
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evm_wallet_connects_by_signature_declines_go_back_and_one_of_two_accounts_is_picked() {
    let _serial = crate::serial().await;
    let server = DemoServer::start_with(false, |s| s.widget.sandbox_verified_any_address = true).await;
    let b = Browser::start("wallets_evm", Viewport::Desktop).await;
    let link = widget_with_wallets(&b, &server, "theme=light").await;

    // Both test wallets are listed above the providers, by their announced names.
    b.visible("wallet-evm-test-wallet").await;
    b.visible("wallet-solana-test-solana").await;
    b.shot("wallets-listed").await;
    assert_accessible(&b, "the provider list with browser wallets").await;

    // Connect: the wallet shares one account, then signs the server's EIP-4361 message.
    let alice = EvmKey::generate();
    b.click("wallet-evm-test-wallet").await;
    let req = wallet_request(&b, "accounts").await;
    b.text_until("wallet-wait", "the connection prompt", |t| t.contains("Approve the connection")).await;
    b.shot("wallet-connect-wait").await;
    assert_accessible(&b, "the wallet connection screen").await;
    answer(&b, &req, json!([alice.address.to_lowercase()])).await;
    let sign = wallet_request(&b, "personal_sign").await;
    let text = sign["text"].as_str().expect("the message text").to_owned();
    let host = server.app.base.trim_start_matches("http://").to_owned();
    assert!(
        text.starts_with(&format!("{host} wants you to sign in with your Ethereum account:\n{}\n", alice.address)),
        "{text}"
    );
    assert!(text.contains("\nChain ID: 1\n") && text.contains("\nNonce: "), "{text}");
    assert_eq!(sign["address"], json!(alice.address), "personal_sign names the account");
    b.text_until("wallet-wait", "the signing prompt", |t| t.contains("Sign the message in Test Wallet")).await;
    b.shot("wallet-sign-wait").await;
    answer(&b, &sign, json!(alice.personal_sign(&text))).await;
    b.until("the verified wallet in the connected list", || async { (verified_rows(&b).await == 1).then_some(()) })
        .await;
    b.visible("integration-continue").await;
    let badge = b.text("verified-badge").await;
    assert_eq!(badge.trim(), "Verified");
    b.shot("wallet-verified").await;
    scroll_to_end(&b).await;
    assert_accessible(&b, "the list with a verified wallet").await;
    let listed = server_integrations(&server, &link).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["isVerified"], json!(true));
    assert_eq!(listed[0]["publicAddress"], json!(alice.address.to_lowercase()));

    // Declining in the wallet: back to the list with a message, nothing connected.
    b.click("wallet-evm-test-wallet").await;
    let req = wallet_request(&b, "accounts").await;
    answer(&b, &req, json!([alice.address])).await;
    let sign = wallet_request(&b, "personal_sign").await;
    decline(&b, &sign).await;
    let msg = b.text_until("error", "the decline message", |t| t.contains("declined")).await;
    assert_eq!(msg, "You declined the request in Test Wallet. Nothing was connected.");
    assert!(b.is_visible("wallet-evm-test-wallet").await, "back at the list");
    assert_eq!(server_integrations(&server, &link).await.len(), 1, "nothing more was connected");
    b.shot("wallet-declined").await;
    scroll_to_end(&b).await;
    assert_accessible(&b, "the list after a declined signature").await;

    // Declining the connection itself also goes back.
    b.click("wallet-evm-test-wallet").await;
    let req = wallet_request(&b, "accounts").await;
    decline(&b, &req).await;
    b.text_until("error", "the decline message", |t| t.contains("declined")).await;

    // Two accounts: the user picks the second one, which is then the one that signs.
    let (bob, carol) = (EvmKey::generate(), EvmKey::generate());
    b.click("wallet-evm-test-wallet").await;
    let req = wallet_request(&b, "accounts").await;
    answer(&b, &req, json!([bob.address, carol.address])).await;
    b.visible("wallet-account-1").await;
    b.text_until("wallet-view", "the account picker", |t| t.contains("Choose an account")).await;
    b.shot("wallet-pick-account").await;
    assert_accessible(&b, "the account picker").await;
    b.click("wallet-account-1").await;
    let sign = wallet_request(&b, "personal_sign").await;
    let text = sign["text"].as_str().expect("text").to_owned();
    assert!(text.contains(&format!("\n{}\n", carol.address)), "the message names the picked account: {text}");
    answer(&b, &sign, json!(carol.personal_sign(&text))).await;
    b.until("two verified wallets", || async { (verified_rows(&b).await == 2).then_some(()) }).await;
    let addresses: Vec<String> = server_integrations(&server, &link)
        .await
        .iter()
        .map(|i| i["publicAddress"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(addresses.contains(&carol.address.to_lowercase()), "{addresses:?}");
    assert!(!addresses.contains(&bob.address.to_lowercase()), "the other account was not connected: {addresses:?}");
    b.shot("two-verified").await;

    // The status screen keeps the badge.
    b.click("integration-continue").await;
    b.visible("step-status").await;
    b.until("badges on the status screen", || async {
        let n = b
            .js("return document.querySelectorAll('#status-list [data-testid=\"verified-badge\"]').length;", vec![])
            .await;
        (n == json!(2)).then_some(())
    })
    .await;
    b.shot("status-verified").await;
    b.assert_clean_console().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solana_wallet_connects_by_signature_in_french_dark_on_a_phone() {
    let _serial = crate::serial().await;
    let server = DemoServer::start_with(false, |s| s.widget.sandbox_verified_any_address = true).await;
    let b = Browser::start("wallets_solana", Viewport::Phone { width: 360, height: 780 }).await;
    let link = widget_with_wallets(&b, &server, "theme=dark&lang=fr").await;
    let keys = [
        ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>()),
        ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>()),
    ];
    let accounts: Vec<Value> = keys
        .iter()
        .map(|k| {
            let pk = k.verifying_key().to_bytes();
            json!({ "address": bs58::encode(pk).into_string(), "publicKey": pk.to_vec(), "chains": ["solana:mainnet"] })
        })
        .collect();

    b.visible("wallet-solana-test-solana").await;
    let heading = b.js("return document.getElementById('wallet-heading').textContent;", vec![]).await;
    assert_eq!(heading, json!("Connectez le portefeuille de votre navigateur"));
    b.shot("wallets-listed-fr-dark").await;
    assert_accessible(&b, "the wallet list, French, dark, 360 px").await;
    let overflow = b.js("return document.documentElement.scrollWidth > window.innerWidth;", vec![]).await;
    assert_eq!(overflow, json!(false), "no horizontal scrolling at 360 px");

    // Declined connection: back with the French message.
    b.click("wallet-solana-test-solana").await;
    let req = wallet_request(&b, "sol_connect").await;
    b.shot("solana-connect-wait").await;
    decline(&b, &req).await;
    let msg = b.text_until("error", "the decline message", |t| t.contains("refusé")).await;
    assert_eq!(msg, "Vous avez refusé la demande dans Test Solana. Rien n’a été connecté.");
    b.shot("solana-declined").await;

    // Two accounts → pick the second → sign → verified.
    b.click("wallet-solana-test-solana").await;
    let req = wallet_request(&b, "sol_connect").await;
    answer(&b, &req, json!({ "accounts": accounts })).await;
    b.visible("wallet-account-1").await;
    b.shot("solana-pick-account").await;
    assert_accessible(&b, "the Solana account picker, French, dark, 360 px").await;
    b.click("wallet-account-1").await;
    let sign = wallet_request(&b, "sol_sign").await;
    let text = sign["text"].as_str().expect("text").to_owned();
    assert_eq!(sign["address"], accounts[1]["address"], "the picked account signs");
    assert!(text.contains("sign in with your Solana account:") && text.contains("Chain ID: mainnet"), "{text}");
    b.shot("solana-sign-wait").await;
    let sig = keys[1].sign(text.as_bytes()).to_bytes().to_vec();
    b.js(
        "window.__kcWallet.answerSignature(arguments[0], arguments[1]); return true;",
        vec![sign["id"].clone(), json!(sig)],
    )
    .await;
    b.until("the verified Solana wallet", || async { (verified_rows(&b).await == 1).then_some(()) }).await;
    assert_eq!(b.text("verified-badge").await.trim(), "Vérifié");
    let listed = server_integrations(&server, &link).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["provider"], json!("solana"));
    assert_eq!(listed[0]["isVerified"], json!(true));
    assert_eq!(listed[0]["publicAddress"], accounts[1]["address"]);
    let overflow = b.js("return document.documentElement.scrollWidth > window.innerWidth;", vec![]).await;
    assert_eq!(overflow, json!(false), "no horizontal scrolling at 360 px with a verified wallet");
    b.shot("solana-verified-fr-dark").await;
    assert_accessible(&b, "a verified Solana wallet, French, dark, 360 px").await;
    b.assert_clean_console().await;
    b.close().await;
}

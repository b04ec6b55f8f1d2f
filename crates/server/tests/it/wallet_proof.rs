//! Wallet sign-in (issue 17): `POST /widget/wallets/challenge` issues a single-use nonce bound to
//! the link session and the message to sign; `POST /widget/wallets/verify` checks an EIP-4361
//! (EVM) or Sign-In With Solana message and its signature, and connects the wallet as verified.
//! Keys are generated here and sign as a wallet would (`personal_sign`, ed25519 `signMessage`).
//! Every refusal is a SPEC §5 error, audited as a security event, and stores nothing.

use crate::data_api::{data_get, spawn_with};
use crate::helpers::*;
use ed25519_dalek::Signer as _;
use k256::ecdsa::SigningKey;
use kc_domain::Clock as _;
use reqwest::Method;
use serde_json::{json, Value};
use sha3::{Digest, Keccak256};

/// An EVM key and its EIP-55 address.
struct EvmWallet {
    key: SigningKey,
    address: String,
}

impl EvmWallet {
    fn generate() -> Self {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        let hash = Keccak256::digest(&point.as_bytes()[1..]);
        let address = kc_domain::eip55_address(&format!("0x{}", hex::encode(&hash[12..]))).expect("20 bytes");
        Self { key, address }
    }

    /// `personal_sign` (EIP-191) of `text`: `0x` + r‖s‖v with v = 27 or 28.
    fn sign(&self, text: &str) -> String {
        let prefixed = format!("\x19Ethereum Signed Message:\n{}{}", text.len(), text);
        let digest = Keccak256::digest(prefixed.as_bytes());
        let (sig, rec) = self.key.sign_prehash_recoverable(&digest).expect("signs");
        let mut bytes = sig.to_bytes().to_vec();
        bytes.push(27 + rec.to_byte());
        format!("0x{}", hex::encode(bytes))
    }
}

/// A Solana keypair and its base58 address.
struct SolanaWallet {
    key: ed25519_dalek::SigningKey,
    address: String,
}

impl SolanaWallet {
    fn generate() -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let address = bs58::encode(key.verifying_key().as_bytes()).into_string();
        Self { key, address }
    }

    fn sign(&self, text: &str) -> String {
        bs58::encode(self.key.sign(text.as_bytes()).to_bytes()).into_string()
    }
}

async fn challenge(app: &TestApp, link: &str, provider: &str, address: &str) -> Answer {
    app.send(
        Method::POST,
        "/widget/wallets/challenge",
        None,
        Some(link),
        Some(json!({ "provider": provider, "address": address })),
    )
    .await
}

/// The message of a successful challenge.
async fn message_for(app: &TestApp, link: &str, provider: &str, address: &str) -> String {
    let a = challenge(app, link, provider, address).await;
    a.data()["message"].as_str().unwrap_or_else(|| panic!("message: {}", a.body)).to_owned()
}

async fn verify(app: &TestApp, link: &str, provider: &str, message: &str, signature: &str) -> Answer {
    app.send(
        Method::POST,
        "/widget/wallets/verify",
        None,
        Some(link),
        Some(json!({ "provider": provider, "message": message, "signature": signature })),
    )
    .await
}

async fn widget_integrations(app: &TestApp, link: &str) -> Vec<Value> {
    let a = app.send(Method::GET, "/widget/integrations", None, Some(link), None).await;
    a.data()["integrations"].as_array().unwrap_or_else(|| panic!("integrations: {}", a.body)).clone()
}

/// The value of `Key: value` in a sign-in message.
fn field<'a>(message: &'a str, key: &str) -> &'a str {
    message.lines().find_map(|l| l.strip_prefix(&format!("{key}: "))).unwrap_or_else(|| panic!("{key} in {message}"))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0).expect("0 ns").format(&time::format_description::well_known::Rfc3339).expect("formats")
}

/// The security events of `wallet.proof` recorded for the client.
async fn proof_refusals(app: &TestApp, creds: &Creds) -> Vec<String> {
    let events = app.service.audit_events(Some(creds.id.clone()), None, 500).await.expect("audit events");
    events
        .into_iter()
        .filter(|e| e.kind == "wallet.proof")
        .inspect(|e| assert_eq!(e.outcome, "security", "{e:?}"))
        .map(|e| e.detail.unwrap_or_default())
        .collect()
}

async fn a_signed_wallet_connects_verified_and_every_bad_proof_is_refused(db: Db) {
    let app = spawn_with(db, |s| s.widget.sandbox_verified_any_address = true).await;
    let creds = app.client().await;
    let link = app.consented_link(&creds).await;
    let alice = EvmWallet::generate();
    let mallory = EvmWallet::generate();

    // The challenge: an EIP-4361 message naming this server's host, the address, chain 1, a nonce.
    let c = challenge(&app, &link, "ethereum", &alice.address.to_lowercase()).await;
    let d = c.data().clone();
    let message = d["message"].as_str().expect("message").to_owned();
    assert_eq!(d["address"], json!(alice.address), "EIP-55 address: {d}");
    assert_eq!(d["chain_id"], json!(1), "{d}");
    assert!(message.starts_with("127.0.0.1:8080 wants you to sign in with your Ethereum account:\n"), "{message}");
    assert!(message.contains(&format!("\n{}\n", alice.address)), "{message}");
    assert_eq!(field(&message, "URI"), "http://127.0.0.1:8080/connect");
    assert_eq!(field(&message, "Version"), "1");
    assert_eq!(field(&message, "Chain ID"), "1");
    let nonce = field(&message, "Nonce").to_owned();
    assert!(nonce.len() >= 16 && nonce.bytes().all(|b| b.is_ascii_alphanumeric()), "nonce {nonce}");

    // Refusals that store nothing and spend nothing: each with the code it deserves.
    let other_chain = message.replace("Chain ID: 1", "Chain ID: 137");
    let other_domain = message.replacen("127.0.0.1:8080", "wallet-drainer.example", 1);
    let cases: Vec<(&str, String, String, u16, &str)> = vec![
        ("a signature by another key", message.clone(), mallory.sign(&message), 401, "INVALID_SIGNATURE"),
        ("another chain id", other_chain.clone(), alice.sign(&other_chain), 400, "INVALID_SIGN_IN_MESSAGE"),
        ("another domain", other_domain.clone(), alice.sign(&other_domain), 400, "INVALID_SIGN_IN_MESSAGE"),
        ("a malformed signature", message.clone(), "0xnot-hex".to_owned(), 401, "INVALID_SIGNATURE"),
        ("a truncated signature", message.clone(), alice.sign(&message)[..100].to_owned(), 401, "INVALID_SIGNATURE"),
        (
            "an EIP-1271 signature",
            message.clone(),
            format!("0x{}", "ab".repeat(160)),
            400,
            "CONTRACT_WALLET_NOT_SUPPORTED",
        ),
        ("not a sign-in message", "Please sign".to_owned(), alice.sign("Please sign"), 400, "INVALID_SIGN_IN_MESSAGE"),
    ];
    for (what, text, sig, status, code) in &cases {
        let a = verify(&app, &link, "ethereum", text, sig).await;
        assert_eq!(a.status.as_u16(), *status, "{what}: {}", a.body);
        a.assert_error(*status, code);
        assert!(widget_integrations(&app, &link).await.is_empty(), "{what}: nothing stored");
    }
    // A message signed for Ethereum is not a Polygon proof.
    verify(&app, &link, "polygon", &message, &alice.sign(&message)).await.assert_error(400, "INVALID_SIGN_IN_MESSAGE");

    // The right signature connects the wallet, verified.
    let a = verify(&app, &link, "ethereum", &message, &alice.sign(&message)).await;
    let view = a.data().clone();
    assert_eq!(view["isVerified"], json!(true), "{view}");
    assert_eq!(view["publicAddress"], json!(alice.address.to_lowercase()), "{view}");
    let verified_at = view["verifiedAt"].as_i64().unwrap_or_else(|| panic!("verifiedAt: {view}"));
    let now_ms = (app.clock.now().unix_timestamp_nanos() / 1_000_000) as i64;
    assert_eq!(verified_at, now_ms, "verified now");
    let listed = widget_integrations(&app, &link).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["isVerified"], json!(true));

    // The same signed message again: the nonce is spent.
    verify(&app, &link, "ethereum", &message, &alice.sign(&message)).await.assert_error(400, "NONCE_ALREADY_USED");

    // A pasted address stays unverified.
    let pasted = app
        .send(
            Method::POST,
            "/widget/integrations",
            None,
            Some(&link),
            Some(json!({"provider": "ethereum", "address": kc_domain::SANDBOX_ETHEREUM_ADDRESS})),
        )
        .await;
    assert_eq!(pasted.data()["isVerified"], json!(false), "{}", pasted.body);
    assert_eq!(pasted.data()["verifiedAt"], Value::Null, "{}", pasted.body);

    // A nonce issued to another link session is refused on this one.
    let other_link = app.consented_link(&creds).await;
    let bob = EvmWallet::generate();
    let foreign = message_for(&app, &other_link, "ethereum", &bob.address).await;
    verify(&app, &link, "ethereum", &foreign, &bob.sign(&foreign)).await.assert_error(401, "INVALID_NONCE");
    // A nonce issued for another address: a message naming Bob with Alice's nonce.
    let for_alice = message_for(&app, &link, "ethereum", &alice.address).await;
    let swapped = for_alice.replace(&alice.address, &bob.address);
    verify(&app, &link, "ethereum", &swapped, &bob.sign(&swapped)).await.assert_error(401, "INVALID_NONCE");

    // Expiry: past 5 minutes the message itself is dead …
    let carol = EvmWallet::generate();
    let late = message_for(&app, &link, "ethereum", &carol.address).await;
    app.clock.advance(time::Duration::seconds(301));
    verify(&app, &link, "ethereum", &late, &carol.sign(&late)).await.assert_error(400, "INVALID_SIGN_IN_MESSAGE");
    // … and so is its nonce, even inside a message with fresh times.
    let now = app.clock.now();
    let refreshed = late
        .replace(field(&late, "Issued At"), &rfc3339(now))
        .replace(field(&late, "Expiration Time"), &rfc3339(now + time::Duration::minutes(4)));
    verify(&app, &link, "ethereum", &refreshed, &carol.sign(&refreshed)).await.assert_error(400, "NONCE_EXPIRED");

    // Racing submissions of one signed message: exactly one connects.
    let dave = EvmWallet::generate();
    let raced = message_for(&app, &link, "ethereum", &dave.address).await;
    let sig = dave.sign(&raced);
    let (x, y) =
        tokio::join!(verify(&app, &link, "ethereum", &raced, &sig), verify(&app, &link, "ethereum", &raced, &sig));
    let mut statuses = [x.status.as_u16(), y.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "one wins: {} / {}", x.body, y.body);
    let loser = if x.status.as_u16() == 400 { x } else { y };
    loser.assert_error(400, "NONCE_ALREADY_USED");

    // Solana: an ed25519 signature over the Sign-In With Solana message.
    let sol = SolanaWallet::generate();
    let sol_msg = message_for(&app, &link, "solana", &sol.address).await;
    assert!(
        sol_msg.contains("sign in with your Solana account:\n") && sol_msg.contains("Chain ID: mainnet"),
        "{sol_msg}"
    );
    let forged = SolanaWallet::generate().sign(&sol_msg);
    verify(&app, &link, "solana", &sol_msg, &forged).await.assert_error(401, "INVALID_SIGNATURE");
    verify(&app, &link, "solana", &sol_msg, "not base58 0OIl").await.assert_error(401, "INVALID_SIGNATURE");
    let sol_view = verify(&app, &link, "solana", &sol_msg, &sol.sign(&sol_msg)).await;
    assert_eq!(sol_view.data()["isVerified"], json!(true), "{}", sol_view.body);
    assert_eq!(sol_view.data()["publicAddress"], json!(sol.address));

    // Every refusal above was audited as a security event, with its code.
    let refusals = proof_refusals(&app, &creds).await;
    for code in [
        "INVALID_SIGNATURE",
        "INVALID_SIGN_IN_MESSAGE",
        "CONTRACT_WALLET_NOT_SUPPORTED",
        "NONCE_ALREADY_USED",
        "INVALID_NONCE",
        "NONCE_EXPIRED",
    ] {
        assert!(refusals.iter().any(|d| d.contains(code)), "{code} audited: {refusals:?}");
    }
    assert_eq!(refusals.len(), cases.len() + 1 + 1 + 2 + 2 + 1 + 2, "one event per refusal: {refusals:#?}");

    // The Data API's integration objects say which wallets are verified.
    let done = app.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
    let public = done.data()["public_token"].as_str().expect("public_token").to_owned();
    let exchanged = app.exchange(&creds, &public).await;
    let token = exchanged.data()["access_token"].as_str().expect("access_token").to_owned();
    let a = data_get(&app, "/api/v1/integrations", Some(&token), Some(&creds)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let list = a.body["data"].as_array().unwrap_or_else(|| panic!("data: {}", a.text)).clone();
    let verified: Vec<(&str, bool)> = list
        .iter()
        .map(|i| (i["publicAddress"].as_str().unwrap_or(""), i["isVerified"].as_bool().unwrap_or(false)))
        .collect();
    assert_eq!(list.len(), 4, "alice, the pasted test address, dave, the Solana wallet: {verified:?}");
    assert_eq!(verified.iter().filter(|(_, v)| *v).count(), 3, "{verified:?}");
    assert!(verified.contains(&(kc_domain::SANDBOX_ETHEREUM_ADDRESS.to_lowercase().as_str(), false)), "{verified:?}");
    assert!(
        list.iter().all(|i| i["isVerified"] == json!(i["verifiedAt"].is_i64())),
        "verifiedAt iff verified: {list:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn wallet_proofs_on_sqlite() {
    a_signed_wallet_connects_verified_and_every_bad_proof_is_refused(Db::Sqlite).await;
}

#[tokio::test]
async fn wallet_proofs_on_postgres() {
    a_signed_wallet_connects_verified_and_every_bad_proof_is_refused(Db::Postgres).await;
}

/// By default a sandbox client accepts only the test addresses, signed or not: the challenge
/// refuses before the wallet is asked to sign. Steps out of order are refused too.
async fn sandbox_clients_keep_the_test_address_rule(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    let fresh = app.link_token(&creds).await;
    let alice = EvmWallet::generate();
    challenge(&app, &fresh, "ethereum", &alice.address).await.assert_error(400, "INVALID_REQUEST");
    let link = app.consented_link(&creds).await;
    challenge(&app, &link, "ethereum", &alice.address).await.assert_error(403, "SANDBOX_ADDRESS_NOT_ALLOWED");
    challenge(&app, &link, "polygon", &alice.address).await.assert_error(403, "SANDBOX_PROVIDER_NOT_ALLOWED");
    challenge(&app, &link, "ethereum", "0x1234").await.assert_error(400, "INVALID_REQUEST");
    // A production client connects any address it can prove, on any EVM chain it offers.
    let prod = crate::data_api::production_client(&app).await;
    let plink = app.consented_link(&prod).await;
    let m = message_for(&app, &plink, "polygon", &alice.address).await;
    assert_eq!(field(&m, "Chain ID"), "137");
    let a = verify(&app, &plink, "polygon", &m, &alice.sign(&m)).await;
    assert_eq!(a.data()["isVerified"], json!(true), "{}", a.body);
    challenge(&app, &plink, "binance", &alice.address).await.assert_error(400, "INVALID_REQUEST");
    app.stop().await;
}

#[tokio::test]
async fn sandbox_rule_on_sqlite() {
    sandbox_clients_keep_the_test_address_rule(Db::Sqlite).await;
}

#[tokio::test]
async fn sandbox_rule_on_postgres() {
    sandbox_clients_keep_the_test_address_rule(Db::Postgres).await;
}

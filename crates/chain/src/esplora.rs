//! Bitcoin balances from an Esplora-compatible API (Blockstream's esplora/electrs,
//! mempool.space, a self-hosted electrs): `GET /address/:address` per address.
//!
//! An integration is either one address (P2PKH `1…`, P2SH `3…`, segwit `bc1q…`, taproot
//! `bc1p…`, mainnet) or an extended public key: `xpub` (BIP44, P2PKH), `ypub` (BIP49,
//! P2SH-P2WPKH) or `zpub` (BIP84, P2WPKH) at the account level. Keys are derived with the
//! `bitcoin` crate (BIP32): the receive (`0/i`) and change (`1/i`) chains are scanned until
//! [`EsploraProvider::gap_limit`] consecutive addresses have never been used (BIP44's gap
//! limit, 20 by default).

use crate::http::{build_client, parse_url, redact_url};
use crate::Balance;
use crate::Chain;
use crate::ChainError;
use crate::ChainProvider;
use ::bitcoin::secp256k1::{Secp256k1, VerifyOnly};

use rust_decimal::Decimal;
use serde_json::Value;
use std::time::Duration;

pub use kc_domain::bitcoin_keys::{derive_address, is_extended_key, parse_target, BitcoinTarget, ScriptKind};

/// Reads Bitcoin balances from an Esplora API.
pub struct EsploraProvider {
    client: reqwest::Client,
    base: String,
    shown: String,
    timeout: Duration,
    gap_limit: u32,
    secp: Secp256k1<VerifyOnly>,
}

/// One address's state on Esplora.
struct AddressStats {
    /// Confirmed + mempool balance in satoshis (may be negative in the mempool only).
    sats: i128,
    /// Whether any transaction ever touched it.
    used: bool,
}

impl EsploraProvider {
    /// A provider on the Esplora API at `url` (`https://blockstream.info/api`), scanning
    /// extended keys with `gap_limit` (20 when 0).
    pub fn new(url: &str, timeout: Duration, gap_limit: u32) -> Result<Self, ChainError> {
        let parsed = parse_url(url).map_err(ChainError::Config)?;
        Ok(Self {
            client: build_client(timeout).map_err(ChainError::Config)?,
            base: parsed.as_str().trim_end_matches('/').to_owned(),
            shown: redact_url(&parsed),
            timeout,
            gap_limit: if gap_limit == 0 { 20 } else { gap_limit },
            secp: Secp256k1::verification_only(),
        })
    }

    /// The gap limit in effect.
    pub fn gap_limit(&self) -> u32 {
        self.gap_limit
    }

    async fn stats(&self, address: &str) -> Result<AddressStats, ChainError> {
        let request = self.client.get(format!("{}/address/{address}", self.base));
        let (status, retry_after, body) =
            crate::http::fetch_with_retry_after(request, self.timeout).await.map_err(|e| match e {
                crate::http::FetchError::Transport(m) => ChainError::Transport(format!("{}: {m}", self.shown)),
                crate::http::FetchError::TooLarge => ChainError::Malformed("reply too large".to_owned()),
            })?;
        if status.as_u16() == 400 {
            return Err(ChainError::UnsupportedAddress);
        }
        if !status.is_success() {
            let wait = retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default();
            return Err(ChainError::Transport(format!("{} answered HTTP {status}{wait}", self.shown)));
        }
        let v: Value = serde_json::from_slice(&body)
            .map_err(|_| ChainError::Malformed(format!("not JSON: {}", crate::http::excerpt(&body))))?;
        let side = |name: &str| -> Result<(i128, i128, i128), ChainError> {
            let s = v.get(name).ok_or_else(|| ChainError::Malformed(format!("no {name}")))?;
            let n = |f: &str| {
                s.get(f)
                    .and_then(Value::as_u64)
                    .map(i128::from)
                    .ok_or_else(|| ChainError::Malformed(format!("{name}.{f}")))
            };
            Ok((n("funded_txo_sum")?, n("spent_txo_sum")?, n("tx_count")?))
        };
        let (cf, cs, ct) = side("chain_stats")?;
        let (mf, ms, mt) = side("mempool_stats")?;
        Ok(AddressStats { sats: cf - cs + mf - ms, used: ct + mt > 0 })
    }

    /// The total balance in satoshis of `target`.
    async fn total_sats(&self, target: &BitcoinTarget) -> Result<i128, ChainError> {
        match target {
            BitcoinTarget::Address(a) => Ok(self.stats(a).await?.sats),
            BitcoinTarget::Extended(xpub, kind) => {
                let mut total = 0i128;
                for chain in [0u32, 1] {
                    let (mut index, mut unused_run) = (0u32, 0u32);
                    while unused_run < self.gap_limit {
                        let address = derive_address(&self.secp, xpub, *kind, chain, index)
                            .map_err(|e| ChainError::Malformed(format!("derivation: {e}")))?;
                        let s = self.stats(&address).await?;
                        total += s.sats;
                        unused_run = if s.used { 0 } else { unused_run + 1 };
                        index += 1;
                        if index > 100_000 {
                            return Err(ChainError::Malformed("more than 100 000 used addresses".to_owned()));
                        }
                    }
                }
                Ok(total)
            }
        }
    }
}

#[async_trait::async_trait]
impl ChainProvider for EsploraProvider {
    fn chain(&self) -> Chain {
        Chain::Bitcoin
    }

    /// `address` is an address or an extended public key; the balance is confirmed plus
    /// mempool (Esplora's `chain_stats` + `mempool_stats`).
    async fn balances(&self, address: &str) -> Result<Vec<Balance>, ChainError> {
        let target = parse_target(address).map_err(|_| ChainError::UnsupportedAddress)?;
        let sats = self.total_sats(&target).await?.max(0);
        let sats = i64::try_from(sats).map_err(|_| ChainError::Malformed("balance out of range".to_owned()))?;
        Ok(vec![Balance { asset: Chain::Bitcoin.native_asset(), quantity: Decimal::new(sats, 8).normalize() }])
    }
}

/// A local fake of Esplora's `GET /address/:address` (feature `fakes`), answering the
/// documented shape (`chain_stats`/`mempool_stats` with `funded_txo_count`,
/// `funded_txo_sum`, `spent_txo_count`, `spent_txo_sum`, `tx_count`) and `400 Invalid
/// Bitcoin address` for anything that is not a mainnet address.
#[cfg(any(test, feature = "fakes"))]
pub mod fake {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    /// Per address: `(funded sats, spent sats, tx count)`.
    type AddressBook = Arc<Mutex<HashMap<String, (u64, u64, u64)>>>;

    /// The fake; its addresses hold `(funded sats, spent sats, tx count)`.
    #[derive(Clone, Default)]
    pub struct FakeEsplora {
        /// `http://127.0.0.1:port`.
        pub url: String,
        addresses: AddressBook,
        hits: Arc<Mutex<Vec<String>>>,
    }

    impl FakeEsplora {
        /// Starts the fake on 127.0.0.1 (a free port).
        pub async fn start() -> std::io::Result<Self> {
            let mut fake = Self::default();
            let app =
                axum::Router::new().route("/address/{address}", axum::routing::get(address)).with_state(fake.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            fake.url = format!("http://{}", listener.local_addr()?);
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Ok(fake)
        }

        /// Gives `address` a confirmed history: `funded` and `spent` satoshis over `txs` transactions.
        pub fn set(&self, address: &str, funded: u64, spent: u64, txs: u64) {
            if let Ok(mut a) = self.addresses.lock() {
                a.insert(address.to_owned(), (funded, spent, txs));
            }
        }

        /// The addresses asked for, in order.
        pub fn hits(&self) -> Vec<String> {
            self.hits.lock().map(|h| h.clone()).unwrap_or_default()
        }
    }

    async fn address(State(fake): State<FakeEsplora>, Path(address): Path<String>) -> Response {
        if super::parse_target(&address).map(|t| matches!(t, super::BitcoinTarget::Address(_))) != Ok(true) {
            return (StatusCode::BAD_REQUEST, "Invalid Bitcoin address").into_response();
        }
        if let Ok(mut h) = fake.hits.lock() {
            h.push(address.clone());
        }
        let (funded, spent, txs) =
            fake.addresses.lock().ok().and_then(|a| a.get(&address).copied()).unwrap_or_default();
        axum::Json(json!({
            "address": address,
            "chain_stats": {"funded_txo_count": txs, "funded_txo_sum": funded, "spent_txo_count": 0, "spent_txo_sum": spent, "tx_count": txs},
            "mempool_stats": {"funded_txo_count": 0, "funded_txo_sum": 0, "spent_txo_count": 0, "spent_txo_sum": 0, "tx_count": 0}
        }))
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BIP84's test vector (mnemonic "abandon … about"): account 0 zpub and its first
    /// receive and change addresses.
    const BIP84_ZPUB: &str = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs";

    #[test]
    fn bip84_bip49_bip44_vectors() {
        let secp = Secp256k1::verification_only();
        let Ok(BitcoinTarget::Extended(z, ScriptKind::P2wpkh)) = parse_target(BIP84_ZPUB) else { panic!("zpub") };
        assert_eq!(
            derive_address(&secp, &z, ScriptKind::P2wpkh, 0, 0).as_deref(),
            Ok("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu")
        );
        assert_eq!(
            derive_address(&secp, &z, ScriptKind::P2wpkh, 0, 1).as_deref(),
            Ok("bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g")
        );
        assert_eq!(
            derive_address(&secp, &z, ScriptKind::P2wpkh, 1, 0).as_deref(),
            Ok("bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el")
        );
        let ypub = "ypub6Ww3ibxVfGzLrAH1PNcjyAWenMTbbAosGNB6VvmSEgytSER9azLDWCxoJwW7Ke7icmizBMXrzBx9979FfaHxHcrArf3zbeJJJUZPf663zsP";
        let Ok(BitcoinTarget::Extended(y, ScriptKind::P2shP2wpkh)) = parse_target(ypub) else { panic!("ypub") };
        assert_eq!(
            derive_address(&secp, &y, ScriptKind::P2shP2wpkh, 0, 0).as_deref(),
            Ok("37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf")
        );
        let xpub = "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj";
        let Ok(BitcoinTarget::Extended(x, ScriptKind::P2pkh)) = parse_target(xpub) else { panic!("xpub") };
        assert_eq!(
            derive_address(&secp, &x, ScriptKind::P2pkh, 0, 0).as_deref(),
            Ok("1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA")
        );
    }

    #[test]
    fn addresses_of_every_type_are_accepted_mainnet_only() {
        for a in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
        ] {
            assert!(matches!(parse_target(a), Ok(BitcoinTarget::Address(_))), "{a}");
        }
        assert!(parse_target("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx").is_err(), "testnet refused");
        assert!(parse_target("zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYt").is_err());
    }

    #[tokio::test]
    async fn zpub_is_scanned_to_the_gap_limit_on_both_chains() {
        let fake = fake::FakeEsplora::start().await.expect("fake");
        fake.set("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", 150_000_000, 50_000_000, 2);
        fake.set("bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el", 25_000_000, 0, 1);
        let p = EsploraProvider::new(&fake.url, Duration::from_secs(5), 3).expect("provider");
        let b = p.balances(BIP84_ZPUB).await.expect("balances");
        assert_eq!(b[0].quantity.to_string(), "1.25");
        assert_eq!(b[0].asset.token_id, "bitcoin");
        assert_eq!(fake.hits().len(), 8, "1 used + 3 unused on each chain");
        let one = p.balances("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu").await.expect("one");
        assert_eq!(one[0].quantity.to_string(), "1");
        assert_eq!(p.balances("0xdeadbeef").await, Err(ChainError::UnsupportedAddress));
    }
}

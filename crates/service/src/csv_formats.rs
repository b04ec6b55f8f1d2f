//! CSV import of an exchange account's history: the exchange's own export (Binance
//! "Transaction History", Coinbase "Transaction history"), detected by its header, or the
//! product's generic template. Rows become [`HistoryTransaction`]s whose ids are derived
//! from the row content, so importing the same file twice adds nothing.
//!
//! Nothing is returned unless every row parses: a file with a bad row yields the list of
//! row errors (1-based line numbers of the file) and no transaction.

use kc_ports::exchange::exchange_asset;
use kc_ports::Decimal;
use kc_ports::{ChainPosition, HistoryLeg, HistoryTransaction, LegDirection};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::str::FromStr;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// The largest accepted file, in bytes (10 MB).
pub const MAX_CSV_BYTES: usize = 10 * 1024 * 1024;

/// The columns of the generic template, in order (extra columns are ignored).
pub const GENERIC_COLUMNS: [&str; 9] = [
    "date",
    "sent_amount",
    "sent_currency",
    "received_amount",
    "received_currency",
    "fee_amount",
    "fee_currency",
    "label",
    "tx_id",
];

/// Which layout a file was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvFormat {
    /// Binance "Transaction History" (`User_ID,UTC_Time,Account,Operation,Coin,Change,Remark`).
    Binance,
    /// Coinbase "Transaction history" (`Timestamp,Transaction Type,Asset,Quantity Transacted,…`).
    Coinbase,
    /// The product's generic template ([`GENERIC_COLUMNS`]).
    Generic,
}

impl CsvFormat {
    /// `binance`, `coinbase` or `generic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Binance => "binance",
            Self::Coinbase => "coinbase",
            Self::Generic => "generic",
        }
    }
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRowError {
    /// 1-based line of the file.
    pub line: u64,
    /// What is wrong, in English, for the end user.
    pub message: String,
    /// The same, for translation: a stable code and the column and value it is about.
    pub problem: RowProblem,
}

impl CsvRowError {
    fn new(line: u64, problem: RowProblem) -> Self {
        Self { line, message: problem.message(), problem }
    }
}

/// What is wrong with a row, as a stable `code` (which the widget translates, `csv.row.<code>`)
/// with the column (the file's own header, lower-cased) and the value it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// `unreadable`, `missing`, `invalid_date`, `invalid_number`, `zero`, `negative`,
    /// `convert_notes`, `unknown_type` or `no_amount`.
    pub code: &'static str,
    /// The column concerned.
    pub column: Option<String>,
    /// The offending value.
    pub value: Option<String>,
}

impl RowProblem {
    fn new(code: &'static str) -> Self {
        Self { code, column: None, value: None }
    }

    fn column(mut self, column: &str) -> Self {
        self.column = Some(column.to_owned());
        self
    }

    fn value(mut self, value: &str) -> Self {
        self.value = Some(value.to_owned());
        self
    }

    /// The English message.
    pub fn message(&self) -> String {
        let (c, v) = (self.column.as_deref().unwrap_or_default(), self.value.as_deref().unwrap_or_default());
        match self.code {
            "unreadable" => "unreadable CSV row".to_owned(),
            "missing" => format!("missing {c}"),
            "invalid_date" => format!("invalid date {v:?} (expected YYYY-MM-DD HH:MM:SS in UTC or RFC 3339)"),
            "invalid_number" => format!("invalid {c} {v:?}"),
            "zero" => format!("{c} is zero"),
            "negative" => format!("{c} is negative"),
            "convert_notes" => format!("convert without \"Converted … to <amount> <asset>\" notes: {v:?}"),
            "unknown_type" => format!("unknown transaction type {v:?}"),
            "no_amount" => "no sent or received amount".to_owned(),
            other => other.to_owned(),
        }
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvImportError {
    /// Larger than [`MAX_CSV_BYTES`].
    #[error("the file is larger than {} MB", MAX_CSV_BYTES / 1024 / 1024)]
    TooLarge,
    /// Not UTF-8 text.
    #[error("the file is not UTF-8 text")]
    NotText,
    /// No known header.
    #[error("unrecognised CSV header: expected a Binance or Coinbase export or the generic template")]
    UnknownFormat,
    /// The header is there but no data row.
    #[error("the file has no transactions")]
    Empty,
    /// Some rows are bad; nothing is imported.
    #[error("{} row(s) could not be read", .0.len())]
    Rows(Vec<CsvRowError>),
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvImport {
    /// The recognised layout.
    pub format: CsvFormat,
    /// The transactions, oldest first.
    pub transactions: Vec<HistoryTransaction>,
}

fn norm(h: &str) -> String {
    h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()
}

fn detect(header: &[String]) -> Option<CsvFormat> {
    let has = |c: &str| header.iter().any(|h| h == c);
    if has("utc_time") && has("operation") && has("coin") && has("change") {
        Some(CsvFormat::Binance)
    } else if has("timestamp") && has("transaction type") && has("asset") && has("quantity transacted") {
        Some(CsvFormat::Coinbase)
    } else if GENERIC_COLUMNS[..7].iter().all(|c| has(c)) {
        Some(CsvFormat::Generic)
    } else {
        None
    }
}

fn parse_time(s: &str) -> Result<OffsetDateTime, RowProblem> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    // Coinbase: `2024-01-05 10:00:00 UTC`; Binance and the template: `2024-01-05 10:00:00`.
    let bare = s.strip_suffix(" UTC").unwrap_or(s);
    PrimitiveDateTime::parse(bare, format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| RowProblem::new("invalid_date").value(s))
}

fn parse_amount(s: &str, what: &str) -> Result<Option<Decimal>, RowProblem> {
    let t = s.trim().trim_start_matches('$').replace(',', "");
    if t.is_empty() {
        return Ok(None);
    }
    Decimal::from_str(&t)
        .or_else(|_| Decimal::from_scientific(&t))
        .map(Some)
        .map_err(|_| RowProblem::new("invalid_number").column(what).value(s))
}

fn leg(exchange: &str, ticker: &str, quantity: Decimal, direction: LegDirection) -> HistoryLeg {
    HistoryLeg {
        asset: exchange_asset(exchange, ticker),
        quantity: quantity.abs().normalize(),
        direction,
        from: None,
        to: None,
    }
}

fn row_id(format: CsvFormat, parts: &[&csv::StringRecord]) -> String {
    let mut h = Sha256::new();
    h.update(format.as_str().as_bytes());
    for r in parts {
        for f in r.iter() {
            h.update([0x1f]);
            h.update(f.trim().as_bytes());
        }
        h.update([0x1e]);
    }
    format!("csv:{}:{}", format.as_str(), &hex::encode(h.finalize())[..32])
}

/// A field by (lower-cased) header name.
struct Row<'a> {
    header: &'a [String],
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        self.header.iter().position(|h| h == name).and_then(|i| self.record.get(i)).map(str::trim).unwrap_or("")
    }
    fn required(&self, name: &str) -> Result<&str, RowProblem> {
        let v = self.get(name);
        if v.is_empty() {
            Err(RowProblem::new("missing").column(name))
        } else {
            Ok(v)
        }
    }
}

/// Parses `bytes` as the CSV export of `exchange` (e.g. `binance`, `coinbase`) or the generic
/// template. All or nothing: any bad row makes it [`CsvImportError::Rows`].
pub fn parse_csv(exchange: &str, bytes: &[u8]) -> Result<CsvImport, CsvImportError> {
    if bytes.len() > MAX_CSV_BYTES {
        return Err(CsvImportError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| CsvImportError::NotText)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = reader.records();
    // Coinbase exports start with a few lines of preamble: the header is the first
    // recognised line within the first 20.
    let mut found = None;
    for _ in 0..20 {
        match records.next() {
            Some(Ok(r)) => {
                let header: Vec<String> = r.iter().map(norm).collect();
                if let Some(f) = detect(&header) {
                    found = Some((f, header));
                    break;
                }
            }
            Some(Err(_)) => continue,
            None => break,
        }
    }
    let (format, header) = found.ok_or(CsvImportError::UnknownFormat)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for r in records {
        match r {
            Ok(rec) if rec.iter().all(|f| f.trim().is_empty()) => {}
            Ok(rec) => rows.push(rec),
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(CsvRowError::new(line, RowProblem::new("unreadable")));
            }
        }
    }
    let line_of = |r: &csv::StringRecord| r.position().map(|p| p.line()).unwrap_or(0);
    let mut transactions = Vec::new();
    match format {
        CsvFormat::Binance => {
            // A trade is several lines with the same time (Buy/Sell/Fee…): one transaction.
            let mut groups: BTreeMap<(OffsetDateTime, String), Vec<&csv::StringRecord>> = BTreeMap::new();
            for rec in &rows {
                let row = Row { header: &header, record: rec };
                let res = (|| {
                    let at = parse_time(row.required("utc_time")?)?;
                    row.required("coin")?;
                    row.required("operation")?;
                    let change = parse_amount(row.required("change")?, "change")?.unwrap_or_default();
                    if change.is_zero() {
                        return Err(RowProblem::new("zero").column("change"));
                    }
                    Ok((at, row.get("account").to_owned()))
                })();
                match res {
                    Ok(key) => groups.entry(key).or_default().push(rec),
                    Err(problem) => errors.push(CsvRowError::new(line_of(rec), problem)),
                }
            }
            if errors.is_empty() {
                for ((at, _), recs) in groups {
                    let mut legs = Vec::new();
                    let mut raw = Vec::new();
                    for rec in &recs {
                        let row = Row { header: &header, record: rec };
                        let op = row.get("operation");
                        let change = parse_amount(row.get("change"), "change").ok().flatten().unwrap_or_default();
                        let dir = if op.to_ascii_lowercase().contains("fee") {
                            LegDirection::Fee
                        } else if change.is_sign_negative() {
                            LegDirection::Outgoing
                        } else {
                            LegDirection::Incoming
                        };
                        legs.push(leg(exchange, row.get("coin"), change, dir));
                        raw.push(
                            serde_json::json!({"operation": op, "coin": row.get("coin"), "change": row.get("change")}),
                        );
                    }
                    transactions.push(HistoryTransaction {
                        id: row_id(format, &recs),
                        timestamp: at,
                        position: ChainPosition::default(),
                        legs,
                        failed: false,
                        label: None,
                        raw: serde_json::json!({"csv": format.as_str(), "rows": raw}),
                    });
                }
            }
        }
        CsvFormat::Coinbase | CsvFormat::Generic => {
            for rec in &rows {
                let row = Row { header: &header, record: rec };
                let res = if format == CsvFormat::Coinbase {
                    coinbase_row(exchange, &row)
                } else {
                    generic_row(exchange, &row)
                };
                match res {
                    Ok((at, legs, label, raw)) => transactions.push(HistoryTransaction {
                        id: row_id(format, &[rec]),
                        timestamp: at,
                        position: ChainPosition::default(),
                        legs,
                        failed: false,
                        label,
                        raw,
                    }),
                    Err(problem) => errors.push(CsvRowError::new(line_of(rec), problem)),
                }
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(CsvImportError::Rows(errors));
    }
    if transactions.is_empty() {
        return Err(CsvImportError::Empty);
    }
    // Identical rows are distinct transactions (two equal trades in one second): the n-th
    // copy gets `:n`, which a re-import of the same file reproduces.
    let mut seen: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for t in &mut transactions {
        let n = seen.entry(t.id.clone()).or_insert(0);
        if *n > 0 {
            t.id = format!("{}:{n}", t.id);
        }
        *n += 1;
    }
    // Time order; rows of the same second keep the file's order, read oldest first (exports
    // listed newest first are turned around), and that order is their position.
    if transactions.first().map(|t| t.timestamp) > transactions.last().map(|t| t.timestamp) {
        transactions.reverse();
    }
    transactions.sort_by_key(|t| t.timestamp);
    for (row, t) in transactions.iter_mut().enumerate() {
        t.position = ChainPosition::new(0, row as u64);
    }
    Ok(CsvImport { format, transactions })
}

type RowOut = (OffsetDateTime, Vec<HistoryLeg>, Option<String>, serde_json::Value);

fn coinbase_row(exchange: &str, row: &Row<'_>) -> Result<RowOut, RowProblem> {
    let at = parse_time(row.required("timestamp")?)?;
    let kind = row.required("transaction type")?.to_owned();
    let asset = row.required("asset")?;
    let qty = parse_amount(row.required("quantity transacted")?, "quantity transacted")?.unwrap_or_default();
    if qty.is_zero() {
        return Err(RowProblem::new("zero").column("quantity transacted"));
    }
    // Older exports name it "Spot Price Currency", newer ones "Price Currency".
    let fiat = [row.get("spot price currency"), row.get("price currency")].into_iter().find(|s| !s.is_empty());
    let subtotal = parse_amount(row.get("subtotal"), "subtotal")?;
    let total =
        parse_amount(row.get("total (inclusive of fees and/or spread)"), "total (inclusive of fees and/or spread)")?;
    let fees = parse_amount(row.get("fees and/or spread"), "fees and/or spread")?;
    let mut legs = Vec::new();
    let lower = kind.to_ascii_lowercase();
    let fee_leg = |legs: &mut Vec<HistoryLeg>| {
        if let (Some(f), Some(c)) = (fees, fiat) {
            if !f.is_zero() {
                legs.push(leg(exchange, c, f, LegDirection::Fee));
            }
        }
    };
    match lower.as_str() {
        "buy" | "advanced trade buy" => {
            legs.push(leg(exchange, asset, qty, LegDirection::Incoming));
            if let (Some(s), Some(c)) = (subtotal.or(total), fiat) {
                legs.push(leg(exchange, c, s, LegDirection::Outgoing));
            }
            fee_leg(&mut legs);
        }
        "sell" | "advanced trade sell" => {
            legs.push(leg(exchange, asset, qty, LegDirection::Outgoing));
            if let (Some(s), Some(c)) = (total.or(subtotal), fiat) {
                legs.push(leg(exchange, c, s, LegDirection::Incoming));
            }
            fee_leg(&mut legs);
        }
        "send" | "withdrawal" => legs.push(leg(exchange, asset, qty, LegDirection::Outgoing)),
        "receive" | "deposit" | "rewards income" | "staking income" | "learning reward" | "coinbase earn"
        | "inflation reward" => legs.push(leg(exchange, asset, qty, LegDirection::Incoming)),
        "convert" => {
            legs.push(leg(exchange, asset, qty, LegDirection::Outgoing));
            // Notes: "Converted 0.1 ETH to 300.5 USDC".
            let notes = row.get("notes");
            let to = notes.split(" to ").nth(1).map(|s| s.split_whitespace().collect::<Vec<_>>());
            match to.as_deref() {
                Some([amount, ticker, ..]) => {
                    let a = parse_amount(amount, "notes")?.unwrap_or_default();
                    legs.push(leg(exchange, ticker, a, LegDirection::Incoming));
                }
                _ => return Err(RowProblem::new("convert_notes").column("notes").value(notes)),
            }
            fee_leg(&mut legs);
        }
        _ => return Err(RowProblem::new("unknown_type").column("transaction type").value(&kind)),
    }
    legs.retain(|l| !l.quantity.is_zero());
    let raw = serde_json::json!({"csv": "coinbase", "type": kind, "asset": asset, "quantity": row.get("quantity transacted"), "notes": row.get("notes")});
    Ok((at, legs, None, raw))
}

fn generic_row(exchange: &str, row: &Row<'_>) -> Result<RowOut, RowProblem> {
    let at = parse_time(row.required("date")?)?;
    let mut legs = Vec::new();
    for (amount, currency, dir) in [
        ("sent_amount", "sent_currency", LegDirection::Outgoing),
        ("received_amount", "received_currency", LegDirection::Incoming),
        ("fee_amount", "fee_currency", LegDirection::Fee),
    ] {
        if let Some(q) = parse_amount(row.get(amount), amount)? {
            if q.is_sign_negative() {
                return Err(RowProblem::new("negative").column(amount));
            }
            let c = row.get(currency);
            if c.is_empty() {
                return Err(RowProblem::new("missing").column(currency));
            }
            if !q.is_zero() {
                legs.push(leg(exchange, c, q, dir));
            }
        }
    }
    if legs.iter().all(|l| l.direction == LegDirection::Fee) {
        return Err(RowProblem::new("no_amount"));
    }
    let label = Some(row.get("label")).filter(|s| !s.is_empty()).map(str::to_owned);
    let raw = serde_json::json!({"csv": "generic", "txId": row.get("tx_id")});
    Ok((at, legs, label, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BINANCE: &str = "User_ID,UTC_Time,Account,Operation,Coin,Change,Remark\n\
12345,2024-01-05 10:00:00,Spot,Deposit,USDT,1000,\n\
12345,2024-01-06 11:00:00,Spot,Buy,BTC,0.02,\n\
12345,2024-01-06 11:00:00,Spot,Buy,USDT,-840,\n\
12345,2024-01-06 11:00:00,Spot,Fee,BNB,-0.001,\n";

    const COINBASE: &str = "\"You can use this transaction report to inform your likely tax obligations.\"\n\
\n\
Transactions\n\
User,someone@example.com,abc\n\
Timestamp,Transaction Type,Asset,Quantity Transacted,Spot Price Currency,Spot Price at Transaction,Subtotal,Total (inclusive of fees and/or spread),Fees and/or Spread,Notes\n\
2024-01-05T10:00:00Z,Buy,ETH,0.5,USD,2000.00,1000.00,1010.00,10.00,Bought 0.5 ETH for $1010.00 USD\n\
2024-02-01 09:30:00 UTC,Convert,ETH,0.1,USD,2300,230,232,2,Converted 0.1 ETH to 231.5 USDC\n\
2024-03-01T00:00:00Z,Send,ETH,0.2,USD,3000,600,600,0,Sent to 0xabc\n";

    #[test]
    fn binance_trade_lines_are_one_transaction() {
        let out = parse_csv("binance", BINANCE.as_bytes()).expect("parses");
        assert_eq!(out.format, CsvFormat::Binance);
        assert_eq!(out.transactions.len(), 2);
        let trade = &out.transactions[1];
        let dirs: Vec<_> =
            trade.legs.iter().map(|l| (l.asset.symbol.as_str(), l.direction, l.quantity.to_string())).collect();
        assert_eq!(
            dirs,
            vec![
                ("BTC", LegDirection::Incoming, "0.02".to_owned()),
                ("USDT", LegDirection::Outgoing, "840".to_owned()),
                ("BNB", LegDirection::Fee, "0.001".to_owned())
            ]
        );
        assert_eq!(trade.legs[0].asset.token_id, "bitcoin");
    }

    #[test]
    fn coinbase_with_preamble() {
        let out = parse_csv("coinbase", COINBASE.as_bytes()).expect("parses");
        assert_eq!(out.format, CsvFormat::Coinbase);
        assert_eq!(out.transactions.len(), 3);
        let buy = &out.transactions[0];
        assert_eq!(buy.legs.len(), 3);
        assert_eq!(buy.legs[1].quantity.to_string(), "1000");
        assert_eq!(buy.legs[2].direction, LegDirection::Fee);
        let convert = &out.transactions[1];
        assert_eq!(convert.legs[1].asset.symbol, "USDC");
        assert_eq!(convert.legs[1].quantity.to_string(), "231.5");
        assert_eq!(out.transactions[2].legs[0].direction, LegDirection::Outgoing);
    }

    #[test]
    fn generic_template_and_stable_ids() {
        let file =
            "date,sent_amount,sent_currency,received_amount,received_currency,fee_amount,fee_currency,label,tx_id\n\
2024-01-01 00:00:00,,,1.5,ETH,,,,a\n\
2024-01-02T00:00:00Z,1,ETH,3000,USDC,0.5,USDC,,b\n";
        let a = parse_csv("kraken", file.as_bytes()).expect("parses");
        let b = parse_csv("kraken", file.as_bytes()).expect("parses");
        assert_eq!(a.format, CsvFormat::Generic);
        assert_eq!(a.transactions.len(), 2);
        let ids: Vec<_> = a.transactions.iter().map(|t| t.id.clone()).collect();
        assert_eq!(ids, b.transactions.iter().map(|t| t.id.clone()).collect::<Vec<_>>());
        assert_ne!(ids[0], ids[1]);
        assert_eq!(a.transactions[1].legs.len(), 3);
    }

    #[test]
    fn identical_rows_are_distinct_transactions() {
        let file = "date,sent_amount,sent_currency,received_amount,received_currency,fee_amount,fee_currency\n\
2024-01-01 00:00:00,,,1,ETH,,\n\
2024-01-01 00:00:00,,,1,ETH,,\n";
        let a = parse_csv("kraken", file.as_bytes()).expect("parses");
        assert_eq!(a.transactions.len(), 2);
        assert_eq!(a.transactions[1].id, format!("{}:1", a.transactions[0].id));
        let b = parse_csv("kraken", file.as_bytes()).expect("parses");
        assert_eq!(a.transactions, b.transactions, "stable across imports");
    }

    #[test]
    fn bad_rows_are_listed_and_nothing_returned() {
        let file = "date,sent_amount,sent_currency,received_amount,received_currency,fee_amount,fee_currency\n\
2024-01-01 00:00:00,,,1.5,ETH,,\n\
yesterday,,,1,ETH,,\n\
2024-01-03 00:00:00,,,abc,ETH,,\n";
        let err = parse_csv("kraken", file.as_bytes()).expect_err("refused");
        let CsvImportError::Rows(rows) = err else { panic!("{err:?}") };
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![3, 4]);
        assert!(rows[0].message.contains("invalid date"), "{rows:?}");
        assert!(rows[1].message.contains("invalid received_amount"), "{rows:?}");
        assert_eq!(rows[0].problem, RowProblem::new("invalid_date").value("yesterday"));
        assert_eq!(rows[1].problem, RowProblem::new("invalid_number").column("received_amount").value("abc"));
    }

    #[test]
    fn rows_of_one_second_keep_file_order_as_their_position() {
        let head =
            "date,sent_amount,sent_currency,received_amount,received_currency,fee_amount,fee_currency,label,tx_id\n";
        // Oldest first: the buy, then the sale of the same second.
        let up = format!("{head}2024-04-01 00:00:00,,,2,SOL,,,,buy\n2024-04-01 00:00:00,2,SOL,,,,,,sell\n2024-04-02 00:00:00,,,1,SOL,,,,later\n");
        // The same rows listed newest first, as many exports do.
        let down = format!("{head}2024-04-02 00:00:00,,,1,SOL,,,,later\n2024-04-01 00:00:00,2,SOL,,,,,,sell\n2024-04-01 00:00:00,,,2,SOL,,,,buy\n");
        for text in [up, down] {
            let parsed = parse_csv("x", text.as_bytes()).expect("generic CSV");
            let seen: Vec<(&str, u64)> = parsed
                .transactions
                .iter()
                .map(|t| (t.raw["txId"].as_str().unwrap_or_default(), t.position.index))
                .collect();
            assert_eq!(seen, [("buy", 0), ("sell", 1), ("later", 2)], "{text}");
            assert!(parsed.transactions.iter().all(|t| t.position.block == 0));
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(parse_csv("x", b"a,b,c\n1,2,3\n"), Err(CsvImportError::UnknownFormat));
        assert_eq!(parse_csv("x", &vec![b'a'; MAX_CSV_BYTES + 1]), Err(CsvImportError::TooLarge));
        assert_eq!(
            parse_csv("x", b"User_ID,UTC_Time,Account,Operation,Coin,Change,Remark\n"),
            Err(CsvImportError::Empty)
        );
        assert_eq!(parse_csv("x", &[0xff, 0xfe, 0x00]), Err(CsvImportError::NotText));
        let bad_type = "Timestamp,Transaction Type,Asset,Quantity Transacted\n2024-01-01T00:00:00Z,Teleport,ETH,1\n";
        let Err(CsvImportError::Rows(rows)) = parse_csv("coinbase", bad_type.as_bytes()) else { panic!() };
        assert_eq!(rows[0].line, 2);
        assert!(rows[0].message.contains("Teleport"));
        assert_eq!((rows[0].problem.code, rows[0].problem.value.as_deref()), ("unknown_type", Some("Teleport")));
    }
}

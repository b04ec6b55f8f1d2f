//! Opaque pagination cursors for `GET /token/grants`.

use base64::Engine as _;

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes a grant list position.
pub(crate) fn encode(position: i64) -> String {
    ENGINE.encode(format!("g1:{position}"))
}

/// Decodes a cursor made by [`encode`]; `None` for anything else.
pub(crate) fn decode(cursor: &str) -> Option<i64> {
    let bytes = ENGINE.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.strip_prefix("g1:")?.parse().ok().filter(|p: &i64| *p >= 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        assert_eq!(super::decode(&super::encode(42)), Some(42));
        assert_eq!(super::decode("not-a-cursor"), None);
        assert_eq!(super::decode(""), None);
    }
}

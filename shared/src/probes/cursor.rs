//! Page cursors only a page can give: the last candidate's list key followed by an
//! HMAC-SHA256 tag over it (cut to 128 bits) under the deployment's cursor key, in base64url.
//! Anything else — a key typed by hand, a cursor cut short, another deployment's — fails the
//! tag and is the documented 400, never a page that starts somewhere arbitrary.

use crate::base::error::{Error, Result};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the tag kept in a cursor.
const TAG_BYTES: usize = 16;
/// No list key is empty or longer than DynamoDB's 1,024-byte range key.
const MAX_KEY_BYTES: usize = 1024;
/// The fewest bytes a cursor key may have.
pub const MIN_KEY_BYTES: usize = 16;

/// The deployment's cursor key (`CURSOR_KEY`). Shown by `Debug` as its length only.
#[derive(Clone, PartialEq, Eq)]
pub struct CursorKey(Vec<u8>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CursorKey({} bytes)", self.0.len())
    }
}

impl CursorKey {
    /// A key of at least `MIN_KEY_BYTES` bytes; `None` for a shorter one.
    pub fn new(secret: &str) -> Option<Self> {
        let bytes = secret.trim().as_bytes();
        (bytes.len() >= MIN_KEY_BYTES).then(|| Self(bytes.to_vec()))
    }

    fn mac(&self, list_key: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(list_key);
        mac
    }

    /// The cursor of the page that follows the candidate with this list key.
    pub fn encode(&self, list_key: &str) -> String {
        let tag = self.mac(list_key.as_bytes()).finalize().into_bytes();
        let mut bytes = list_key.as_bytes().to_vec();
        bytes.extend_from_slice(&tag[..TAG_BYTES]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The list key a cursor of `encode` holds; any other text is a 400. The tag is compared in
    /// constant time.
    pub fn decode(&self, cursor: &str) -> Result<String> {
        let bad = || {
            Error::BadRequest(
                "Invalid 'cursor': use the cursor of a previous page's Link header as it is".into(),
            )
        };
        if cursor.is_empty() || cursor.len() > 2048 {
            return Err(bad());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| bad())?;
        let Some(split) = bytes.len().checked_sub(TAG_BYTES) else {
            return Err(bad());
        };
        let (key, tag) = bytes.split_at(split);
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(bad());
        }
        self.mac(key)
            .verify_truncated_left(tag)
            .map_err(|_| bad())?;
        String::from_utf8(key.to_vec()).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CursorKey {
        CursorKey::new("0123456789abcdef-test").unwrap()
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_no_page_gave() {
        let list_key = "probe é#2026-12-01T00:00:00Z#abc";
        let cursor = key().encode(list_key);
        assert_eq!(key().decode(&cursor).unwrap(), list_key);
        let unsigned = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(list_key);
        let other = CursorKey::new("another deployment's key")
            .unwrap()
            .encode(list_key);
        let cut = &cursor[..cursor.len() / 4 * 4 - 4];
        let too_long = key().encode(&"k".repeat(1025));
        for bad in [
            "***",
            "%%",
            &"A".repeat(3000),
            "_w",
            "",
            "enp6eg",
            "AA",
            &unsigned,
            &other,
            cut,
            &too_long,
        ] {
            assert!(key().decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_short_key_is_no_key() {
        assert!(CursorKey::new("short").is_none());
        assert_eq!(format!("{:?}", key()), "CursorKey(21 bytes)");
    }
}

//! Hashing and encryption of field values: SHA-256 with an optional salt, HMAC-SHA-256
//! with a key, and AES-256-GCM encryption that can be reversed with the key. The `mask`
//! node and the Rhai functions registered here share this code.
//!
//! Formats a reader can rely on:
//! - SHA-256 and HMAC-SHA-256 give 64 lower-case hex characters. A salt is put *before*
//!   the value: `sha256(value, salt)` is SHA-256 of the UTF-8 bytes of `salt + value`
//!   (`sha256("11010519931101114X", "bench")` = SHA-256 of `bench11010519931101114X`).
//!   An HMAC key is the UTF-8 bytes of the key text as given.
//! - AES-256-GCM output is standard base64 (with padding) of nonce ‖ ciphertext ‖ tag: a
//!   fresh random 12-byte nonce per value, then the ciphertext (as long as the UTF-8
//!   plaintext), then the 16-byte authentication tag. Encrypting the same value twice gives
//!   different text. The key is 64 hex characters or the base64 of 32 bytes.
//! - Decrypting with the wrong key, or text that was changed, fails with a clear error;
//!   the tag is what detects it, so no wrong plaintext is ever returned.
//!
//! Hashing a column of a few hundred thousand rows is the common case (the W1 benchmark),
//! so a salt's hash state is computed once and cloned per value, and hex is written into a
//! stack buffer.
//!
//! Left out: other algorithms (MD5, SHA-1 are broken for this purpose), key derivation from
//! passwords, and key rotation. Keys never appear in error messages.

use super::text::{rt_err, text_fn};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rhai::{Dynamic, Engine};
use sha2::{Digest, Sha256};

/// Bytes of the AES-GCM nonce and tag.
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A SHA-256 digest as 64 lower-case hex characters, held on the stack.
#[derive(Clone, Copy)]
pub struct Hex64([u8; 64]);

impl Hex64 {
    fn of(digest: &[u8]) -> Hex64 {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in digest.iter().take(32).enumerate() {
            out[2 * i] = DIGITS[(b >> 4) as usize];
            out[2 * i + 1] = DIGITS[(b & 0x0f) as usize];
        }
        Hex64(out)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

impl std::fmt::Display for Hex64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SHA-256 of `salt + value`, with the salt's state computed once.
#[derive(Clone)]
pub struct SaltedSha256 {
    prefix: Sha256,
}

impl SaltedSha256 {
    /// An empty salt gives plain SHA-256.
    pub fn new(salt: &str) -> Self {
        SaltedSha256 { prefix: Sha256::new_with_prefix(salt.as_bytes()) }
    }

    pub fn hash(&self, value: &str) -> Hex64 {
        let mut h = self.prefix.clone();
        h.update(value.as_bytes());
        Hex64::of(&h.finalize())
    }
}

/// Lower-case hex SHA-256 of `salt + value`.
pub fn sha256_hex(value: &str, salt: &str) -> String {
    SaltedSha256::new(salt).hash(value).to_string()
}

/// HMAC-SHA-256 with a key, keyed once and cloned per value.
#[derive(Clone)]
pub struct HmacSha256 {
    mac: Hmac<Sha256>,
}

impl HmacSha256 {
    /// Any key length works (HMAC hashes long keys and pads short ones).
    pub fn new(key: &[u8]) -> Self {
        HmacSha256 { mac: <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length") }
    }

    pub fn hash(&self, value: &str) -> Hex64 {
        let mut m = self.mac.clone();
        m.update(value.as_bytes());
        Hex64::of(&m.finalize().into_bytes())
    }
}

/// Lower-case hex HMAC-SHA-256 of `value` with the UTF-8 bytes of `key`.
pub fn hmac_sha256_hex(value: &str, key: &str) -> String {
    HmacSha256::new(key.as_bytes()).hash(value).to_string()
}

/// Why a text could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("the text is not base64, so it was not made by encrypt")]
    NotBase64,
    #[error("the text is too short to hold a nonce and a tag, so it was not made by encrypt")]
    TooShort,
    #[error("decryption failed: the key is not the one it was encrypted with, or the text was changed")]
    Rejected,
    #[error("the decrypted bytes are not UTF-8 text")]
    NotText,
}

/// An AES-256-GCM key ready to encrypt and decrypt.
#[derive(Clone)]
pub struct AesGcmKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for AesGcmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesGcmKey(..)")
    }
}

impl AesGcmKey {
    /// Reads a key written as 64 hex characters or as base64 of 32 bytes. The error
    /// describes the key's shape, never its content.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).map_err(|e| e.to_string())?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(t))
                .map_err(|_| {
                    format!(
                        "an AES-256 key is 64 hex characters or the base64 of 32 bytes; this one is {} characters and neither",
                        t.chars().count()
                    )
                })?
        };
        if bytes.len() != 32 {
            return Err(format!("an AES-256 key is 32 bytes (64 hex characters or 44 base64 characters); this one decodes to {} bytes", bytes.len()));
        }
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| "the key is not 32 bytes".to_string())?;
        Ok(AesGcmKey { cipher })
    }

    /// Base64 of nonce ‖ ciphertext ‖ tag, with a fresh random nonce.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encrypts any text shorter than 64 GiB");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// The plaintext of what [`AesGcmKey::encrypt`] gave.
    pub fn decrypt(&self, text: &str) -> Result<String, DecryptError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| DecryptError::NotBase64)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(DecryptError::TooShort);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| DecryptError::Rejected)?;
        String::from_utf8(plain).map_err(|_| DecryptError::NotText)
    }
}

/// Registers `sha256(s)`, `sha256(s, salt)` (SHA-256 of `salt + s`) and
/// `hmac_sha256(s, key)`, each giving lower-case hex. A null gives null; numbers are hashed
/// as their digits. Encryption is left to the `mask` node, where the key comes from the
/// environment rather than from script text.
pub fn register(engine: &mut Engine) {
    engine.register_fn("sha256", |v: Dynamic| text_fn("sha256", v, |s| Ok(sha256_hex(s, ""))));
    engine.register_fn("sha256", |v: Dynamic, salt: &str| text_fn("sha256", v, |s| Ok(sha256_hex(s, salt))));
    engine.register_fn("hmac_sha256", |v: Dynamic, key: &str| {
        if key.is_empty() {
            return Err(rt_err("hmac_sha256", "the key is empty"));
        }
        text_fn("hmac_sha256", v, |s| Ok(hmac_sha256_hex(s, key)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn sha256_puts_the_salt_first() {
        // python3: hashlib.sha256(b'bench11010519931101114X').hexdigest()
        assert_eq!(sha256_hex("11010519931101114X", "bench"), "7d9e774da8a041a6b79398e7a9774bb41d50f2544b55cbd1d72a430f190d188c");
        assert_eq!(sha256_hex("11010519931101114X", ""), "546975d8d6766a7cf3e0f0dbbc62ba9128728349d3d5f4d1cb49a87c5fe8c350");
        let h = SaltedSha256::new("bench");
        assert_eq!(h.hash("11010519931101114X").as_str(), sha256_hex("11010519931101114X", "bench"));
    }

    #[test]
    fn hmac_matches_python() {
        // python3: hmac.new(b'k3y', b'13812345678', hashlib.sha256).hexdigest()
        assert_eq!(hmac_sha256_hex("13812345678", "k3y"), "59d77e8f0cf8672cc6dab4456ad8d00d7283f0ce9f26d794a463e95e9e60b861");
    }

    #[test]
    fn aes_round_trip_and_tamper_detection() {
        let key = AesGcmKey::parse(KEY_HEX).unwrap();
        let a = key.encrypt("张三 13812345678");
        let b = key.encrypt("张三 13812345678");
        assert_ne!(a, b, "a fresh nonce per value");
        assert_eq!(key.decrypt(&a).unwrap(), "张三 13812345678");
        let raw = base64::engine::general_purpose::STANDARD.decode(&a).unwrap();
        assert_eq!(raw.len(), NONCE_LEN + "张三 13812345678".len() + TAG_LEN);

        let mut tampered = raw.clone();
        tampered[NONCE_LEN] ^= 1;
        let tampered = base64::engine::general_purpose::STANDARD.encode(tampered);
        assert_eq!(key.decrypt(&tampered), Err(DecryptError::Rejected));

        let b64_key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let other = AesGcmKey::parse(&b64_key).unwrap();
        assert_eq!(other.decrypt(&a), Err(DecryptError::Rejected));
        assert_eq!(key.decrypt("not base64!"), Err(DecryptError::NotBase64));
        assert_eq!(key.decrypt("AAAA"), Err(DecryptError::TooShort));
    }

    #[test]
    fn bad_keys_are_described_not_shown() {
        let e = AesGcmKey::parse("s3cret-passw0rd").unwrap_err();
        assert!(e.contains("64 hex characters") && !e.contains("s3cret"), "{e}");
        let e = AesGcmKey::parse(&base64::engine::general_purpose::STANDARD.encode([1u8; 16])).unwrap_err();
        assert!(e.contains("decodes to 16 bytes"), "{e}");
    }
}

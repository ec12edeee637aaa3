//! Signatures checked as a client holding only the vendor's public key
//! checks them: license files and the log's signed head.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// Whether `signature` (base64) is the Ed25519 signature of `text` under
/// `public_key` (base64); a signature that is not 64 bytes of base64 does
/// not hold.
pub fn signature_holds(public_key: &str, signature: &str, text: &str) -> bool {
    let key: [u8; 32] = STANDARD
        .decode(public_key)
        .expect("the public key is standard base64")
        .try_into()
        .expect("a 32-byte key");
    let key = VerifyingKey::from_bytes(&key).expect("an Ed25519 key");
    let Ok(signature) = STANDARD.decode(signature) else {
        return false;
    };
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    key.verify(text.as_bytes(), &Signature::from_bytes(&signature))
        .is_ok()
}

/// Panics unless `signature` (base64) is the Ed25519 signature of `text`
/// under `public_key` (base64).
pub fn assert_signed(public_key: &str, signature: &str, text: &str) {
    assert!(
        signature_holds(public_key, signature, text),
        "the signature {signature} does not match {text}"
    );
}

//! License files: a JSON payload signed with the vendor's Ed25519 key over its
//! exact bytes. The key is made on first start and kept in a file, never in
//! the event log.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignedFile {
    pub payload: String,
    pub signature: String,
    pub public_key: String,
}

pub struct Signer25519 {
    key: SigningKey,
}

impl Signer25519 {
    /// Loads the key at `path` (PKCS#8 PEM); None when there is no file.
    pub fn load(path: &Path) -> Result<Option<Signer25519>, String> {
        if !path.exists() {
            return Ok(None);
        }
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
            format!(
                "{} is not an Ed25519 private key in PKCS#8 PEM: {e}",
                path.display()
            )
        })?;
        Ok(Some(Signer25519 { key }))
    }

    /// A key that lives only in this process: for commands that must not
    /// leave a key file behind and sign nothing anyone keeps.
    pub fn ephemeral() -> Signer25519 {
        Signer25519 {
            key: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// Loads the key at `path` (PKCS#8 PEM), or makes one there when absent.
    /// Only `serve` calls it.
    pub fn load_or_create(path: &Path) -> Result<Signer25519, String> {
        if let Some(signer) = Signer25519::load(path)? {
            return Ok(signer);
        }
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = key
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| format!("encoding the signing key: {e}"))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        crate::files::write_private(path, pem.as_bytes())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        tracing::warn!(
            path = %path.display(),
            "no license signing key was found: made a new one; products that trusted another key will not accept files signed with it"
        );
        Ok(Signer25519 { key })
    }

    pub fn public_key(&self) -> String {
        STANDARD.encode(self.key.verifying_key().to_bytes())
    }

    pub fn sign(&self, payload: String) -> SignedFile {
        let signature = self.key.sign(payload.as_bytes());
        SignedFile {
            signature: STANDARD.encode(signature.to_bytes()),
            public_key: self.public_key(),
            payload,
        }
    }
}

/// Checks a file's signature with `public_key` (base64), or with the key the
/// file names when none is given. Returns the payload's JSON.
pub fn verify(file: &SignedFile, public_key: Option<&str>) -> Result<serde_json::Value, String> {
    verify_text(
        &file.payload,
        &file.signature,
        public_key.unwrap_or(&file.public_key),
    )?;
    serde_json::from_str(&file.payload).map_err(|e| format!("the payload is not JSON: {e}"))
}

/// Checks an Ed25519 signature (base64) over the exact bytes of `text` with
/// `key_text` (base64 of the 32-byte public key): license files and signed
/// ledger heads alike.
pub fn verify_text(text: &str, signature: &str, key_text: &str) -> Result<(), String> {
    let key_bytes: [u8; 32] = STANDARD
        .decode(key_text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the public key is not 32 bytes of base64")?;
    let key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| "the public key is not a valid Ed25519 key")?;
    let sig_bytes: [u8; 64] = STANDARD
        .decode(signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the signature is not 64 bytes of base64")?;
    key.verify(text.as_bytes(), &Signature::from_bytes(&sig_bytes))
        .map_err(|_| {
            "the signature does not match the signed text: it was altered or signed by another key"
                .to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer25519 {
        Signer25519 {
            key: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    #[test]
    fn a_signed_file_verifies() {
        let s = signer();
        let file = s.sign(r#"{"key":"ABCD-EFGH-IJKL-MNOP"}"#.into());
        assert!(verify(&file, Some(&s.public_key())).is_ok());
    }

    #[test]
    fn one_altered_byte_fails() {
        let s = signer();
        let file = s.sign(r#"{"key":"ABCD-EFGH-IJKL-MNOP"}"#.into());
        let mut payload = file.clone();
        payload.payload = payload.payload.replace("ABCD", "ABCE");
        assert!(verify(&payload, Some(&s.public_key())).is_err());
        let mut sig = STANDARD.decode(&file.signature).unwrap();
        sig[10] ^= 1;
        let altered = SignedFile {
            signature: STANDARD.encode(sig),
            ..file
        };
        assert!(verify(&altered, Some(&s.public_key())).is_err());
    }

    #[test]
    fn another_key_fails() {
        let file = signer().sign("{}".into());
        assert!(verify(&file, Some(&signer().public_key())).is_err());
    }
}

//! Secrets: argon2id password hashes, session tokens, generated passwords.
//! None of these ever enters the event log.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use base64::Engine;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

use crate::error::{AppError, AppResult};

pub const SESSION_HOURS: i64 = 12;
pub const MIN_PASSWORD: usize = 8;
pub const LOCKOUT_FAILURES: i64 = 10;
pub const LOCKOUT_MINUTES: i64 = 15;

pub async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal("hashing a password", e))
    })
    .await
    .map_err(|e| AppError::internal("hashing a password", e))?
}

/// Checks `password` against `hash`; with no hash (unknown login) it checks
/// against a fixed one, so both cases take the same time.
pub async fn verify_password(hash: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a password anyone has", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

pub fn check_new_password(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AppError::bad(format!(
            "a password has at least {MIN_PASSWORD} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(AppError::bad("a password has at most 1024 bytes"));
    }
    Ok(())
}

/// 20 characters from the OS's CSPRNG over letters, digits and a few symbols
/// that survive being read aloud or pasted.
pub fn generate_password() -> String {
    // No "=": it would be escaped in a quoted-printable email body.
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!@#%+";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// A new session token (256 random bits) and the hash that is stored.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What random keys are drawn from: A–Z and 0–9 without 0/O and 1/I, so a
/// key read over the phone is not mistaken. 32 characters: a byte's low five
/// bits pick one uniformly. (Typed keys may still use all of A–Z and 0–9.)
const RANDOM_KEY_CHARS: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A random activation key.
pub fn random_activation_key() -> aggregates::values::ActivationKeyCode {
    let mut rng = rand::rngs::OsRng;
    let mut key = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            key.push('-');
        }
        let x: u8 = rng.r#gen();
        key.push(RANDOM_KEY_CHARS[usize::from(x & 31)] as char);
    }
    match aggregates::values::ActivationKeyCode::parse(&key) {
        Ok(code) => code,
        // Every character is in the key alphabet, so this cannot happen.
        Err(_) => aggregates::values::ActivationKeyCode::from_random([0; 16]),
    }
}

/// A new identifier: a type prefix and 128 random bits.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

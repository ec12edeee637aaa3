//! Secrets: argon2id password hashes, session tokens, generated passwords.
//! None of these ever enters the event log.

use base64::Engine;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

mod hashing;
mod policy;

pub use hashing::{set_slots as set_hashing_slots, stats as hashing_stats};
pub use policy::{MAX_PASSWORD_BYTES, MIN_PASSWORD, MIN_STRENGTH, check_new_password};

pub const SESSION_HOURS: i64 = 12;

pub async fn hash_password(password: String) -> AppResult<String> {
    match hashing::hash(password).await {
        Some(Ok(hash)) => Ok(hash),
        Some(Err(e)) => Err(AppError::internal("hashing a password", e)),
        None => Err(AppError::internal(
            "hashing a password",
            "the hashing task did not finish",
        )),
    }
}

/// Checks `password` against `hash`; with no hash (unknown login) it checks
/// against a fixed one, so both cases take the same time.
pub async fn verify_password(hash: Option<String>, password: String) -> bool {
    hashing::verify(hash, password).await
}

/// 20 characters from the OS's CSPRNG over letters, digits and a few symbols
/// that survive being read aloud or pasted.
pub fn generate_password() -> String {
    random_password()
}

/// A generated password that passes the policy for this account (a random
/// one nearly always does; one that happens to hold the login is redrawn).
pub fn generate_password_for(login: &str, email: &str) -> String {
    let mut password = random_password();
    for _ in 0..100 {
        if check_new_password(&password, login, email).is_ok() {
            break;
        }
        password = random_password();
    }
    password
}

fn random_password() -> String {
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

pub use projections::hex;

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

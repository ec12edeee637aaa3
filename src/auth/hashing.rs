//! Argon2id with a bounded footprint. Each hash needs ~19 MiB of working
//! memory and a core for tens of milliseconds; run freely, a burst of
//! sign-ins takes every core and leaves the allocator holding one buffer per
//! blocking thread long after. Here at most `slots` hashes run at once (the
//! rest wait their turn) and each runs in a buffer kept from one hash to the
//! next, so the memory is at most `slots` buffers, however many sign in.

use argon2::password_hash::{
    self, Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use tokio::sync::Semaphore;

struct Pool {
    slots: usize,
    permits: Semaphore,
    buffers: Mutex<Vec<Vec<Block>>>,
    running: AtomicUsize,
    peak: AtomicUsize,
}

static POOL: OnceLock<Pool> = OnceLock::new();

impl Pool {
    fn new(slots: usize) -> Pool {
        let slots = if slots == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            slots
        };
        Pool {
            slots,
            permits: Semaphore::new(slots),
            buffers: Mutex::new(Vec::new()),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }
}

/// Sizes the pool (0: one slot per core). The first call wins: the pool is
/// one per process, as the cores and the memory are. Returns the size in force.
pub fn set_slots(slots: usize) -> usize {
    POOL.get_or_init(|| Pool::new(slots)).slots
}

fn pool() -> &'static Pool {
    POOL.get_or_init(|| Pool::new(0))
}

/// The pool's size and the most hashes that ever ran at once.
pub fn stats() -> (usize, usize) {
    let pool = pool();
    (pool.slots, pool.peak.load(Ordering::Relaxed))
}

/// Runs `work` on the blocking pool in one of the slots, with that slot's buffer.
async fn in_slot<T: Send + 'static>(
    work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
) -> Option<T> {
    let pool = pool();
    let _permit = pool.permits.acquire().await.ok()?;
    let mut buffer = pool
        .buffers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop()
        .unwrap_or_default();
    let running = pool.running.fetch_add(1, Ordering::Relaxed) + 1;
    pool.peak.fetch_max(running, Ordering::Relaxed);
    let done = tokio::task::spawn_blocking(move || {
        let result = work(&mut buffer);
        (result, buffer)
    })
    .await;
    pool.running.fetch_sub(1, Ordering::Relaxed);
    // A panicked hash loses its buffer; the next one in this slot makes another.
    let (result, buffer) = done.ok()?;
    pool.buffers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(buffer);
    Some(result)
}

/// A PHC string (argon2id, default parameters) for `password`.
pub async fn hash(password: String) -> Option<Result<String, password_hash::Error>> {
    in_slot(move |buffer| hash_with(password.as_bytes(), buffer)).await
}

/// Whether `password` matches `hash`; with no hash it checks against a fixed
/// one, so an unknown login costs the same work as a wrong password.
pub async fn verify(hash: Option<String>, password: String) -> bool {
    in_slot(move |buffer| {
        let hash = match hash {
            Some(h) => h,
            None => dummy_hash(buffer).to_string(),
        };
        verify_with(&hash, password.as_bytes(), buffer).unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

fn hash_with(password: &[u8], buffer: &mut Vec<Block>) -> Result<String, password_hash::Error> {
    let argon = Argon2::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let output = output_of(
        &argon,
        password,
        raw_salt,
        Params::DEFAULT_OUTPUT_LEN,
        buffer,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

fn verify_with(
    hash: &str,
    password: &[u8],
    buffer: &mut Vec<Block>,
) -> Result<bool, password_hash::Error> {
    let parsed = PasswordHash::new(hash)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let argon = Argon2::new(
        Algorithm::try_from(parsed.algorithm)?,
        version,
        Params::try_from(&parsed)?,
    );
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes)?;
    let computed = output_of(&argon, password, raw_salt, expected.len(), buffer)?;
    // `Output`'s equality takes the same time wherever the bytes differ.
    Ok(computed == expected)
}

fn output_of(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    len: usize,
    buffer: &mut Vec<Block>,
) -> Result<Output, password_hash::Error> {
    let blocks = argon.params().block_count();
    let default_blocks = Params::DEFAULT.block_count();
    if blocks > default_blocks {
        // A hash made with heavier parameters than ours (none is today): its
        // memory is not kept, so the slots' buffers stay the size above.
        let mut own = vec![Block::default(); blocks];
        return Output::init_with(len, |out| {
            Ok(argon.hash_password_into_with_memory(password, salt, out, &mut own[..])?)
        });
    }
    if buffer.len() < blocks {
        buffer.resize(blocks, Block::default());
    }
    Output::init_with(len, |out| {
        Ok(argon.hash_password_into_with_memory(password, salt, out, &mut buffer[..blocks])?)
    })
}

fn dummy_hash(buffer: &mut Vec<Block>) -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_with(b"not a password anyone has", buffer).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_match_the_standard_form() {
        let phc = hash("correct horse battery staple".into())
            .await
            .and_then(Result::ok)
            .unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(Some(phc.clone()), "correct horse battery staple".into()).await);
        assert!(!verify(Some(phc.clone()), "correct horse battery stapler".into()).await);
        assert!(!verify(None, "anything".into()).await);
        // The crate's own verifier agrees with ours.
        use argon2::password_hash::PasswordVerifier;
        let parsed = PasswordHash::new(&phc).ok();
        assert!(parsed.is_some_and(|p| {
            Argon2::default()
                .verify_password(b"correct horse battery staple", &p)
                .is_ok()
        }));
    }
}

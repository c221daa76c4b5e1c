//! Argon2id password hashes (PHC strings, as password-auth wrote them before), computed
//! in memory that each thread allocates once.
//!
//! Why not a library's one-call check: each check allocates the algorithm's 19 MiB and
//! frees it, and glibc keeps such freed blocks in per-thread arenas (its mmap threshold
//! grows with the first free of one), so a hundred checks on four threads grew the
//! process by hundreds of MB. Here the Argon2 threads of [`crate::login`] keep one
//! buffer each for their life.

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Most memory (KiB) a stored hash may ask a check to use: 64 MiB. The hashes made
/// here use 19 MiB (Argon2's default, OWASP's recommendation).
const MAX_MEMORY_KIB: u32 = 64 * 1024;

thread_local! {
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        f(&mut memory[..blocks])
    })
}

/// A password could not be hashed (not for any password this server accepts).
#[derive(Debug, thiserror::Error)]
#[error("cannot compute the password's Argon2id hash: {detail}")]
pub struct HashError {
    detail: String,
}

/// A new PHC string for `password`: Argon2id v19, 19 MiB, 2 passes, a random salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    use rand::RngCore;
    let error = |e: &dyn std::fmt::Display| HashError {
        detail: e.to_string(),
    };
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(params.block_count(), |memory| {
        argon.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
    })
    .map_err(|e| error(&e))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| error(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| error(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| error(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc` (constant-time comparison); false
/// for a malformed hash or one asking for more than 64 MiB.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (stored.hash, stored.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm) else {
        return false;
    };
    let Ok(version) = stored
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&stored) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = with_memory(params.block_count(), |memory| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|out| out == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterz", &phc));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[test]
    fn hashes_written_by_password_auth_still_verify() {
        // password-auth 1.0 made the server's hashes before this module.
        let phc = password_auth::generate_hash("Adm1n-test-pw!");
        assert!(verify("Adm1n-test-pw!", &phc));
        assert!(
            password_auth::verify_password("Adm1n-test-pw!", &hash("Adm1n-test-pw!").unwrap())
                .is_ok()
        );
    }
}

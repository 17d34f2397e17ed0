//! Password hashing with argon2id. Pure computation: callers decide where it runs (the api
//! runs it on the blocking pool behind a semaphore, since one hash costs tens of ms of CPU).

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use serde::{Deserialize, Serialize};

/// OWASP's minimum for argon2id: m=19456 KiB, t=2, p=1.
pub const OWASP_MEMORY_KIB: u32 = 19_456;
pub const OWASP_ITERATIONS: u32 = 2;
pub const OWASP_PARALLELISM: u32 = 1;

/// Longest password accepted, in bytes: hashing cost does not depend on it much, but
/// parsing megabytes of "password" is pointless.
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self { memory_kib: OWASP_MEMORY_KIB, iterations: OWASP_ITERATIONS, parallelism: OWASP_PARALLELISM }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("argon2 parameters are invalid: {0}")]
    Params(String),
    #[error("argon2 parameters are below OWASP's minimum (m=19456 KiB, t=2, p=1)")]
    BelowMinimum,
    #[error("hashing failed: {0}")]
    Hash(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordPolicyError {
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("password must be at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("password must not start or end with whitespace")]
    Whitespace,
}

/// Rules a new password must follow.
pub fn check_policy(password: &str) -> Result<(), PasswordPolicyError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordPolicyError::TooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordPolicyError::TooShort);
    }
    if password.trim() != password {
        return Err(PasswordPolicyError::Whitespace);
    }
    Ok(())
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Correct; `needs_rehash` when the stored hash used other parameters or algorithm.
    Valid {
        needs_rehash: bool,
    },
    Invalid,
}

#[derive(Clone)]
pub struct PasswordHasher {
    argon: Argon2<'static>,
    params: HashParams,
    /// A hash of a random password with the current parameters: verifying against it makes
    /// an unknown account cost the same time as a known one.
    dummy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params).finish()
    }
}

impl PasswordHasher {
    /// Builds a hasher; refuses parameters weaker than OWASP's minimum.
    pub fn new(params: HashParams) -> Result<Self, PasswordError> {
        if params.memory_kib < OWASP_MEMORY_KIB || params.iterations < OWASP_ITERATIONS || params.parallelism < 1 {
            return Err(PasswordError::BelowMinimum);
        }
        let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|e| PasswordError::Params(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        let mut hasher = Self { argon, params, dummy: String::new() };
        let random: [u8; 16] = rand::random();
        hasher.dummy = hasher.hash_bytes(&random)?;
        Ok(hasher)
    }

    pub fn params(&self) -> HashParams {
        self.params
    }

    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        self.hash_bytes(password.as_bytes())
    }

    fn hash_bytes(&self, password: &[u8]) -> Result<String, PasswordError> {
        self.argon.hash_password(password).map(|h| h.to_string()).map_err(|e| PasswordError::Hash(e.to_string()))
    }

    /// Verifies `password` against a stored PHC string. A malformed stored hash counts as
    /// invalid (and still costs one full hash, so timing reveals nothing).
    pub fn verify(&self, password: &str, stored: &str) -> Verification {
        if password.len() > MAX_PASSWORD_BYTES {
            self.burn(password);
            return Verification::Invalid;
        }
        let Ok(parsed) = PasswordHash::new(stored) else {
            self.burn(password);
            return Verification::Invalid;
        };
        match self.argon.verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Verification::Valid { needs_rehash: self.needs_rehash(&parsed) },
            Err(_) => Verification::Invalid,
        }
    }

    /// Spends one hash's worth of time, for unknown accounts.
    pub fn burn(&self, password: &str) {
        let bytes = password.as_bytes();
        let bytes = &bytes[..bytes.len().min(MAX_PASSWORD_BYTES)];
        if let Ok(parsed) = PasswordHash::new(&self.dummy) {
            let _ = self.argon.verify_password(bytes, &parsed);
        }
    }

    fn needs_rehash(&self, stored: &PasswordHash) -> bool {
        if stored.algorithm.as_str() != "argon2id" {
            return true;
        }
        match Params::try_from(stored) {
            Ok(p) => {
                p.m_cost() != self.params.memory_kib
                    || p.t_cost() != self.params.iterations
                    || p.p_cost() != self.params.parallelism
            }
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = PasswordHasher::new(HashParams::default()).unwrap();
        let stored = h.hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert_eq!(h.verify("correct horse battery", &stored), Verification::Valid { needs_rehash: false });
        assert_eq!(h.verify("correct horse batterY", &stored), Verification::Invalid);
        assert_eq!(h.verify("x", "not a phc string"), Verification::Invalid);
    }

    #[test]
    fn changed_parameters_ask_for_rehash() {
        let old = PasswordHasher::new(HashParams::default()).unwrap();
        let stored = old.hash("correct horse battery").unwrap();
        let new = PasswordHasher::new(HashParams { iterations: 3, ..HashParams::default() }).unwrap();
        assert_eq!(new.verify("correct horse battery", &stored), Verification::Valid { needs_rehash: true });
    }

    #[test]
    fn weak_parameters_are_refused() {
        assert_eq!(
            PasswordHasher::new(HashParams { memory_kib: 4096, ..HashParams::default() }).unwrap_err(),
            PasswordError::BelowMinimum
        );
    }

    #[test]
    fn policy() {
        assert_eq!(check_policy("short"), Err(PasswordPolicyError::TooShort));
        assert_eq!(check_policy(" padded-password "), Err(PasswordPolicyError::Whitespace));
        assert_eq!(check_policy(&"x".repeat(2000)), Err(PasswordPolicyError::TooLong));
        assert_eq!(check_policy("long-enough-pw"), Ok(()));
    }
}

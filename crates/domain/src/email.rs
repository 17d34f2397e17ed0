use std::fmt;

use serde::{Deserialize, Serialize};

/// A syntactically valid, lower-cased e-mail address. Holding one means it was checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a valid e-mail address")]
pub struct InvalidEmail(pub String);

impl EmailAddress {
    /// Accepts `local@domain.tld` with no whitespace or control characters, at most 254
    /// bytes, and stores it lower-cased (addresses are compared case-insensitively).
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let s = raw.trim();
        let bad = || InvalidEmail(truncate(raw));
        if s.is_empty() || s.len() > 254 {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || domain.len() < 3 || local.contains('@') {
            return Err(bad());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c)) {
            return Err(bad());
        }
        if !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.starts_with('-')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmail;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases() {
        assert_eq!(EmailAddress::parse(" CEO@Mezzofy.com ").unwrap().as_str(), "ceo@mezzofy.com");
        assert!(EmailAddress::parse("a.b+c@sub.example.co").is_ok());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a@.com",
            "a@com.",
            "a b@c.com",
            "a@b..com",
            "a<b>@c.com",
            "a@b@c.com",
            "a@-x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} should be rejected");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse(&long).is_err());
    }
}

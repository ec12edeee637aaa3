//! Parsed values: each constructor is the only place its rule is checked.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};

pub const MAX_GRANT: i64 = 10_000_000;
pub const MAX_USERS: i64 = 10_000;
pub const MAX_CHANNELS: i64 = 1_000;

/// An activation key, XXXX-XXXX-XXXX-XXXX over A–Z and 0–9, stored upper case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationKeyCode(String);

impl ActivationKeyCode {
    pub const ALPHABET: &'static [u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let key = text.trim().to_ascii_uppercase();
        let groups: Vec<&str> = key.split('-').collect();
        let ok = groups.len() == 4
            && groups
                .iter()
                .all(|g| g.len() == 4 && g.bytes().all(|b| Self::ALPHABET.contains(&b)));
        if ok {
            Ok(Self(key))
        } else {
            Err(DomainError::BadInput(format!(
                "the key \"{}\" is not in the format XXXX-XXXX-XXXX-XXXX (letters A-Z and digits 0-9)",
                text.trim()
            )))
        }
    }

    /// Builds a key from 16 random bytes; each byte picks a character.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        let mut key = String::with_capacity(19);
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                key.push('-');
            }
            // 252 = 7 × 36: callers reject bytes ≥ 252 to keep the choice uniform.
            key.push(Self::ALPHABET[(*b as usize) % Self::ALPHABET.len()] as char);
        }
        Self(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address: something@domain.tld, no spaces, at most 254 characters.
pub fn parse_email(text: &str) -> Result<String, DomainError> {
    let email = text.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if valid {
        Ok(email.to_string())
    } else {
        Err(DomainError::BadInput(format!(
            "\"{email}\" is not a valid email address"
        )))
    }
}

/// A sign-in name: 3–64 characters of letters, digits, '.', '_' and '-'.
pub fn parse_login(text: &str) -> Result<String, DomainError> {
    let login = text.trim();
    let valid = (3..=64).contains(&login.chars().count())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(login.to_string())
    } else {
        Err(DomainError::BadInput(
            "a login is 3 to 64 characters: letters, digits, '.', '_' or '-'".into(),
        ))
    }
}

/// A display name: 1–100 characters once trimmed.
/// An account's login, email and name, each checked as when it was named
/// alone, in that order.
pub fn parse_identity(
    login: &str,
    email: &str,
    name: &str,
) -> Result<(String, String, String), DomainError> {
    Ok((
        parse_login(login)?,
        parse_email(email)?,
        parse_name(name, "name")?,
    ))
}

pub fn parse_name(text: &str, what: &str) -> Result<String, DomainError> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::BadInput(format!(
            "the {what} must be 1 to 100 characters"
        )));
    }
    Ok(name.to_string())
}

/// The email an edit sets: a blank one clears it, as the edit forms send
/// an emptied field.
pub fn parse_edited_email(text: Option<&str>) -> Result<Option<String>, DomainError> {
    text.filter(|e| !e.trim().is_empty())
        .map(parse_email)
        .transpose()
}

/// A free-text comment: at most 1,000 characters; empty means none.
pub fn parse_comment(text: Option<&str>) -> Result<Option<String>, DomainError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.chars().count() > 1000 => Err(DomainError::BadInput(
            "a comment is at most 1000 characters".into(),
        )),
        Some(c) => Ok(Some(c.to_string())),
    }
}

pub fn check_range(value: i64, min: i64, max: i64, what: &str) -> Result<(), DomainError> {
    if value < min || value > max {
        return Err(DomainError::BadInput(format!(
            "{what} must be between {min} and {max}, not {value}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised_to_upper_case() {
        let k = ActivationKeyCode::parse(" abcd-1234-EFGH-5678 ").unwrap();
        assert_eq!(k.as_str(), "ABCD-1234-EFGH-5678");
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "ABCD-1234-EFGH",
            "ABCD-1234-EFGH-56789",
            "ABCD_1234_EFGH_5678",
            "ÄBCD-1234-EFGH-5678",
            "ABCD-1234-EFGH-567!",
        ] {
            assert!(ActivationKeyCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn random_keys_have_the_format() {
        let k = ActivationKeyCode::from_random([200; 16]);
        assert!(ActivationKeyCode::parse(k.as_str()).is_ok());
    }

    #[test]
    fn emails() {
        assert!(parse_email("a@b.co").is_ok());
        for bad in ["", "a", "a@b", "@b.co", "a b@c.de", "a@@b.co", "a@.co"] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logins() {
        assert!(parse_login("acme.partner").is_ok());
        assert!(parse_login("ab").is_err());
        assert!(parse_login("with space").is_err());
    }
}

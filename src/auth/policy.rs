//! What a new password must be. One check for every place a password is set
//! (the API, the portal's forms, the command line, the first administrator's
//! password from the environment), and it names the rule that failed.

use crate::error::{AppError, AppResult};

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// zxcvbn's score: 3 is "safely unguessable" (about 10^8 guesses and more);
/// its dictionaries refuse the common passwords and keyboard walks.
pub const MIN_STRENGTH: u8 = 3;

/// Checks `password` for the account with `login` and `email`.
pub fn check_new_password(password: &str, login: &str, email: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AppError::bad(format!(
            "a password has at least {MIN_PASSWORD} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::bad(format!(
            "a password has at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let lower = password.to_lowercase();
    let login = login.trim().to_lowercase();
    let email = email.trim().to_lowercase();
    if !login.is_empty() && lower.contains(&login) {
        return Err(AppError::bad("a password must not contain the login"));
    }
    // The mailbox name too: "jane" in "jane@example.com" is as easy to guess.
    let mailbox = email.split('@').next().unwrap_or("");
    if (!email.is_empty() && lower.contains(&email))
        || (mailbox.chars().count() >= 3 && lower.contains(mailbox))
    {
        return Err(AppError::bad(
            "a password must not contain the email address",
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, &[&login, &email]);
    if u8::from(estimate.score()) < MIN_STRENGTH {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({})", w.to_string().trim_end_matches('.')))
            .unwrap_or_default();
        return Err(AppError::bad(format!(
            "this password is too easy to guess{why}: use a longer one, for example a few unrelated words"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(password: &str) -> String {
        match check_new_password(password, "acme", "jane@example.org") {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn each_rule_names_itself() {
        assert!(refusal("password").contains("at least 12 characters"));
        assert!(refusal("12345678").contains("at least 12 characters"));
        assert!(refusal("        ").contains("at least 12 characters"));
        assert!(refusal("passwordpassword").contains("too easy to guess"));
        assert!(refusal("            ").contains("too easy to guess"));
        assert!(refusal("123456789012").contains("too easy to guess"));
        assert!(refusal("Acme-Quartz-Lantern-41").contains("the login"));
        assert!(refusal("x-Jane@example.org-Quartz").contains("the email"));
        assert!(refusal(&"long-enough ".repeat(100)).contains("at most 1024 bytes"));
        assert_eq!(refusal("Quartz-Lantern-41"), "");
    }
}

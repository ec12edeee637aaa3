//! Read models of license-portal: the tables, the projector that feeds them
//! from the event log, and the typed queries the API calls.

pub mod chain;
pub mod db;
pub mod log;
pub mod pacing;
pub mod projector;
pub mod queries;
pub mod views;
pub mod write_gate;

pub use db::{Backend, Db};
pub use log::{LogPosition, StoredEvent};
pub use projector::Projector;

/// Lower-case hex of `bytes`, as ids, hashes and tokens are written. A
/// replay makes one per credit entry, so it is written without `format!`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_writes_two_lower_case_digits_a_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::hex(&all), expected);
        assert_eq!(super::hex(&[]), "");
    }
}

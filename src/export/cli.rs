//! The two commands' front ends: options in, report and exit code out.

use super::Progress;
use crate::config::DbArgs;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::process::ExitCode;

/// Progress on stderr every this many events.
const PROGRESS_EVERY: u64 = 10_000;

pub async fn export_events(
    db: DbArgs,
    from: Option<i64>,
    signing_key: &Path,
) -> Result<ExitCode, String> {
    // The head must be signed by the key the service signs with: a key made
    // here would sign a head nobody can check against the published key.
    let signer = crate::signing::Signer25519::load(signing_key)?.ok_or_else(|| {
        format!(
            "no signing key at {}: the export's head is signed with the service's key",
            signing_key.display()
        )
    })?;
    let storage = crate::storage::open_with(&db).await?;
    let started = std::time::Instant::now();
    let chained = super::write::chain_pending(&storage.db).await?;
    if chained > 0 {
        // Apart from the export's own rate, which it would otherwise distort.
        eprintln!(
            "chained {chained} events the service had not reached yet in {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
    let mut progress = Progress::new("exported", PROGRESS_EVERY);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let exported =
        super::write::export(&storage.db, &signer, from, &mut out, &mut progress).await?;
    progress.finish();
    let from = match exported.after_position {
        0 => "the start of the log".to_string(),
        p => format!("after position {p}"),
    };
    eprintln!(
        "the copy runs from {from} to the head at position {}, signed by {}",
        exported.head_position,
        signer.public_key()
    );
    if exported.head_missing {
        eprintln!(
            "error: the log ends before the head's event at position {}: an event was removed from the database, and this copy will not verify",
            exported.head_position
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn verify_export(
    file: &Path,
    public_key: Option<String>,
    signing_key: &Path,
) -> Result<ExitCode, String> {
    let Some(trusted) = crate::cli::trusted_key(public_key, signing_key)? else {
        println!(
            "export NOT checked: no trusted key (give --public-key, or a signing key at {})",
            signing_key.display()
        );
        return Ok(ExitCode::from(2));
    };
    let input =
        std::fs::File::open(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let mut progress = Progress::new("checked", PROGRESS_EVERY);
    let result = super::check::verify(BufReader::new(input), &trusted, &mut progress);
    progress.finish();
    match result {
        Ok(v) => {
            println!(
                "export verified: {} events chain to the head signed by {trusted}",
                v.events
            );
            if v.after_position == 0 {
                println!("  from:      the start of the log");
            } else {
                // Nothing in this copy vouches for where it starts: the
                // auditor compares it with the head of the copy before.
                println!(
                    "  from:      after position {} with hash {} (compare it with the head of the copy before this one)",
                    v.after_position, v.after_hash
                );
            }
            println!(
                "  head:      position {} hash {}",
                v.head_position, v.head_hash
            );
            println!("  signed at: {}", v.signed_at);
            Ok(ExitCode::SUCCESS)
        }
        Err(b) => {
            println!(
                "export verification FAILED at line {}: {}",
                b.line, b.reason
            );
            Ok(ExitCode::from(2))
        }
    }
}

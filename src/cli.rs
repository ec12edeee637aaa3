//! The command line: `serve` (the default) and the operator's tools.

use crate::config::{DbArgs, ServeArgs};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "license-portal",
    version,
    about = "Licensing management for a software vendor's partners and resellers"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// Parses the serve options from the environment alone.
#[derive(Parser)]
struct DefaultServe {
    #[command(flatten)]
    args: ServeArgs,
}

// Parsed once at start: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve(ServeArgs),
    /// Add an administrator account.
    CreateAdmin(StaffArgs),
    /// Add an auditor account: reads everything, changes nothing.
    CreateAuditor(StaffArgs),
    /// Drop every view and rebuild it from the event log.
    Replay {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Replay the log and check the ledger's invariants.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// Also rebuild every view from the log (in a transaction rolled
        /// back at the end) and compare it with the live one, table by table.
        #[arg(long)]
        views: bool,
    },
    /// Write the event log as JSON Lines to stdout: a start line, one event a
    /// line in the log's order with its stored hash, and the chain's head
    /// signed by the service's key. Progress goes to stderr.
    ExportEvents {
        #[command(flatten)]
        db: DbArgs,
        /// Start at the first event (in log order) whose position is POS or
        /// more; the copy then chains from the hash of the event before it.
        #[arg(long, value_name = "POS")]
        from: Option<i64>,
        #[arg(long, env = "SIGNING_KEY_PATH", default_value = "./data/signing-key")]
        signing_key: PathBuf,
    },
    /// Check a copy made by export-events offline, without a database. Exits
    /// 0 only when every stored hash follows from the lines before it and the
    /// head is signed by the trusted key; 2 otherwise, naming the first line
    /// that does not match, or when no trusted key is at hand.
    VerifyExport {
        /// The JSON Lines file export-events wrote.
        file: PathBuf,
        /// The vendor's public key (base64). Default: the public half of the
        /// signing key at --signing-key. The key named inside the file is
        /// never trusted.
        #[arg(long)]
        public_key: Option<String>,
        #[arg(long, env = "SIGNING_KEY_PATH", default_value = "./data/signing-key")]
        signing_key: PathBuf,
    },
    /// Print the public key that signs license files (base64 of its 32
    /// bytes). It reads the key `serve` made; it never makes one.
    PublicKey {
        #[arg(long, env = "SIGNING_KEY_PATH", default_value = "./data/signing-key")]
        signing_key: PathBuf,
    },
    /// Check a saved license file offline and print what it grants. Exits 0
    /// only for an unexpired file signed by the trusted key; 2 when the file
    /// is not valid or no trusted key is at hand, 3 when it has expired.
    CheckLicense {
        /// A file holding the LicenseFile JSON ({payload, signature, publicKey}).
        file: PathBuf,
        /// The vendor's public key (base64). Default: the public half of the
        /// signing key at --signing-key. The key named inside the file is
        /// never trusted.
        #[arg(long)]
        public_key: Option<String>,
        #[arg(long, env = "SIGNING_KEY_PATH", default_value = "./data/signing-key")]
        signing_key: PathBuf,
    },
}

/// A vendor staff account to add from the command line.
#[derive(Args)]
struct StaffArgs {
    #[command(flatten)]
    db: DbArgs,
    #[arg(long)]
    login: String,
    #[arg(long)]
    email: String,
    /// Default: generated and printed once.
    #[arg(long)]
    password: Option<String>,
    /// Default: "Administrator" or "Auditor".
    #[arg(long)]
    name: Option<String>,
}

impl StaffArgs {
    async fn create(self, role: aggregates::Role, default_name: &str) -> Result<ExitCode, String> {
        let name = self.name.unwrap_or_else(|| default_name.to_string());
        let new = crate::app::NewAccount::top_level(self.login, self.email, name, self.password);
        create_admin(self.db, new, role).await
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(DefaultServe::parse_from(["license-portal"]).args));
    run_to_exit("info,sqlx=warn", run(command))
}

/// Logs to stderr (`RUST_LOG`, else `default_filter`), runs `work` on a new
/// runtime and turns its error into one line and a failed exit: the shape
/// of every binary of the workspace.
pub fn run_to_exit<E: std::fmt::Display>(
    default_filter: &str,
    work: impl Future<Output = Result<ExitCode, E>>,
) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Options for commands that open the database but do not serve.
fn offline(db: DbArgs) -> ServeArgs {
    let mut args = DefaultServe::parse_from(["license-portal"]).args;
    args.db = db;
    args
}

async fn run(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::CreateAdmin(staff) => staff.create(aggregates::Role::Admin, "Administrator").await,
        Command::CreateAuditor(staff) => staff.create(aggregates::Role::Auditor, "Auditor").await,
        Command::Replay { db } => replay(db).await,
        Command::Verify { db, views } => verify(db, views).await,
        Command::ExportEvents {
            db,
            from,
            signing_key,
        } => crate::export::cli::export_events(db, from, &signing_key).await,
        Command::VerifyExport {
            file,
            public_key,
            signing_key,
        } => crate::export::cli::verify_export(&file, public_key, &signing_key),
        Command::PublicKey { signing_key } => public_key(&signing_key),
        Command::CheckLicense {
            file,
            public_key,
            signing_key,
        } => check_license(&file, public_key, &signing_key),
    }
}

async fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    let running = crate::server::start(&args).await?;
    println!("license-portal listening on http://{}", running.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// Adds vendor staff: an administrator or an auditor.
async fn create_admin(
    db: DbArgs,
    new: crate::app::NewAccount,
    role: aggregates::Role,
) -> Result<ExitCode, String> {
    let app = crate::server::build_app(&offline(db)).await?;
    let actor = crate::ledgers::Actor::System("create-admin");
    let drain = app.projector.clone();
    let creating = app.create_account(role, new, &actor);
    // No server runs here: project while waiting for our own write.
    let (result, _) = tokio::join!(creating, async {
        for _ in 0..50 {
            let _ = drain.drain().await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    let (account, generated) = result.map_err(|e| e.to_string())?;
    let what = match role {
        aggregates::Role::Auditor => "auditor",
        _ => "administrator",
    };
    println!("Created {what} {} ({})", account.login, account.id);
    if let Some(p) = generated {
        println!("  password: {p}\n(shown once; it must be changed at first sign-in)");
    }
    Ok(ExitCode::SUCCESS)
}

async fn replay(db: DbArgs) -> Result<ExitCode, String> {
    use projections::projector::ReplayProgress;
    let app = crate::server::build_app(&offline(db)).await?;
    let total = projections::log::count(&app.db)
        .await
        .map_err(|e| e.to_string())?;
    println!("rebuilding the views from {total} events…");
    let started = Instant::now();
    let mut last_report = Instant::now();
    let done = app
        .projector
        .replay(|progress| match progress {
            ReplayProgress::Applied(done) if last_report.elapsed().as_secs() >= 2 => {
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "  {done}/{total} events, {:.0} events/s",
                    done as f64 / secs.max(1e-9)
                );
                last_report = Instant::now();
            }
            ReplayProgress::Applied(_) => {}
            ReplayProgress::BuildingIndexes => println!("  building the indexes…"),
        })
        .await
        .map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "replayed {done} events in {secs:.2} s: {:.0} events/s",
        done as f64 / secs.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

async fn verify(db: DbArgs, views: bool) -> Result<ExitCode, String> {
    let app = crate::server::build_app(&offline(db)).await?;
    let ledger = verify_ledger(&app).await?;
    if !views || ledger != ExitCode::SUCCESS {
        return Ok(ledger);
    }
    match crate::verify::verify_views(&app.db).await {
        Ok(summary) => {
            println!("views verified: each equals a fresh replay of the log");
            print!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Err(report) => {
            println!("views verification FAILED: they differ from a fresh replay");
            print!("{report}");
            Ok(ExitCode::from(3))
        }
    }
}

async fn verify_ledger(app: &crate::app::App) -> Result<ExitCode, String> {
    match crate::verify::verify(&app.db).await {
        Ok(s) => {
            println!("ledger verified: the invariants hold");
            println!("  accounts:        {}", s.accounts);
            println!("  events:          {}", s.events);
            println!("  total granted:   {}", s.granted);
            println!("  total spent:     {}", s.spent);
            println!("  total refunded:  {}", s.refunded);
            println!("  total balance:   {}", s.balance);
            println!(
                "  transfers:       {} ({} in flight, {} credits)",
                s.transfers, s.transfers_in_flight, s.credits_in_flight
            );
            println!(
                "  resellers still to record on their partner: {}",
                s.resellers_pending
            );
            println!(
                "  logins reserved for no account yet (settled at start): {}",
                s.logins_pending
            );
            println!(
                "  activation keys reserved for no key (taken over by a retry): {}",
                s.keys_reserved_unused
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(violation) => {
            println!("ledger verification FAILED: {violation}");
            Ok(ExitCode::from(2))
        }
    }
}

fn public_key(signing_key: &Path) -> Result<ExitCode, String> {
    // Printing a key made here would name a key no server signs with.
    let signer = crate::signing::Signer25519::load(signing_key)?.ok_or_else(|| {
        format!(
            "no signing key at {}; `license-portal serve` makes one on its first start",
            signing_key.display()
        )
    })?;
    println!("{}", signer.public_key());
    Ok(ExitCode::SUCCESS)
}

fn check_license(
    file: &Path,
    public_key: Option<String>,
    signing_key: &Path,
) -> Result<ExitCode, String> {
    let text =
        std::fs::read_to_string(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let parsed: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
    // Accept the bare LicenseFile or a GraphQL answer holding one.
    let object = find_license_file(&parsed)
        .ok_or("no {payload, signature, publicKey} object in the file")?;
    let license: crate::signing::SignedFile =
        serde_json::from_value(object.clone()).map_err(|e| format!("not a license file: {e}"))?;
    let Some(trusted) = trusted_key(public_key, signing_key)? else {
        println!(
            "license file NOT checked: no trusted key (give --public-key, or a signing key at {})",
            signing_key.display()
        );
        return Ok(ExitCode::from(2));
    };
    let payload = match crate::signing::verify(&license, Some(&trusted)) {
        Ok(payload) => payload,
        Err(why) => {
            println!("license file is NOT valid: {why}");
            return Ok(ExitCode::from(2));
        }
    };
    let pretty = serde_json::to_string_pretty(&payload).unwrap_or_default();
    let expires = payload
        .get("expiresAt")
        .and_then(|v| v.as_str())
        .and_then(projections::db::parse_time);
    match expires {
        Some(t) if t > chrono::Utc::now() => {
            println!("license file is VALID (signed by {trusted})");
            println!("{pretty}");
            Ok(ExitCode::SUCCESS)
        }
        Some(t) => {
            println!(
                "license file is NOT valid: it expired at {}; the product must refresh it",
                projections::db::time_text(t)
            );
            println!("{pretty}");
            Ok(ExitCode::from(3))
        }
        None => {
            println!("license file is NOT valid: it names no expiresAt time");
            Ok(ExitCode::from(2))
        }
    }
}

/// The key a signature must verify with: `--public-key`, else the public
/// half of the signing key at `signing_key`; None when neither is at hand.
/// The key named inside a signed file only proves it intact, not who signed
/// it: anyone can sign with a key of their own. Only a key the operator
/// trusts decides.
pub(crate) fn trusted_key(
    public_key: Option<String>,
    signing_key: &Path,
) -> Result<Option<String>, String> {
    match public_key {
        Some(k) => Ok(Some(k)),
        None => Ok(crate::signing::Signer25519::load(signing_key)?.map(|s| s.public_key())),
    }
}

fn find_license_file(v: &serde_json::Value) -> Option<&serde_json::Value> {
    match v {
        serde_json::Value::Object(o)
            if o.contains_key("payload") && o.contains_key("signature") =>
        {
            Some(v)
        }
        serde_json::Value::Object(o) => o.values().find_map(find_license_file),
        _ => None,
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

//! The served GraphQL schema against its committed copy, docs/schema.graphql:
//! a change to the API shows up in review as a change to that file. Run with
//! UPDATE_SDL=1 to rewrite the copy when the change is intended (and check it
//! against the contract: nothing in it may be renamed or removed).

use std::path::PathBuf;

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/schema.graphql")
}

#[test]
fn the_served_schema_matches_the_committed_sdl() {
    let served = license_portal::graphql::sdl();
    let path = committed();
    if std::env::var_os("UPDATE_SDL").is_some_and(|v| v == "1") {
        std::fs::write(&path, &served).expect("write docs/schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        served == committed,
        "the served schema differs from {}.\n\
         If the change is intended, rewrite the copy and commit it:\n    \
         UPDATE_SDL=1 cargo test --test it schema::\n\
         First difference:\n{}",
        path.display(),
        first_difference(&committed, &served),
    );
}

/// The first line that differs, with its number, to find it quickly.
fn first_difference(committed: &str, served: &str) -> String {
    let mut old = committed.lines();
    let mut new = served.lines();
    for n in 1.. {
        match (old.next(), new.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => {
                return format!(
                    "line {n}\n  committed: {}\n  served:    {}",
                    a.unwrap_or("(end of file)"),
                    b.unwrap_or("(end of file)")
                );
            }
        }
    }
    "none by line (line endings?)".into()
}

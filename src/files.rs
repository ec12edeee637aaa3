//! Files only the service's own user may read: the SQLite database, the
//! license signing key, emails holding a generated password. They are
//! created with mode 0600 whatever the umask says (the mode is given to
//! open(2), not set afterwards, so there is no moment they are readable).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Creates `path` (it must not exist yet), readable and writable by its
/// owner alone.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Writes `bytes` to a new private file at `path`.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = create_private(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Writes `bytes` as a private file at `path` in one step: under a hidden
/// name first, then renamed, so a reader never sees half a file.
pub fn publish_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.partial"));
    if let Err(e) = write_private(&partial, bytes) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_are_0600_and_never_overwritten() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let path = dir.path().join("secret");
        assert!(write_private(&path, b"one").is_ok());
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        assert!(write_private(&path, b"two").is_err());
        let eml = dir.path().join("a.eml");
        assert!(publish_private(&eml, b"mail").is_ok());
        let mode = std::fs::metadata(&eml).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
    }
}

//! Upgrading a license or a support: the same change on both, to the
//! users, the edition and the credits spent.

use super::batch::{LicenseRow, Pending, Row, SupportRow};
use super::{Applied, Tx};

/// A row an upgrade changes.
pub(super) trait Upgradable: Row {
    fn upgrade(&mut self, users: i64, edition: &str, credits: i64, at: &str);
}

/// Applies an upgrade to the row `id` of `rows`.
pub(super) async fn upgraded<R: Upgradable>(
    tx: &mut Tx,
    rows: &mut Pending<R>,
    id: &str,
    (users, edition, credits): (i64, &str, i64),
    at: &str,
) -> Applied {
    let sql = format!(
        "UPDATE {} SET users = $1, edition = $2, credits_spent = credits_spent + $3,
                updated_at = $4 WHERE id = $5",
        R::TABLE
    );
    let update = sqlx::query(&sql)
        .bind(users)
        .bind(edition)
        .bind(credits)
        .bind(at)
        .bind(id);
    rows.change(tx, id, |r| r.upgrade(users, edition, credits, at), update)
        .await
}

/// Both rows name the upgraded columns alike.
macro_rules! upgradable {
    ($($row:ty),*) => {$(
        impl Upgradable for $row {
            fn upgrade(&mut self, users: i64, edition: &str, credits: i64, at: &str) {
                self.users = users;
                self.edition = edition.to_string();
                self.credits_spent += credits;
                self.updated_at = at.to_string();
            }
        }
    )*};
}

upgradable!(LicenseRow, SupportRow);

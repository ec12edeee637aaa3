//! Throughput through the GraphQL API with every client busy at once, and
//! its baseline: plain single-row INSERTs on the same database.

use crate::BenchArgs;
use crate::measure::{Rate, throughput};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use testkit::Graphql;
use testkit::graphql::string_at;

const GRANT: &str = "mutation($p: ID!, $r: String!) { grantCredits(partnerId: $p, amount: 10000, reference: $r) { id } }";
/// The bench's partners' password.
pub const PARTNER_PASSWORD: &str = "load-test-pass-1";
const ACTIVATE: &str = "mutation($k: String!, $f: String!) { activateKey(key: $k, deviceFingerprint: $f) { signature } }";

/// The administrator and one partner per client, each signed in.
pub struct Api {
    pub client: Arc<Graphql>,
    pub admin: String,
    /// (id, token) of each client's partner.
    pub partners: Arc<Vec<(String, String)>>,
}

impl Api {
    pub async fn set_up(args: &BenchArgs, client: Graphql) -> Result<Api, String> {
        let admin = client.login("admin", crate::ADMIN_PASSWORD).await?;
        let mut partners = Vec::new();
        for i in 0..args.clients {
            let login = format!("bench{i}");
            let id = client
                .create_partner(&admin, &login, &format!("Bench {i}"), PARTNER_PASSWORD)
                .await?;
            let token = client.login(&login, PARTNER_PASSWORD).await?;
            partners.push((id, token));
        }
        Ok(Api {
            client: Arc::new(client),
            admin,
            partners: Arc::new(partners),
        })
    }

    /// grantCredits, each client granting to its own partner.
    pub async fn grants(&self, args: &BenchArgs) -> Result<Rate, String> {
        let (c, p, a) = (
            self.client.clone(),
            self.partners.clone(),
            self.admin.clone(),
        );
        let grants = throughput(args.clients, args.seconds, move |i, n| {
            let (c, p, a) = (c.clone(), p.clone(), a.clone());
            async move {
                c.data(
                    Some(&a),
                    GRANT,
                    json!({ "p": p[i].0, "r": format!("bench-{i}-{n}") }),
                )
                .await
                .map(|_| ())
            }
        })
        .await?;
        println!("grantCredits through GraphQL:          {grants}");
        Ok(grants)
    }

    /// assignLicense, each client on its own partner's key.
    pub async fn assign_licenses(&self, args: &BenchArgs) -> Result<Rate, String> {
        let mut keys = Vec::new();
        for (_, token) in self.partners.iter() {
            keys.push(self.client.create_key(token, "bench").await?);
        }
        let keys = Arc::new(keys);
        let (c, p) = (self.client.clone(), self.partners.clone());
        let licenses = throughput(args.clients, args.seconds, move |i, _| {
            let (c, p, k) = (c.clone(), p.clone(), keys.clone());
            async move {
                c.data(
                    Some(&p[i].1),
                    "mutation($k: ID!) { assignLicense(input: { activationKeyId: $k, product: \"TWO_FACTOR\", edition: \"STANDARD\", users: 1, kind: PERMANENT }) { id } }",
                    json!({ "k": k[i] }),
                )
                .await
                .map(|_| ())
            }
        })
        .await?;
        println!("assignLicense through GraphQL:         {licenses}");
        Ok(licenses)
    }

    /// activateKey: the first activation of a key (an event), then the same
    /// device asking again (a fresh signed file). Enough keys that the
    /// second phase, spread over them, stays under each key's limit of 60
    /// requests a minute however long the phase runs.
    pub async fn activations(&self, args: &BenchArgs) -> Result<(), String> {
        let per_client = (args.seconds as usize * 40).max(50);
        let keys = Arc::new(self.fresh_keys(per_client).await?);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (i, mine) in keys.iter().cloned().enumerate() {
            let c = self.client.clone();
            tasks.push(tokio::spawn(async move {
                for key in mine {
                    c.data(
                        None,
                        ACTIVATE,
                        json!({ "k": key, "f": format!("bench-device-{i}") }),
                    )
                    .await?;
                }
                Ok::<(), String>(())
            }));
        }
        for t in tasks {
            t.await.map_err(|e| e.to_string())??;
        }
        let first = (args.clients * per_client) as f64 / started.elapsed().as_secs_f64();
        println!("activateKey, first activation:         {first:>10.0} /s");
        // Round-robin over the activated keys: each key's own limit (60 a
        // minute) is not what is measured here.
        let c = self.client.clone();
        let again = throughput(args.clients, args.seconds, move |i, n| {
            let (c, k) = (c.clone(), keys.clone());
            async move {
                c.data(
                    None,
                    ACTIVATE,
                    json!({ "k": k[i][n as usize % k[i].len()], "f": format!("bench-device-{i}") }),
                )
                .await
                .map(|_| ())
            }
        })
        .await?;
        println!("activateKey, same device again:        {again}");
        Ok(())
    }

    /// `per_client` new activation keys (their codes) for each partner.
    async fn fresh_keys(&self, per_client: usize) -> Result<Vec<Vec<String>>, String> {
        let mut fresh = Vec::new();
        for (i, (_, token)) in self.partners.iter().enumerate() {
            let mut mine = Vec::new();
            for n in 0..per_client {
                let d = self
                    .client
                    .data(
                        Some(token),
                        "mutation($n: String!) { createActivationKey(name: $n) { key } }",
                        json!({ "n": format!("device {i}-{n}") }),
                    )
                    .await?;
                mine.push(string_at(&d, &["createActivationKey", "key"])?);
            }
            fresh.push(mine);
        }
        Ok(fresh)
    }
}

/// The baseline: single-row INSERTs into a scratch table of the same
/// database, as many clients at once; each command's rate is printed as a
/// share of it (a share is what compares across machines).
pub async fn inserts_baseline(
    args: &BenchArgs,
    db: &projections::Db,
    commands: &[(&str, &Rate)],
) -> Result<(), String> {
    sqlx::query("CREATE TABLE bench_inserts (id TEXT PRIMARY KEY, amount BIGINT NOT NULL)")
        .execute(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    let pool = db.pool.clone();
    let inserts = throughput(args.clients, args.seconds, move |i, n| {
        let pool = pool.clone();
        async move {
            sqlx::query("INSERT INTO bench_inserts (id, amount) VALUES ($1, $2)")
                .bind(format!("{i}-{n}"))
                .bind(1i64)
                .execute(&pool)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    })
    .await?;
    sqlx::query("DROP TABLE bench_inserts")
        .execute(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    println!("baseline: single-row INSERT:           {inserts}");
    for (name, rate) in commands {
        println!(
            "  {name}: {:.1} % of the INSERT rate",
            100.0 * rate.per_second / inserts.per_second
        );
    }
    Ok(())
}

//! `verify`: replays the whole log and checks the ledger's invariants.

use aggregates::{CreditReason, LedgerEvent};
use projections::Db;
use projections::log::{self, LogPosition};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Default)]
pub struct Summary {
    pub accounts: usize,
    pub events: usize,
    pub granted: i64,
    pub balance: i64,
    pub spent: i64,
    pub refunded: i64,
    pub transfers: usize,
    pub transfers_in_flight: usize,
    pub credits_in_flight: i64,
    /// Resellers registered after the process manager's checkpoint, whose
    /// partner's record it has still to write.
    pub resellers_pending: usize,
    /// Logins reserved (credentials) for an account the log does not have
    /// yet: the next start completes or releases them.
    pub logins_pending: usize,
    /// Activation key texts reserved for a key the log does not have: a
    /// creation under way, or one a crash stopped, which its retry (or,
    /// later, anyone) takes over.
    pub keys_reserved_unused: usize,
}

#[derive(Default)]
struct Transfer {
    out: Vec<i64>,
    r#in: Vec<i64>,
    /// The partner that gave, and the reseller it named.
    from: String,
    to: String,
    /// Each credit's (reseller credited, partner it says it came from).
    credited: Vec<(String, String)>,
}

/// How many events one read of the log brings.
const BATCH: i64 = 5_000;

/// Hands every event of the log, from the start and in order, to `each`,
/// `BATCH` at a time as `read` brings them; stops at the first error.
/// Returns the position of the last event read.
async fn each_event<T, E: std::fmt::Display>(
    mut read: impl AsyncFnMut(LogPosition) -> Result<Vec<T>, E>,
    at_log: impl Fn(&T) -> LogPosition,
    mut each: impl FnMut(&T) -> Result<(), String>,
) -> Result<LogPosition, String> {
    let mut at = LogPosition::default();
    loop {
        let batch = read(at).await.map_err(|e| e.to_string())?;
        let Some(last) = batch.last() else {
            return Ok(at);
        };
        at = at_log(last);
        batch.iter().try_for_each(&mut each)?;
    }
}

/// Returns the summary when every invariant holds, or the first violation.
pub async fn verify(db: &Db) -> Result<Summary, String> {
    // First, as an edit can also break the invariants below: the chain names
    // where the log was changed, which says more than its consequence.
    check_chain(db).await?;
    let mut s = Summary::default();
    let mut balances: BTreeMap<String, i64> = BTreeMap::new();
    let mut transfers: HashMap<String, Transfer> = HashMap::new();
    // Reseller → (its partner, where it registered); partner's records.
    let mut registered: HashMap<String, (String, LogPosition)> = HashMap::new();
    let mut recorded: HashMap<String, Vec<String>> = HashMap::new();
    let mut keys: HashSet<String> = HashSet::new();
    let end = each_event(
        |at| log::read_after(db, at, BATCH),
        |e| e.at_log,
        |e| {
            s.events += 1;
            if let LedgerEvent::ActivationKeyCreated { key_id, .. } = &e.event {
                keys.insert(key_id.clone());
            }
            if matches!(
                e.event,
                LedgerEvent::AdminRegistered { .. }
                    | LedgerEvent::AuditorRegistered { .. }
                    | LedgerEvent::PartnerRegistered { .. }
                    | LedgerEvent::ResellerRegistered { .. }
            ) {
                s.accounts += 1;
                balances.entry(e.aggregate_id.clone()).or_insert(0);
            }
            if let Some(m) = e.event.credit_movement() {
                let balance = balances.entry(e.aggregate_id.clone()).or_insert(0);
                *balance += m.amount;
                if *balance < 0 {
                    return Err(format!(
                        "account {} goes below zero ({}) at event {} ({} #{})",
                        e.aggregate_id,
                        balance,
                        e.position(),
                        e.aggregate_type,
                        e.sequence
                    ));
                }
                match m.reason {
                    CreditReason::Grant => s.granted += m.amount,
                    CreditReason::LicenseRefund => s.refunded += m.amount,
                    CreditReason::TransferOut | CreditReason::TransferIn => {}
                    _ => s.spent -= m.amount,
                }
            }
            match &e.event {
                LedgerEvent::CreditsTransferredOut {
                    transfer_id,
                    amount,
                    reseller_id,
                    ..
                } => {
                    let t = transfers.entry(transfer_id.clone()).or_default();
                    t.out.push(*amount);
                    t.from = e.aggregate_id.clone();
                    t.to = reseller_id.clone();
                }
                LedgerEvent::CreditsTransferredIn {
                    transfer_id,
                    partner_id,
                    amount,
                } => {
                    let t = transfers.entry(transfer_id.clone()).or_default();
                    t.r#in.push(*amount);
                    t.credited
                        .push((e.aggregate_id.clone(), partner_id.clone()));
                }
                LedgerEvent::ResellerRegistered { partner_id, .. } => {
                    registered.insert(e.aggregate_id.clone(), (partner_id.clone(), e.at_log));
                }
                LedgerEvent::ResellerAdded { reseller_id } => {
                    recorded
                        .entry(reseller_id.clone())
                        .or_default()
                        .push(e.aggregate_id.clone());
                }
                _ => {}
            }
            Ok(())
        },
    )
    .await?;
    check_transfers(&transfers, &mut s)?;
    s.transfers = transfers.len();
    s.resellers_pending = check_registrations(db, &registered, &recorded).await?;
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM credentials c
          WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.aggregate_id = c.account_id)",
    )
    .fetch_one(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    s.logins_pending = usize::try_from(pending).unwrap_or_default();
    let reserved: Vec<String> = sqlx::query_scalar("SELECT key_id FROM key_reservations")
        .fetch_all(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    s.keys_reserved_unused = reserved.iter().filter(|id| !keys.contains(*id)).count();
    s.balance = balances.values().sum();
    let expected = s.granted - s.spent + s.refunded - s.credits_in_flight;
    if s.balance != expected {
        return Err(format!(
            "credits were created or destroyed: balances sum to {} but grants − spends + refunds − in flight = {expected}",
            s.balance
        ));
    }
    check_views(db, &balances, end).await?;
    Ok(s)
}

/// Every transfer debits its partner once and credits, with the same amount,
/// the reseller the partner named; one not yet credited is in flight and
/// counted in `s`.
fn check_transfers(transfers: &HashMap<String, Transfer>, s: &mut Summary) -> Result<(), String> {
    for (id, t) in transfers {
        match (t.out.as_slice(), t.r#in.as_slice()) {
            ([out], [inn]) if out == inn => {
                // Balanced amounts are not enough: the credit must reach the
                // reseller the partner named, from that partner.
                if let Some((reseller, partner)) = t.credited.first()
                    && (reseller != &t.to || partner != &t.from)
                {
                    return Err(format!(
                        "transfer {id} from {} to {} credited {reseller} (as from {partner})",
                        t.from, t.to
                    ));
                }
            }
            ([out], []) => {
                s.transfers_in_flight += 1;
                s.credits_in_flight += out;
            }
            ([], _) => {
                return Err(format!(
                    "transfer {id} credited a reseller with no partner debit"
                ));
            }
            (outs, ins) => {
                return Err(format!(
                    "transfer {id} to {} is unbalanced: debits {outs:?}, credits {ins:?}",
                    t.to
                ));
            }
        }
    }
    Ok(())
}

/// Every reseller's registration has its partner's record, once, on the
/// partner it names. One the process manager has not reached yet (after its
/// checkpoint) is pending, not a violation: the process will write it. Returns
/// how many are pending.
async fn check_registrations(
    db: &Db,
    registered: &HashMap<String, (String, LogPosition)>,
    recorded: &HashMap<String, Vec<String>>,
) -> Result<usize, String> {
    let checkpoint = projections::projector::load_checkpoint(db, crate::transfers::CONSUMER)
        .await
        .map_err(|e| e.to_string())?;
    let mut pending = 0;
    for (reseller, (partner, at)) in registered {
        match recorded.get(reseller).map(Vec::as_slice) {
            Some([p]) if p == partner => {}
            None | Some([]) if *at > checkpoint => pending += 1,
            None | Some([]) => {
                return Err(format!(
                    "reseller {reseller} is registered under partner {partner}, which does not list it"
                ));
            }
            Some(partners) => {
                return Err(format!(
                    "reseller {reseller} of partner {partner} is listed by {partners:?}"
                ));
            }
        }
    }
    if let Some(reseller) = recorded.keys().find(|r| !registered.contains_key(*r)) {
        return Err(format!(
            "a partner lists reseller {reseller}, which was never registered"
        ));
    }
    Ok(pending)
}

/// When the views are up to date, each account's balance there must equal
/// the one replayed here.
async fn check_views(
    db: &Db,
    balances: &BTreeMap<String, i64>,
    end: LogPosition,
) -> Result<(), String> {
    let checkpoint = projections::projector::load_checkpoint(db, "views")
        .await
        .map_err(|e| e.to_string())?;
    if checkpoint != end {
        return Ok(());
    }
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT id, balance FROM accounts")
        .fetch_all(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    for (id, balance) in rows {
        let replayed = balances.get(&id).copied().unwrap_or(0);
        if balance != replayed {
            return Err(format!(
                "the view shows account {id} with {balance} credits; the log says {replayed}"
            ));
        }
    }
    Ok(())
}

/// `verify --views`: every view rebuilt from the log (up to the views'
/// checkpoint, in a transaction rolled back after) and compared with the
/// live table, row by row. `Ok` holds the row counts; `Err` the report of
/// the tables that differ, with a few of the differing rows.
pub async fn verify_views(db: &Db) -> Result<String, String> {
    let tables = projections::projector::compare_with_replay(db)
        .await
        .map_err(|e| format!("  the replay failed: {e}\n"))?;
    let mut summary = String::new();
    let mut report = String::new();
    for t in &tables {
        summary.push_str(&format!("  {:<22} {} rows\n", t.table, t.live_rows));
        if t.equal() {
            continue;
        }
        report.push_str(&format!(
            "  {}: {} rows live, {} replayed; {} only live, {} only replayed\n",
            t.table,
            t.live_rows,
            t.replayed_rows,
            t.only_live.len(),
            t.only_replayed.len()
        ));
        for row in t.only_live.iter().take(3) {
            report.push_str(&format!("    live only:     {row}\n"));
        }
        for row in t.only_replayed.iter().take(3) {
            report.push_str(&format!("    replayed only: {row}\n"));
        }
    }
    if report.is_empty() {
        Ok(summary)
    } else {
        Err(report)
    }
}

/// Recomputes the hash chain from the raw rows and compares it with the
/// hashes stored as the events were chained: the first position that differs
/// is where a stored event was edited, removed or inserted.
pub async fn check_chain(db: &Db) -> Result<usize, String> {
    let stored = projections::chain::stored(db)
        .await
        .map_err(|e| e.to_string())?;
    let mut prev = projections::chain::GENESIS;
    let mut checked = 0;
    each_event(
        |at| log::read_raw_after(db, at, BATCH),
        |e| e.at_log,
        |e| {
            prev = projections::chain::link(&prev, e);
            // Events the chain has not reached yet have no stored hash.
            let Some(kept) = stored.get(&e.at_log.position) else {
                return Ok(());
            };
            if *kept != projections::chain::to_hex(&prev) {
                return Err(format!(
                    "the hash chain breaks at position {}: the stored events there ({} #{}) \
                     are not the ones that were chained",
                    e.at_log.position, e.aggregate_id, e.sequence
                ));
            }
            checked += 1;
            Ok(())
        },
    )
    .await?;
    Ok(checked)
}

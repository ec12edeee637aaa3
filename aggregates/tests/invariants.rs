//! The ledger's invariants under random command sequences, driven through the
//! pure `Ledger::decide` + `Ledger::apply`:
//!
//! - a balance never goes below zero;
//! - the balance is the sum of the credit movements of the account's events,
//!   and equals grants + transfers in + refunds − spends − transfers out,
//!   counted here from the events themselves;
//! - a refund is exactly what the license cost, upgrades included;
//! - a retry with the same idempotency key produces nothing;
//! - a refusal for lack of credits reports the real balance;
//! - across a partner and its reseller, with a process manager that may deliver
//!   late or twice, Σ balances + credits in flight = Σ grants − Σ net spends.

mod common;

use aggregates::events::CreditReason;
use aggregates::{
    Catalog, DomainError, Idempotency, Ledger, LedgerCommand, LedgerEvent, LicenseKind, Role,
};
use chrono::{Days, NaiveDate};
use common::{
    PARTNER_ID, RA, RESELLER_ID, at, catalog, granted, key, partner_registered, reseller_added,
    reseller_registered,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::HashMap;

// ---------------------------------------------------------------------------
// Random requests of a partner
// ---------------------------------------------------------------------------

/// One request, with indices that the run resolves against what exists.
#[derive(Debug, Clone)]
enum Step {
    Grant {
        amount: i64,
        reference: u8,
        idem: Option<(u8, u8)>,
    },
    CreateKey {
        key: u8,
    },
    Assign {
        key: u8,
        product: usize,
        edition: usize,
        users: i64,
        trial_days: Option<i64>,
        idem: Option<(u8, u8)>,
    },
    Upgrade {
        license: usize,
        /// Users to add (negative: to remove).
        more_users: Option<i64>,
        edition: Option<usize>,
        idem: Option<(u8, u8)>,
    },
    Edit {
        license: usize,
    },
    Delete {
        license: usize,
        idem: Option<(u8, u8)>,
    },
    AssignSupport {
        key: u8,
        product: usize,
        edition: usize,
        users: i64,
        months: i64,
        starts_in: Option<i64>,
        idem: Option<(u8, u8)>,
    },
    UpgradeSupport {
        support: usize,
        /// Users to add (negative: to remove).
        more_users: Option<i64>,
        edition: Option<usize>,
        idem: Option<(u8, u8)>,
    },
    Extend {
        support: usize,
        months: i64,
        idem: Option<(u8, u8)>,
    },
    Subscribe {
        key: u8,
        product: usize,
        channels: i64,
        months: i64,
        idem: Option<(u8, u8)>,
    },
    Transfer {
        amount: i64,
        known_reseller: bool,
        idem: Option<(u8, u8)>,
    },
    Activate {
        key: u8,
        device: u8,
    },
    Deactivate {
        key: u8,
        device: u8,
    },
    PassDays(u64),
}

fn idem_strategy() -> impl Strategy<Value = Option<(u8, u8)>> {
    proptest::option::weighted(0.3, (0u8..4, 0u8..2))
}

fn months_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![
        9 => prop::sample::select(vec![1i64, 3, 6, 12, 24, 36]),
        1 => prop::sample::select(vec![-1i64, 0, 2, 37]),
    ]
}

fn users_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![18 => 1i64..=30, 1 => -1i64..=0, 1 => Just(10_001i64)]
}

/// Mostly a product that is licensed; now and then Remote Support (sold only
/// as a subscription) or a code the catalog lacks.
fn product_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![16 => 0usize..4, 2 => Just(4usize), 1 => Just(5usize)]
}

/// Mostly one of the product's editions; now and then one it lacks.
fn edition_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![19 => 0usize..3, 1 => Just(NO_EDITION)]
}

/// The keys the partner may name: "k0".."k2" exist from the start, "k3" may be
/// created, "k4" never is.
fn key_strategy() -> impl Strategy<Value = u8> {
    prop_oneof![16 => 0u8..3, 2 => Just(3u8), 1 => Just(4u8)]
}

const NO_EDITION: usize = usize::MAX;

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (prop_oneof![4 => 1i64..=1500, 1 => -5i64..=0, 1 => Just(10_000_001i64)], 0u8..6, idem_strategy())
            .prop_map(|(amount, reference, idem)| Step::Grant { amount, reference, idem }),
        1 => (0u8..5).prop_map(|key| Step::CreateKey { key }),
        6 => (
            key_strategy(),
            product_strategy(),
            edition_strategy(),
            users_strategy(),
            proptest::option::weighted(0.3, -1i64..=95),
            idem_strategy(),
        )
            .prop_map(|(key, product, edition, users, trial_days, idem)| Step::Assign {
                key,
                product,
                edition,
                users,
                trial_days,
                idem,
            }),
        5 => (
            any::<usize>(),
            proptest::option::of(-2i64..=20),
            proptest::option::of(edition_strategy()),
            idem_strategy(),
        )
            .prop_map(|(license, more_users, edition, idem)| Step::Upgrade {
                license,
                more_users,
                edition,
                idem,
            }),
        1 => any::<usize>().prop_map(|license| Step::Edit { license }),
        3 => (any::<usize>(), idem_strategy()).prop_map(|(license, idem)| Step::Delete { license, idem }),
        4 => (
            key_strategy(),
            product_strategy(),
            edition_strategy(),
            users_strategy(),
            months_strategy(),
            proptest::option::of(-3i64..=60),
            idem_strategy(),
        )
            .prop_map(|(key, product, edition, users, months, starts_in, idem)| {
                Step::AssignSupport { key, product, edition, users, months, starts_in, idem }
            }),
        4 => (
            any::<usize>(),
            proptest::option::of(-2i64..=20),
            proptest::option::of(edition_strategy()),
            idem_strategy(),
        )
            .prop_map(|(support, more_users, edition, idem)| Step::UpgradeSupport {
                support,
                more_users,
                edition,
                idem,
            }),
        3 => (any::<usize>(), months_strategy(), idem_strategy())
            .prop_map(|(support, months, idem)| Step::Extend { support, months, idem }),
        3 => (key_strategy(), prop_oneof![6 => Just(4usize), 1 => 0usize..6], -1i64..=40, months_strategy(), idem_strategy())
            .prop_map(|(key, product, channels, months, idem)| Step::Subscribe {
                key,
                product,
                channels,
                months,
                idem,
            }),
        2 => (-5i64..=800, proptest::bool::weighted(0.9), idem_strategy())
            .prop_map(|(amount, known_reseller, idem)| Step::Transfer { amount, known_reseller, idem }),
        2 => (key_strategy(), 0u8..2).prop_map(|(key, device)| Step::Activate { key, device }),
        2 => (key_strategy(), 0u8..2).prop_map(|(key, device)| Step::Deactivate { key, device }),
        2 => (0u64..400).prop_map(Step::PassDays),
    ]
}

/// A partner's stream as it grows, with what the test knows independently of
/// the aggregate.
struct Run {
    role: Role,
    catalog: Catalog,
    ledger: Ledger,
    log: Vec<LedgerEvent>,
    today: NaiveDate,
    /// Ids of licenses and supports created so far, in order.
    licenses: Vec<String>,
    supports: Vec<String>,
    /// Credits charged on each license (assignment and upgrades).
    charged: HashMap<String, i64>,
    next_id: usize,
}

impl Run {
    fn new(role: Role, history: Vec<LedgerEvent>) -> Self {
        let mut run = Run {
            role,
            catalog: catalog(),
            ledger: Ledger::default(),
            log: Vec::new(),
            today: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            licenses: Vec::new(),
            supports: Vec::new(),
            charged: HashMap::new(),
            next_id: 0,
        };
        for event in history {
            run.record(event);
        }
        run
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    fn product(&self, index: usize) -> String {
        self.catalog
            .products
            .get(index)
            .map_or_else(|| "NOPE".to_string(), |p| p.code.clone())
    }

    /// The product's edition number `index` (wrapping), or one it lacks.
    fn edition(&self, product: &str, index: usize) -> String {
        match self.catalog.product(product) {
            Some(p) if index != NO_EDITION => p.editions[index % p.editions.len()].code.clone(),
            _ => "NOPE".to_string(),
        }
    }

    fn pick(ids: &[String], index: usize) -> String {
        if ids.is_empty() {
            "missing".to_string()
        } else {
            ids[index % ids.len()].clone()
        }
    }

    /// The edition `index` of `product` (a license's or support's), if asked.
    fn edition_of(&self, product: Option<&str>, index: Option<usize>) -> Option<String> {
        let index = index?;
        Some(product.map_or_else(|| "NOPE".to_string(), |p| self.edition(p, index)))
    }

    // One arm per kind of generated step, each a few lines turning it into
    // its command: one match, so that a new command is one more arm here.
    fn command(&mut self, step: &Step) -> Option<LedgerCommand> {
        let idem = |i: &Option<(u8, u8)>| {
            i.map(|(key, fingerprint)| Idempotency {
                key: format!("idem-{key}"),
                fingerprint: format!("fp-{fingerprint}"),
                sender: None,
            })
        };
        let today = self.today;
        Some(match step {
            Step::Grant {
                amount,
                reference,
                idem: i,
            } => LedgerCommand::GrantCredits {
                amount: *amount,
                reference: format!("invoice-{reference}"),
                idempotency: idem(i),
            },
            Step::CreateKey { key } => LedgerCommand::CreateActivationKey {
                key_id: format!("k{key}"),
                name: format!("Key {key}"),
                key: format!("ABCD-1234-EFGH-000{key}"),
            },
            Step::Assign {
                key,
                product,
                edition,
                users,
                trial_days,
                idem: i,
            } => {
                let product = self.product(*product);
                let edition = self.edition(&product, *edition);
                LedgerCommand::AssignLicense {
                    license_id: self.fresh("l"),
                    key_id: format!("k{key}"),
                    product,
                    edition,
                    users: *users,
                    kind: if trial_days.is_some() {
                        LicenseKind::Trial
                    } else {
                        LicenseKind::Permanent
                    },
                    trial_days: *trial_days,
                    email: None,
                    comment: None,
                    now: at(today),
                    idempotency: idem(i),
                }
            }
            Step::Upgrade {
                license,
                more_users,
                edition,
                idem: i,
            } => {
                let license_id = Self::pick(&self.licenses, *license);
                let current = self.ledger.licenses.get(&license_id);
                let product = current.map(|l| l.product.clone());
                let users = more_users.map(|more| current.map_or(0, |l| l.users) + more);
                LedgerCommand::UpgradeLicense {
                    edition: self.edition_of(product.as_deref(), *edition),
                    license_id,
                    users,
                    idempotency: idem(i),
                }
            }
            Step::Edit { license } => LedgerCommand::EditLicense {
                license_id: Self::pick(&self.licenses, *license),
                email: Some("it@customer.example".into()),
                comment: Some("edited".into()),
            },
            Step::Delete { license, idem: i } => LedgerCommand::DeleteLicense {
                license_id: Self::pick(&self.licenses, *license),
                now: at(today),
                idempotency: idem(i),
            },
            Step::AssignSupport {
                key,
                product,
                edition,
                users,
                months,
                starts_in,
                idem: i,
            } => {
                let product = self.product(*product);
                let edition = self.edition(&product, *edition);
                let starts_on = starts_in.map(|d| {
                    if d >= 0 {
                        today + Days::new(d.unsigned_abs())
                    } else {
                        today - Days::new(d.unsigned_abs())
                    }
                });
                LedgerCommand::AssignSupport {
                    support_id: self.fresh("s"),
                    key_id: format!("k{key}"),
                    product,
                    edition,
                    users: *users,
                    months: *months,
                    starts_on,
                    today,
                    idempotency: idem(i),
                }
            }
            Step::UpgradeSupport {
                support,
                more_users,
                edition,
                idem: i,
            } => {
                let support_id = Self::pick(&self.supports, *support);
                let current = self.ledger.supports.get(&support_id);
                let product = current.map(|s| s.product.clone());
                let users = more_users.map(|more| current.map_or(0, |s| s.users) + more);
                LedgerCommand::UpgradeSupport {
                    edition: self.edition_of(product.as_deref(), *edition),
                    support_id,
                    users,
                    today,
                    idempotency: idem(i),
                }
            }
            Step::Extend {
                support,
                months,
                idem: i,
            } => LedgerCommand::ExtendSupport {
                support_id: Self::pick(&self.supports, *support),
                months: *months,
                today,
                idempotency: idem(i),
            },
            Step::Subscribe {
                key,
                product,
                channels,
                months,
                idem: i,
            } => LedgerCommand::CreateSubscription {
                subscription_id: self.fresh("sub"),
                key_id: format!("k{key}"),
                software: self.product(*product),
                channels: *channels,
                months: *months,
                email: None,
                comment: None,
                today,
                idempotency: idem(i),
            },
            Step::Transfer {
                amount,
                known_reseller,
                idem: i,
            } => LedgerCommand::TransferOut {
                transfer_id: self.fresh("t"),
                reseller_id: if *known_reseller {
                    RESELLER_ID.into()
                } else {
                    "stranger".into()
                },
                amount: *amount,
                idempotency: idem(i),
            },
            Step::Activate { key, device } => LedgerCommand::ActivateKey {
                key_id: format!("k{key}"),
                fingerprint: format!("device-{device}"),
                device_name: None,
            },
            Step::Deactivate { key, device } => LedgerCommand::DeactivateKey {
                key_id: format!("k{key}"),
                fingerprint: format!("device-{device}"),
                now: at(today),
            },
            Step::PassDays(days) => {
                self.today = self.today + Days::new(*days);
                return None;
            }
        })
    }

    fn record(&mut self, event: LedgerEvent) {
        match &event {
            LedgerEvent::LicenseAssigned {
                license_id,
                credits,
                ..
            } => {
                self.licenses.push(license_id.clone());
                self.charged.insert(license_id.clone(), *credits);
            }
            LedgerEvent::LicenseUpgraded {
                license_id,
                credits,
                ..
            } => {
                *self.charged.entry(license_id.clone()).or_default() += credits;
            }
            LedgerEvent::SupportAssigned { support_id, .. } => {
                self.supports.push(support_id.clone())
            }
            _ => {}
        }
        self.ledger.apply(&event);
        self.log.push(event);
    }

    /// Decides `command`, applies what it produces and checks the invariants.
    fn execute(&mut self, command: LedgerCommand) -> Result<(), TestCaseError> {
        match self.ledger.decide(self.role, &command, &self.catalog) {
            Ok(events) => {
                prop_assert!(
                    events.len() <= 1,
                    "one command, at most one event: {events:?}"
                );
                for event in events.iter().cloned() {
                    self.check_event(&event)?;
                    self.record(event);
                }
                self.check_balance()?;
                if !events.is_empty() && command.idempotency().is_some() {
                    let retry = self.ledger.decide(self.role, &command, &self.catalog);
                    prop_assert_eq!(retry, Ok(vec![]), "a retry of {:?}", command);
                }
            }
            Err(DomainError::InsufficientCredits { required, balance }) => {
                prop_assert_eq!(balance, self.ledger.balance);
                prop_assert!(
                    required > balance,
                    "refused {} with {} available",
                    required,
                    balance
                );
            }
            Err(_) => {}
        }
        Ok(())
    }

    /// What a single event may do, before it is applied.
    fn check_event(&self, event: &LedgerEvent) -> Result<(), TestCaseError> {
        match event {
            LedgerEvent::LicenseAssigned { credits, kind, .. } => {
                prop_assert!(*credits >= 0);
                if *kind == LicenseKind::Trial {
                    prop_assert_eq!(*credits, 0, "a trial is free");
                }
            }
            LedgerEvent::LicenseUpgraded { credits, .. }
            | LedgerEvent::SupportAssigned { credits, .. }
            | LedgerEvent::SupportUpgraded { credits, .. }
            | LedgerEvent::SupportExtended { credits, .. }
            | LedgerEvent::SubscriptionCreated { credits, .. } => prop_assert!(*credits >= 0),
            LedgerEvent::CreditsGranted { amount, .. }
            | LedgerEvent::CreditsTransferredOut { amount, .. } => {
                prop_assert!(*amount > 0)
            }
            LedgerEvent::LicenseDeleted {
                license_id, refund, ..
            } => {
                prop_assert_eq!(
                    Some(refund),
                    self.charged.get(license_id),
                    "the refund of {} is what it cost",
                    license_id
                );
                prop_assert!(
                    !self
                        .log
                        .iter()
                        .any(|e| matches!(e, LedgerEvent::LicenseDeleted { license_id: l, .. } if l == license_id)),
                    "{} refunded twice",
                    license_id
                );
            }
            _ => {}
        }
        if let LedgerEvent::SupportAssigned {
            starts_on,
            end_of_support,
            ..
        } = event
        {
            prop_assert!(starts_on <= end_of_support);
            prop_assert!(*starts_on >= self.today, "support never starts in the past");
        }
        if let LedgerEvent::SupportExtended {
            period_starts_on,
            end_of_support,
            support_id,
            ..
        } = event
        {
            let old_end = self.ledger.supports[support_id].end_of_support;
            prop_assert!(
                *period_starts_on > old_end,
                "an extension starts after the old end"
            );
            prop_assert!(
                *period_starts_on >= self.today,
                "an extension never starts in the past"
            );
            prop_assert!(period_starts_on <= end_of_support);
        }
        Ok(())
    }

    fn check_balance(&self) -> Result<(), TestCaseError> {
        let balance = self.ledger.balance;
        prop_assert!(balance >= 0, "balance {}", balance);
        let movements: i64 = self
            .log
            .iter()
            .filter_map(LedgerEvent::credit_movement)
            .map(|m| m.amount)
            .sum();
        prop_assert_eq!(balance, movements, "balance = Σ credit movements");
        prop_assert_eq!(
            balance,
            grants_minus_net_spends(&self.log),
            "balance = grants − net spends"
        );
        // Every movement has the sign its reason implies.
        for m in self.log.iter().filter_map(LedgerEvent::credit_movement) {
            let incoming = matches!(
                m.reason,
                CreditReason::Grant | CreditReason::TransferIn | CreditReason::LicenseRefund
            );
            prop_assert_eq!(incoming, m.amount > 0, "{:?}", m);
        }
        Ok(())
    }
}

/// grants + transfers in + refunds − spends − transfers out, read from the
/// events' own fields (not through `credit_movement`).
fn grants_minus_net_spends(log: &[LedgerEvent]) -> i64 {
    log.iter()
        .map(|event| match event {
            LedgerEvent::CreditsGranted { amount, .. } => *amount,
            LedgerEvent::CreditsTransferredIn { amount, .. } => *amount,
            LedgerEvent::LicenseDeleted { refund, .. } => *refund,
            LedgerEvent::CreditsTransferredOut { amount, .. } => -amount,
            LedgerEvent::LicenseAssigned { credits, .. }
            | LedgerEvent::LicenseUpgraded { credits, .. }
            | LedgerEvent::SupportAssigned { credits, .. }
            | LedgerEvent::SupportUpgraded { credits, .. }
            | LedgerEvent::SupportExtended { credits, .. }
            | LedgerEvent::SubscriptionCreated { credits, .. } => -credits,
            _ => 0,
        })
        .sum()
}

fn a_partner_with_a_reseller() -> Vec<LedgerEvent> {
    vec![
        partner_registered(),
        granted(300),
        reseller_added(RESELLER_ID),
        key("k0"),
        key("k1"),
        key("k2"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_partners_balance_is_its_ledger_and_never_negative(
        steps in prop::collection::vec(step_strategy(), 1..80)
    ) {
        let mut run = Run::new(Role::Partner, a_partner_with_a_reseller());
        for step in &steps {
            if let Some(command) = run.command(step) {
                run.execute(command)?;
            }
        }
        // The state survives a snapshot.
        let snapshot = serde_json::to_string(&run.ledger).unwrap();
        let restored: Ledger = serde_json::from_str(&snapshot).unwrap();
        prop_assert_eq!(&restored, &run.ledger);
        // Replaying the log gives the same state.
        let mut replayed = Ledger::default();
        for event in &run.log {
            replayed.apply(event);
        }
        prop_assert_eq!(&replayed, &run.ledger);
        // A license's state knows what it cost net of refunds.
        for (id, license) in &run.ledger.licenses {
            let net = if license.deleted { 0 } else { run.charged[id] };
            prop_assert_eq!(license.credits_spent, net, "license {}", id);
        }
    }

    #[test]
    fn a_resellers_balance_is_its_ledger_and_never_negative(
        steps in prop::collection::vec(step_strategy(), 1..60),
        transfers in prop::collection::vec(1i64..=400, 0..5),
    ) {
        let mut history = vec![
            reseller_registered(&[RA, "TWO_FACTOR", "REMOTE_SUPPORT"]),
            key("k0"),
            key("k1"),
            key("k2"),
        ];
        for (i, amount) in transfers.iter().enumerate() {
            history.push(LedgerEvent::CreditsTransferredIn {
                transfer_id: format!("in-{i}"),
                partner_id: PARTNER_ID.into(),
                amount: *amount,
            });
        }
        let mut run = Run::new(Role::Reseller, history);
        for step in &steps {
            // Grants and transfers out are not a reseller's.
            if matches!(step, Step::Grant { .. } | Step::Transfer { .. }) {
                continue;
            }
            if let Some(command) = run.command(step) {
                run.execute(command)?;
            }
        }
        run.check_balance()?;
    }
}

// ---------------------------------------------------------------------------
// A partner, its reseller and the process manager between them
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Flow {
    Grant(i64),
    Give(i64),
    /// The process manager delivers the `n`-th transfer out (again, maybe).
    Deliver(usize),
    PartnerBuys(i64),
    ResellerBuys(i64),
    ResellerRefund(usize),
}

fn flow_strategy() -> impl Strategy<Value = Flow> {
    prop_oneof![
        2 => (1i64..=1000).prop_map(Flow::Grant),
        3 => (1i64..=600).prop_map(Flow::Give),
        3 => any::<usize>().prop_map(Flow::Deliver),
        2 => (1i64..=40).prop_map(Flow::PartnerBuys),
        3 => (1i64..=40).prop_map(Flow::ResellerBuys),
        1 => any::<usize>().prop_map(Flow::ResellerRefund),
    ]
}

struct Account {
    role: Role,
    ledger: Ledger,
    log: Vec<LedgerEvent>,
}

impl Account {
    fn new(role: Role, history: Vec<LedgerEvent>) -> Self {
        let mut ledger = Ledger::default();
        for event in &history {
            ledger.apply(event);
        }
        Account {
            role,
            ledger,
            log: history,
        }
    }

    fn execute(&mut self, catalog: &Catalog, command: &LedgerCommand) -> Vec<LedgerEvent> {
        match self.ledger.decide(self.role, command, catalog) {
            Ok(events) => {
                for event in &events {
                    self.ledger.apply(event);
                    self.log.push(event.clone());
                }
                events
            }
            Err(_) => vec![],
        }
    }
}

fn buy(license_id: String, users: i64) -> LedgerCommand {
    LedgerCommand::AssignLicense {
        license_id,
        key_id: "k0".into(),
        product: RA.into(),
        edition: "DESKTOP".into(),
        users,
        kind: LicenseKind::Permanent,
        trial_days: None,
        email: None,
        comment: None,
        now: at(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()),
        idempotency: None,
    }
}

fn transfers_out(log: &[LedgerEvent]) -> Vec<(String, i64)> {
    log.iter()
        .filter_map(|e| match e {
            LedgerEvent::CreditsTransferredOut {
                transfer_id,
                amount,
                ..
            } => Some((transfer_id.clone(), *amount)),
            _ => None,
        })
        .collect()
}

fn sum_of(log: &[LedgerEvent], pick: impl Fn(&LedgerEvent) -> Option<i64>) -> i64 {
    log.iter().filter_map(pick).sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn credits_between_a_partner_and_its_reseller_are_never_created_or_lost(
        flows in prop::collection::vec(flow_strategy(), 1..60)
    ) {
        let catalog = catalog();
        let mut partner = Account::new(Role::Partner, a_partner_with_a_reseller());
        let mut reseller = Account::new(Role::Reseller, vec![reseller_registered(&[RA]), key("k0")]);
        let mut ids = 0usize;
        let mut fresh = |prefix: &str| { ids += 1; format!("{prefix}{ids}") };
        let mut reseller_licenses: Vec<String> = Vec::new();

        let deliver = |reseller: &mut Account, partner: &Account, n: usize| {
            let out = transfers_out(&partner.log);
            if out.is_empty() {
                return;
            }
            let (transfer_id, amount) = out[n % out.len()].clone();
            reseller.execute(&catalog, &LedgerCommand::ReceiveTransfer {
                transfer_id,
                partner_id: PARTNER_ID.into(),
                amount,
            });
        };

        for flow in &flows {
            match flow {
                Flow::Grant(amount) => {
                    partner.execute(&catalog, &LedgerCommand::GrantCredits {
                        amount: *amount,
                        reference: fresh("invoice-"),
                        idempotency: None,
                    });
                }
                Flow::Give(amount) => {
                    partner.execute(&catalog, &LedgerCommand::TransferOut {
                        transfer_id: fresh("t"),
                        reseller_id: RESELLER_ID.into(),
                        amount: *amount,
                        idempotency: None,
                    });
                }
                Flow::Deliver(n) => deliver(&mut reseller, &partner, *n),
                Flow::PartnerBuys(users) => {
                    partner.execute(&catalog, &buy(fresh("pl"), *users));
                }
                Flow::ResellerBuys(users) => {
                    let id = fresh("rl");
                    if !reseller.execute(&catalog, &buy(id.clone(), *users)).is_empty() {
                        reseller_licenses.push(id);
                    }
                }
                Flow::ResellerRefund(n) => {
                    if !reseller_licenses.is_empty() {
                        let id = reseller_licenses[n % reseller_licenses.len()].clone();
                        reseller.execute(&catalog, &LedgerCommand::DeleteLicense { license_id: id, now: at(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()), idempotency: None });
                    }
                }
            }

            let out: i64 = transfers_out(&partner.log).iter().map(|(_, a)| a).sum();
            let arrived = sum_of(&reseller.log, |e| match e {
                LedgerEvent::CreditsTransferredIn { amount, .. } => Some(*amount),
                _ => None,
            });
            let in_flight = out - arrived;
            let grants = sum_of(&partner.log, |e| match e {
                LedgerEvent::CreditsGranted { amount, .. } => Some(*amount),
                _ => None,
            });
            let net_spends = |log: &[LedgerEvent]| sum_of(log, |e| match e {
                LedgerEvent::LicenseAssigned { credits, .. } => Some(*credits),
                LedgerEvent::LicenseDeleted { refund, .. } => Some(-refund),
                _ => None,
            });
            prop_assert!(partner.ledger.balance >= 0);
            prop_assert!(reseller.ledger.balance >= 0);
            prop_assert!(in_flight >= 0, "the reseller got more than was sent: {}", in_flight);
            prop_assert_eq!(
                partner.ledger.balance + reseller.ledger.balance + in_flight,
                grants - net_spends(&partner.log) - net_spends(&reseller.log),
                "Σ balances + in flight = Σ grants − Σ net spends"
            );
            // Each transfer is credited at most once.
            let mut credited: HashMap<&str, usize> = HashMap::new();
            for e in &reseller.log {
                if let LedgerEvent::CreditsTransferredIn { transfer_id, .. } = e {
                    *credited.entry(transfer_id.as_str()).or_default() += 1;
                }
            }
            prop_assert!(credited.values().all(|n| *n == 1), "{:?}", credited);
        }

        // Once the process manager has caught up, nothing is in flight and the
        // reseller holds exactly what it was sent, less what it spent.
        let out = transfers_out(&partner.log);
        for n in 0..out.len() {
            deliver(&mut reseller, &partner, n);
        }
        let sent: i64 = out.iter().map(|(_, a)| a).sum();
        let spent = sum_of(&reseller.log, |e| match e {
            LedgerEvent::LicenseAssigned { credits, .. } => Some(*credits),
            LedgerEvent::LicenseDeleted { refund, .. } => Some(-refund),
            _ => None,
        });
        prop_assert_eq!(reseller.ledger.balance, sent - spent);
        prop_assert_eq!(reseller.ledger.transfers_in.len(), out.len());
    }
}

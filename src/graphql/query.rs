//! The contract's queries.

use super::inputs::{LicenseFilter, QuoteInput, SupportFilter};
use super::paging::{page_complexity, search_page_complexity};
use super::scalars::{Role, SupportOrder};
use super::types::*;
use super::{
    AccountConnection, ActivationKeyConnection, CreditEntryConnection, EventConnection,
    LicenseConnection, ServiceSubscriptionConnection, SupportConnection,
};
use super::{Webhook, WebhookDelivery, app, caller, gql, maybe_caller, page_request};
use crate::app::Operation;
use crate::error::AppError;
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct Query;

/// Merged into the root (`QueryRoot`), whose name is the one served.
#[Object(name = "QueryV1")]
impl Query {
    /// The signed-in account; null without a session.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(c) = maybe_caller(ctx) else {
            return Ok(None);
        };
        Ok(app(ctx).account_of(&c.id).await.map_err(gql)?.map(Account))
    }

    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let c = caller(ctx)?;
        let app = app(ctx);
        let prefix = id.split('_').next().unwrap_or_default();
        let found = match prefix {
            "acc" => app
                .visible_account(c, &id)
                .await
                .map(|a| Node::Account(Account(a))),
            "key" => app
                .activation_key(c, &id)
                .await
                .map(|k| Node::ActivationKey(ActivationKey(k))),
            "lic" => app.license(c, &id).await.map(|l| Node::License(License(l))),
            "sup" => app.support(c, &id).await.map(|s| Node::Support(Support(s))),
            "sub" => app
                .subscription(c, &id)
                .await
                .map(|s| Node::ServiceSubscription(ServiceSubscription(s))),
            "crd" => app
                .credit_entry(c, &id)
                .await
                .map(|e| Node::CreditEntry(CreditEntry(e))),
            "whk" => app.webhook(c, &id).await.map(|w| Node::Webhook(Webhook(w))),
            "dlv" => app
                .webhook_delivery(c, &id)
                .await
                .map(|d| Node::WebhookDelivery(WebhookDelivery(d))),
            "tok" => app
                .own_token(c, &id)
                .await
                .map(|t| Node::ApiToken(super::integrations::ApiToken(t))),
            _ => Err(AppError::not_found("object")),
        };
        // Another account's object answers NOT_FOUND, like every other look-up.
        found.map(Some).map_err(gql)
    }

    async fn products(&self, ctx: &Context<'_>) -> Vec<Product> {
        app(ctx)
            .catalog
            .products
            .iter()
            .cloned()
            .map(Product)
            .collect()
    }

    /// ADMIN: partners (and resellers with role). PARTNER: its resellers.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        role: Option<Role>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<AccountConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let result = app(ctx)
            .visible_accounts(c, role.map(Role::as_text), &page)
            .await
            .map_err(gql)?;
        Ok(AccountConnection::from_page(result, had_cursor, Account))
    }

    #[graphql(complexity = "search_page_complexity(first, search.is_some(), child_complexity)")]
    async fn activation_keys(
        &self,
        ctx: &Context<'_>,
        owner_id: Option<ID>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ActivationKeyConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let result = app(ctx)
            .activation_keys(
                c,
                owner_id.as_ref().map(|i| i.as_str()),
                search.as_deref(),
                &page,
            )
            .await
            .map_err(gql)?;
        Ok(ActivationKeyConnection::from_page(
            result,
            had_cursor,
            ActivationKey,
        ))
    }

    #[graphql(
        complexity = "search_page_complexity(first, filter.as_ref().is_some_and(|f| f.search.is_some()), child_complexity)"
    )]
    async fn licenses(
        &self,
        ctx: &Context<'_>,
        filter: Option<LicenseFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<LicenseConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let f = filter.unwrap_or_default();
        let filter = crate::app::LicenseFilter {
            owner_id: f.owner_id.map(|i| i.0),
            key_id: f.activation_key_id.map(|i| i.0),
            product: f.product.map(|i| i.0),
            kind: f.kind.map(aggregates::LicenseKind::from),
            // A status asked for twice counts once (the query keeps a set;
            // the guard caps the list's length before this).
            statuses: f
                .status
                .unwrap_or_default()
                .into_iter()
                .map(aggregates::LicenseStatus::from)
                .collect(),
            search: f.search,
        };
        let result = app(ctx).licenses(c, &filter, &page).await.map_err(gql)?;
        Ok(LicenseConnection::from_page(result, had_cursor, License))
    }

    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn supports(
        &self,
        ctx: &Context<'_>,
        filter: Option<SupportFilter>,
        #[graphql(default_with = "Some(SupportOrder::EndOfSupportAsc)")] order_by: Option<
            SupportOrder,
        >,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<SupportConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let (filter, include_resellers) = match filter {
            Some(f) => {
                let range = f.end_of_support;
                if let Some(r) = &range
                    && let (Some(from), Some(to)) = (r.from, r.to)
                    && from.0 > to.0
                {
                    return Err(gql(AppError::bad(
                        "the endOfSupport range starts after it ends",
                    )));
                }
                (
                    crate::app::SupportFilter {
                        owner_id: f.owner_id.map(|i| i.0),
                        product: f.product.map(|i| i.0),
                        key_id: None,
                        end_from: range
                            .as_ref()
                            .and_then(|r| r.from)
                            .map(|d| projections::db::date_text(d.0)),
                        end_to: range
                            .as_ref()
                            .and_then(|r| r.to)
                            .map(|d| projections::db::date_text(d.0)),
                        expired: f.expired,
                    },
                    f.include_resellers.unwrap_or(true),
                )
            }
            None => (crate::app::SupportFilter::default(), true),
        };
        let order = match order_by.unwrap_or(SupportOrder::EndOfSupportAsc) {
            SupportOrder::EndOfSupportAsc => crate::app::SupportOrder::EndAsc,
            SupportOrder::EndOfSupportDesc => crate::app::SupportOrder::EndDesc,
            SupportOrder::CreatedDesc => crate::app::SupportOrder::CreatedDesc,
        };
        let result = app(ctx)
            .supports(c, &filter, include_resellers, order, &page)
            .await
            .map_err(gql)?;
        Ok(SupportConnection::from_page(result, had_cursor, Support))
    }

    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn service_subscriptions(
        &self,
        ctx: &Context<'_>,
        owner_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ServiceSubscriptionConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let result = app(ctx)
            .subscriptions(c, owner_id.as_ref().map(|i| i.as_str()), &page)
            .await
            .map_err(gql)?;
        Ok(ServiceSubscriptionConnection::from_page(
            result,
            had_cursor,
            ServiceSubscription,
        ))
    }

    /// Oldest first. accountId defaults to the signed-in account.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn credit_history(
        &self,
        ctx: &Context<'_>,
        account_id: Option<ID>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<CreditEntryConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let result = app(ctx)
            .credit_history(c, account_id.as_ref().map(|i| i.as_str()), from, to, &page)
            .await
            .map_err(gql)?;
        Ok(CreditEntryConnection::from_page(
            result,
            had_cursor,
            CreditEntry,
        ))
    }

    /// The balance as it stood at asOf (default: now), replayed from the ledger.
    async fn credit_balance(
        &self,
        ctx: &Context<'_>,
        account_id: Option<ID>,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<i32> {
        let c = caller(ctx)?;
        let balance = app(ctx)
            .credit_balance(c, account_id.as_ref().map(|i| i.as_str()), as_of)
            .await
            .map_err(gql)?;
        Ok(clamp(balance))
    }

    async fn quote(&self, ctx: &Context<'_>, input: QuoteInput) -> Result<Quote> {
        let c = caller(ctx)?;
        let mut ops: Vec<Operation> = Vec::new();
        if let Some(i) = input.assign_license {
            ops.push(Operation::AssignLicense(i.into()));
        }
        if let Some(i) = input.upgrade_license {
            ops.push(Operation::UpgradeLicense {
                id: i.id.0,
                users: i.users.map(i64::from),
                edition: i.edition.map(|e| e.0),
            });
        }
        if let Some(i) = input.assign_support {
            ops.push(Operation::AssignSupport(i.into()));
        }
        if let Some(i) = input.upgrade_support {
            ops.push(Operation::UpgradeSupport {
                id: i.id.0,
                users: i.users.map(i64::from),
                edition: i.edition.map(|e| e.0),
            });
        }
        if let Some(i) = input.extend_support {
            ops.push(Operation::ExtendSupport {
                id: i.id.0,
                months: i.months.into(),
            });
        }
        if let Some(i) = input.create_service_subscription {
            ops.push(Operation::CreateSubscription(i.into()));
        }
        if let Some(i) = input.extend_service_subscription {
            ops.push(Operation::ExtendSubscription {
                id: i.id.0,
                months: i.months.into(),
            });
        }
        if let Some(i) = input.upgrade_service_subscription {
            ops.push(Operation::UpgradeSubscription {
                id: i.id.0,
                channels: i.channels.into(),
            });
        }
        let [op] = ops.as_slice() else {
            return Err(gql(AppError::bad(
                "set exactly one field of the quote's input",
            )));
        };
        let q = app(ctx).quote(c, op).await.map_err(gql)?;
        Ok(Quote {
            cost: clamp(q.cost),
            balance: clamp(q.balance),
            sufficient: q.sufficient,
        })
    }

    /// The stored events behind what the caller may see, oldest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        aggregate_id: Option<ID>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<EventConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let result = app(ctx)
            .events(
                c,
                aggregate_id.as_ref().map(|i| i.as_str()),
                from,
                to,
                &page,
            )
            .await
            .map_err(gql)?;
        Ok(EventConnection::from_page(result, had_cursor, Event))
    }
}

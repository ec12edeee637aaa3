//! The webhook part of the contract's version 1.1: endpoints, their
//! deliveries, and the mutations on them. Merged into the root query and
//! mutation, so it stays apart from the other additions.

use super::paging::{WebhookConnection, WebhookDeliveryConnection, page_complexity};
use super::scalars::time;
use super::types::{Account, owner};
use super::{app, caller, gql, page_request};
use crate::app::{DeliveryRow, NewWebhook, WebhookRow};
use crate::error::AppError;
use async_graphql::resolver_utils::EnumType;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookEventType {
    CreditsGranted,
    CreditsTransferred,
    ActivationKeyCreated,
    LicenseAssigned,
    LicenseUpgraded,
    LicenseEdited,
    LicenseDeleted,
    SupportAssigned,
    SupportUpgraded,
    SupportExtended,
    SubscriptionCreated,
    ResellerCreated,
    KeyActivated,
    KeyDeactivated,
    SupportEndingSoon,
    SupportExpired,
}

impl WebhookEventType {
    /// The stored name, which is the contract's.
    pub fn name(self) -> &'static str {
        Self::items()
            .iter()
            .find(|i| i.value == self)
            .map(|i| i.name)
            .unwrap_or_default()
    }

    fn of_name(name: &str) -> Option<Self> {
        Self::items()
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.value)
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

#[derive(Clone, Debug)]
pub struct Webhook(pub WebhookRow);

#[Object]
impl Webhook {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn event_types(&self) -> Vec<WebhookEventType> {
        self.0
            .event_types
            .iter()
            .filter_map(|t| WebhookEventType::of_name(t))
            .collect()
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Account> {
        owner(ctx, &self.0.owner_id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(&self.0.created_at)
    }
}

#[derive(Clone, Debug)]
pub struct WebhookDelivery(pub DeliveryRow);

#[Object]
impl WebhookDelivery {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The Webhook-Id header: the same for every attempt of one event.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }
    async fn event_type(&self) -> Result<WebhookEventType> {
        WebhookEventType::of_name(&self.0.event_type).ok_or_else(|| {
            gql(AppError::internal(
                "a stored webhook event type is none the service knows",
                &self.0.event_type,
            ))
        })
    }
    async fn status(&self) -> DeliveryStatus {
        match self.0.status.as_str() {
            "SUCCEEDED" => DeliveryStatus::Succeeded,
            "FAILED" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
    async fn attempts(&self) -> i32 {
        i32::try_from(self.0.attempts).unwrap_or(i32::MAX)
    }
    async fn last_response_code(&self) -> Option<i32> {
        self.0
            .last_response_code
            .and_then(|c| i32::try_from(c).ok())
    }
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at.as_deref().map(time)
    }
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at.as_deref().map(time)
    }
}

#[derive(SimpleObject)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// The signing secret (Standard Webhooks: whsec_ + base64), shown once.
    pub secret: String,
}

#[derive(InputObject)]
pub struct CreateWebhookInput {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<WebhookEventType>,
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object(name = "WebhookQuery")]
impl WebhookQuery {
    /// The caller's endpoints (ADMIN: all).
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<WebhookConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let result = app(ctx).webhooks(c, page).await.map_err(gql)?;
        Ok(WebhookConnection::from_page(result, had_cursor, Webhook))
    }

    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<WebhookDeliveryConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let result = app(ctx)
            .webhook_deliveries(c, &webhook_id, page)
            .await
            .map_err(gql)?;
        Ok(WebhookDeliveryConnection::from_page(
            result,
            had_cursor,
            WebhookDelivery,
        ))
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> Result<CreatedWebhook> {
        let new = NewWebhook {
            url: input.url,
            description: input.description,
            event_types: input
                .event_types
                .into_iter()
                .map(|t| t.name().to_string())
                .collect(),
        };
        let (row, secret) = app(ctx)
            .create_webhook(caller(ctx)?, new)
            .await
            .map_err(gql)?;
        Ok(CreatedWebhook {
            webhook: Webhook(row),
            secret,
        })
    }

    /// Re-enables an endpoint disabled after failing, or pauses one.
    async fn set_webhook_enabled(
        &self,
        ctx: &Context<'_>,
        id: ID,
        enabled: bool,
    ) -> Result<Webhook> {
        app(ctx)
            .set_webhook_enabled(caller(ctx)?, &id, enabled)
            .await
            .map(Webhook)
            .map_err(gql)
    }

    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        app(ctx)
            .delete_webhook(caller(ctx)?, &id)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// Sends that delivery's event again now.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        delivery_id: ID,
    ) -> Result<WebhookDelivery> {
        app(ctx)
            .redeliver_webhook(caller(ctx)?, &delivery_id)
            .await
            .map(WebhookDelivery)
            .map_err(gql)
    }
}

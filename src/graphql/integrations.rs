//! The contract's version 1.1 additions for outside users: API tokens, the
//! auditor, and the signed head of the event log.

use super::paging::{ApiTokenConnection, page_complexity};
use super::scalars::time;
use super::types::Account;
use super::{app, caller, gql, page_request};
use crate::app::{ApiTokenRow, LedgerHeadRow, NewAccount, TokenScope as AppScope};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TokenScope {
    Read,
    Write,
}

impl From<TokenScope> for AppScope {
    fn from(s: TokenScope) -> Self {
        match s {
            TokenScope::Read => AppScope::Read,
            TokenScope::Write => AppScope::Write,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ApiToken(pub ApiTokenRow);

#[Object]
impl ApiToken {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn scope(&self) -> TokenScope {
        match self.0.scope {
            AppScope::Read => TokenScope::Read,
            AppScope::Write => TokenScope::Write,
        }
    }
    /// The first characters of the secret, to recognise it (e.g. lpt_3fA9).
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(&self.0.created_at)
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at.as_deref().map(time)
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at.as_deref().map(time)
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at.as_deref().map(time)
    }
}

#[derive(SimpleObject)]
pub struct CreatedApiToken {
    pub token: ApiToken,
    /// Shown once; only its hash is kept.
    pub secret: String,
}

#[derive(InputObject)]
pub struct CreateApiTokenInput {
    pub name: String,
    pub scope: TokenScope,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct CreateAuditorInput {
    pub login: String,
    pub email: String,
    pub name: String,
    /// Absent: generated and sent by email; must be changed at first sign-in.
    pub password: Option<String>,
}

#[derive(Default)]
pub struct IntegrationQuery;

#[Object]
impl IntegrationQuery {
    /// The caller's own tokens, newest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ApiTokenConnection> {
        let c = caller(ctx)?;
        let page = page_request(first, after).map_err(gql)?;
        let had_cursor = page.after.is_some();
        let result = app(ctx).api_tokens(c, &page).await.map_err(gql)?;
        Ok(ApiTokenConnection::from_page(result, had_cursor, ApiToken))
    }

    /// ADMIN and AUDITOR: the newest event's position and hash, signed by the service.
    async fn ledger_head(&self, ctx: &Context<'_>) -> Result<LedgerHead> {
        let head = app(ctx).ledger_head(caller(ctx)?).await.map_err(gql)?;
        Ok(LedgerHead(head))
    }
}

pub struct LedgerHead(pub LedgerHeadRow);

#[Object]
impl LedgerHead {
    /// Position of the newest event in the global log, decimal string; "0" when empty.
    async fn position(&self) -> String {
        self.0.position.to_string()
    }
    /// Hash of that event; 64 zeros when the log is empty.
    async fn hash(&self) -> &str {
        &self.0.hash
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The exact text that was signed: position, hash and at, one per line.
    async fn signed_text(&self) -> &str {
        &self.0.signed_text
    }
    async fn signature(&self) -> &str {
        &self.0.signature
    }
    async fn public_key(&self) -> &str {
        &self.0.public_key
    }
}

#[derive(Default)]
pub struct IntegrationMutation;

#[Object]
impl IntegrationMutation {
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> Result<CreatedApiToken> {
        let (row, secret) = app(ctx)
            .create_api_token(
                caller(ctx)?,
                &input.name,
                input.scope.into(),
                input.expires_at,
            )
            .await
            .map_err(gql)?;
        Ok(CreatedApiToken {
            token: ApiToken(row),
            secret,
        })
    }

    /// ADMIN only.
    async fn create_auditor(
        &self,
        ctx: &Context<'_>,
        input: CreateAuditorInput,
    ) -> Result<Account> {
        let new = NewAccount::top_level(input.login, input.email, input.name, input.password);
        let account = app(ctx)
            .create_auditor(caller(ctx)?, new)
            .await
            .map_err(gql)?;
        Ok(Account(account))
    }

    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> Result<ApiToken> {
        let row = app(ctx)
            .revoke_api_token(caller(ctx)?, &id)
            .await
            .map_err(gql)?;
        Ok(ApiToken(row))
    }
}

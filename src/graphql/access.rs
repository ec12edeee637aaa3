//! Who may run which mutation, checked once for every mutation field before
//! its resolver: a READ token runs none; a token cannot manage credentials;
//! an auditor only signs out and changes its password. The use cases check
//! again (`Caller::ensure_may_act`), so the portal is held to the same rules.

use super::{RequestCaller, gql};
use crate::app::{Caller, TokenScope};
use crate::error::AppError;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{PathSegment, Pos, ServerResult, Value};
use std::sync::Arc;

/// Mutations a token (even WRITE) may not run: they make or end credentials.
const NOT_WITH_TOKEN: &[&str] = &["createApiToken", "changePassword", "login", "logout"];
/// The only mutations of an auditor.
const AUDITOR_MAY: &[&str] = &["logout", "changePassword", "login"];

pub struct MutationAccess;

impl ExtensionFactory for MutationAccess {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MutationAccess)
    }
}

/// Why `caller` may not run mutation `field`, if it may not.
pub fn refusal(caller: &Caller, field: &str) -> Option<AppError> {
    if let Some(t) = &caller.token {
        if t.scope == TokenScope::Read {
            return Some(AppError::Forbidden(
                "this API token may only read (scope READ)".into(),
            ));
        }
        if NOT_WITH_TOKEN.contains(&field) {
            return Some(AppError::Forbidden(format!(
                "an API token cannot run {field}; sign in with a password"
            )));
        }
    }
    if caller.role == aggregates::Role::Auditor && !AUDITOR_MAY.contains(&field) {
        return Some(AppError::Forbidden(
            "an auditor reads everything and changes nothing".into(),
        ));
    }
    None
}

#[async_graphql::async_trait::async_trait]
impl Extension for MutationAccess {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.parent_type == "Mutation"
            && let Some(caller) = ctx.data_opt::<RequestCaller>().and_then(|c| c.0.as_ref())
            && let Some(refused) = refusal(caller, info.name)
        {
            let mut error = gql(refused).into_server_error(Pos::default());
            error.locations.clear();
            error.path = info
                .path_node
                .to_string_vec()
                .into_iter()
                .map(PathSegment::Field)
                .collect();
            return Err(error);
        }
        next.run(ctx, info).await
    }
}

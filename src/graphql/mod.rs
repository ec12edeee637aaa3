//! The GraphQL API of the contract (shared/contract/schema.graphql): schema
//! assembly, request context, and the one mapping of errors to codes.

mod access;
mod freshness;
pub mod guard;
mod inputs;
mod integrations;
mod mutation;
mod paging;
mod query;
pub mod scalars;
mod types;
mod webhooks;

pub use mutation::ClientAddr;
pub use paging::*;
pub use types::*;
pub use webhooks::{Webhook, WebhookDelivery};

use crate::app::{App, Caller};
use crate::config::RequestLimits;
use crate::error::AppError;
use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, MergedObject, Schema, SchemaBuilder,
};
use std::sync::Arc;

pub type ApiSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The root query: the contract's, with each addition kept in its own file.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    query::Query,
    webhooks::WebhookQuery,
    integrations::IntegrationQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    mutation::Mutation,
    webhooks::WebhookMutation,
    integrations::IntegrationMutation,
);

/// The schema the server serves, held to `limits` (see guard).
pub fn schema(app: Arc<App>, limits: &RequestLimits) -> ApiSchema {
    builder()
        .data(app)
        .limit_depth(limits.max_depth)
        .extension(guard::Guard(limits.clone()))
        .extension(freshness::ViewsBehind)
        .finish()
}

/// The served schema in SDL, as the committed copy (docs/schema.graphql)
/// holds it; needs no running app, as the SDL does not depend on one.
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .register_output_type::<Node>()
    .extension(access::MutationAccess)
}

/// The signed-in account of this request, if any (from the bearer token or
/// the portal's cookie).
#[derive(Clone, Default)]
pub struct RequestCaller(pub Option<Caller>);

pub fn app<'a>(ctx: &Context<'a>) -> &'a Arc<App> {
    ctx.data_unchecked::<Arc<App>>()
}

pub fn maybe_caller<'a>(ctx: &Context<'a>) -> Option<&'a Caller> {
    ctx.data_opt::<RequestCaller>().and_then(|c| c.0.as_ref())
}

pub fn caller<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Caller> {
    maybe_caller(ctx).ok_or_else(|| {
        gql(AppError::Unauthenticated(
            "sign in first: send Authorization: Bearer <token>".into(),
        ))
    })
}

/// The one conversion of an application error to a GraphQL error.
pub fn gql(e: AppError) -> async_graphql::Error {
    let error = async_graphql::Error::new(e.to_string());
    error.extend_with(|_, ext| {
        ext.set("code", e.code());
        if let AppError::InsufficientCredits { required, balance } = &e {
            ext.set("required", *required);
            ext.set("balance", *balance);
        }
    })
}

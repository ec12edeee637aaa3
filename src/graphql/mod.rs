//! The GraphQL API of the contract (shared/contract/schema.graphql): schema
//! assembly, request context, and the one mapping of errors to codes.

mod freshness;
mod inputs;
mod mutation;
mod paging;
mod query;
pub mod scalars;
mod types;

pub use mutation::ClientAddr;
pub use paging::*;
pub use types::*;

use crate::app::{App, Caller};
use crate::error::AppError;
use async_graphql::{Context, EmptySubscription, ErrorExtensions, Schema, SchemaBuilder};
use std::sync::Arc;

pub type ApiSchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

/// Deep enough for every query of the contract and for the standard
/// introspection query (15 levels); shallow enough that nested
/// owner → keys → licenses → owner … loops cannot be used to load the server.
pub const MAX_DEPTH: usize = 16;
/// Each page counts its rows times its selection (see paging::page_complexity):
/// a full page of 500 with a rich selection fits, hundreds of aliased pages do
/// not.
pub const MAX_COMPLEXITY: usize = 50_000;

/// The schema the server serves.
pub fn schema(app: Arc<App>) -> ApiSchema {
    builder()
        .data(app)
        .extension(freshness::ViewsBehind)
        .finish()
}

/// The served schema in SDL, as the committed copy (docs/schema.graphql)
/// holds it; needs no running app, as the SDL does not depend on one.
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn builder() -> SchemaBuilder<query::Query, mutation::Mutation, EmptySubscription> {
    Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .register_output_type::<Node>()
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

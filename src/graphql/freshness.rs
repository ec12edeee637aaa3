//! `extensions.viewsBehind`: a mutation that committed is answered from what
//! its command decided even when the views had not caught up with it; the
//! response then says so, so a client knows a query right after it may not
//! show the change yet.

use crate::app::freshness::tracking;
use async_graphql::async_trait::async_trait;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::{Response, Value};
use std::sync::Arc;

pub struct ViewsBehind;

impl ExtensionFactory for ViewsBehind {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Track)
    }
}

struct Track;

#[async_trait]
impl Extension for Track {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let (mut response, behind) = tracking(next.run(ctx, operation_name)).await;
        if behind {
            response
                .extensions
                .insert("viewsBehind".to_string(), Value::Boolean(true));
        }
        response
    }
}

//! The request limits (config::RequestLimits), checked in one place before
//! anything runs: the document's size and shape when it is parsed, its cost
//! when it is validated, and every string and list the resolvers will see.
//! A refused document answers BAD_USER_INPUT and touches no database.

use crate::config::RequestLimits;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{
    ErrorExtensionValues, Name, Positioned, ServerError, ServerResult, ValidationResult, Value,
    Variables,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Mutations that check a password: each is an argon2 hash.
const PASSWORD_CHECKS: &[&str] = &["login", "changePassword"];

/// Arguments and input fields that hold free text, where tab and line breaks
/// are part of the value.
const FREE_TEXT: &[&str] = &["comment"];

pub struct Guard(pub RequestLimits);

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension(self.0.clone()))
    }
}

struct GuardExtension(RequestLimits);

pub fn refusal(message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", "BAD_USER_INPUT");
    error.extensions = Some(extensions);
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for GuardExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let limits = &self.0;
        if query.len() > limits.max_document_bytes {
            return Err(refusal(format!(
                "the document is {} bytes; at most {} are accepted",
                query.len(),
                limits.max_document_bytes
            )));
        }
        let doc = next.run(ctx, query, variables).await?;
        check_shape(&doc, limits)?;
        check_values(&doc, variables, limits)?;
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.complexity > self.0.max_cost {
            return Err(vec![refusal(format!(
                "query cost {} exceeds the budget of {}: ask for fewer rows (first) or fewer fields inside lists",
                result.complexity, self.0.max_cost
            ))]);
        }
        Ok(result)
    }
}

/// What an operation (or a fragment) holds once its fragments are spread:
/// all its fields, those at its top, and the password checks among them.
#[derive(Clone, Copy, Default)]
struct Counts {
    fields: usize,
    root: usize,
    passwords: usize,
}

struct Counter<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// Each fragment counted once however often it is spread, so a document
    /// of fragments that spread each other many times costs linear work.
    memo: HashMap<&'a str, Counts>,
}

impl<'a> Counter<'a> {
    fn count(&mut self, set: &'a SelectionSet) -> Counts {
        let mut total = Counts::default();
        for item in &set.items {
            let part = match &item.node {
                Selection::Field(f) => {
                    let inner = self.count(&f.node.selection_set.node);
                    let name = f.node.name.node.as_str();
                    Counts {
                        fields: inner.fields.saturating_add(1),
                        root: 1,
                        passwords: usize::from(PASSWORD_CHECKS.contains(&name)),
                    }
                }
                Selection::InlineFragment(f) => self.count(&f.node.selection_set.node),
                Selection::FragmentSpread(s) => self.fragment(s.node.fragment_name.node.as_str()),
            };
            total.fields = total.fields.saturating_add(part.fields);
            total.root = total.root.saturating_add(part.root);
            total.passwords = total.passwords.saturating_add(part.passwords);
        }
        total
    }

    fn fragment(&mut self, name: &'a str) -> Counts {
        if let Some(c) = self.memo.get(name) {
            return *c;
        }
        // A cycle counts as empty here; validation refuses it.
        self.memo.insert(name, Counts::default());
        let counts = match self.fragments.get(name) {
            Some(f) => self.count(&f.node.selection_set.node),
            None => Counts::default(),
        };
        self.memo.insert(name, counts);
        counts
    }
}

fn check_shape(doc: &ExecutableDocument, limits: &RequestLimits) -> ServerResult<()> {
    let mut counter = Counter {
        fragments: &doc.fragments,
        memo: HashMap::new(),
    };
    let operations: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    };
    for op in operations {
        let counts = counter.count(&op.node.selection_set.node);
        if counts.fields > limits.max_fields {
            return Err(refusal(format!(
                "the operation selects {} fields once its fragments are spread; at most {} are accepted",
                counts.fields, limits.max_fields
            )));
        }
        if counts.root > limits.max_root_fields {
            return Err(refusal(format!(
                "the operation has {} top-level fields; at most {} are accepted",
                counts.root, limits.max_root_fields
            )));
        }
        if op.node.ty == OperationType::Mutation && counts.passwords > limits.max_password_checks {
            return Err(refusal(format!(
                "the request checks {} passwords (login, changePassword); at most {} per request",
                counts.passwords, limits.max_password_checks
            )));
        }
    }
    Ok(())
}

/// Every argument of the document, with the request's variables put in
/// place, as the resolvers will receive it.
fn check_values(
    doc: &ExecutableDocument,
    variables: &Variables,
    limits: &RequestLimits,
) -> ServerResult<()> {
    let mut defaults: HashMap<&Name, &Value> = HashMap::new();
    for (_, op) in doc.operations.iter() {
        for def in &op.node.variable_definitions {
            if let Some(v) = &def.node.default_value {
                defaults.insert(&def.node.name.node, &v.node);
            }
        }
    }
    let lookup = |name: Name| -> Result<Value, std::convert::Infallible> {
        Ok(variables
            .get(&name)
            .or_else(|| defaults.get(&name).copied())
            .cloned()
            .unwrap_or(Value::Null))
    };
    let mut sets: Vec<&SelectionSet> = doc
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .collect();
    sets.extend(doc.fragments.values().map(|f| &f.node.selection_set.node));
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    for (name, value) in &f.node.arguments {
                        let Ok(value) = value.node.clone().into_const_with(&lookup);
                        check_value(name.node.as_str(), &value, limits)?;
                    }
                    sets.push(&f.node.selection_set.node);
                }
                Selection::InlineFragment(f) => sets.push(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    Ok(())
}

/// A string may hold no control character (NUL among them: PostgreSQL
/// cannot store it), but for tab and line breaks in free text; a list may
/// hold at most `max_list_items`.
fn check_value(name: &str, value: &Value, limits: &RequestLimits) -> ServerResult<()> {
    match value {
        Value::String(s) => {
            let free_text = FREE_TEXT.contains(&name);
            if let Some(c) = s
                .chars()
                .find(|c| c.is_control() && !(free_text && matches!(c, '\t' | '\n' | '\r')))
            {
                return Err(refusal(format!(
                    "{name} holds the control character U+{:04X}; only tab and line breaks are accepted, and only in free text such as a comment",
                    u32::from(c)
                )));
            }
        }
        Value::List(items) => {
            if items.len() > limits.max_list_items {
                return Err(refusal(format!(
                    "{name} holds {} items; at most {} are accepted",
                    items.len(),
                    limits.max_list_items
                )));
            }
            for item in items {
                check_value(name, item, limits)?;
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                check_value(key.as_str(), item, limits)?;
            }
        }
        _ => {}
    }
    Ok(())
}

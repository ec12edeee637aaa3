//! Reading the lists the API answers as connections (`edges { node { … } }`).

use serde_json::Value;

/// The nodes of `connection`, in its order.
pub fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {connection}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// The `field` of every node of `connection`, in its order: what a test
/// compares with `[…]` to check a list's order or contents.
pub fn column(connection: &Value, field: &str) -> Vec<Value> {
    nodes(connection)
        .into_iter()
        .map(|n| n[field].clone())
        .collect()
}

/// The ids of the nodes of `connection`, in its order.
pub fn ids(connection: &Value) -> Vec<String> {
    column(connection, "id")
        .iter()
        .map(|id| id.as_str().expect("an id").to_string())
        .collect()
}

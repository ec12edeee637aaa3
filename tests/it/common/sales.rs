//! What selling a license takes, for the tests of every area that sells one.

use serde_json::{Value, json};

/// The AssignLicenseInput of a license of `kind` on `key`.
pub fn license_input(key: &Value, product: &str, edition: &str, users: i64, kind: &str) -> Value {
    json!({
        "activationKeyId": key["id"],
        "product": product,
        "edition": edition,
        "users": users,
        "kind": kind,
    })
}

/// The AssignLicenseInput of a trial of `days` days on `key`.
pub fn trial_input(key: &Value, product: &str, edition: &str, users: i64, days: i64) -> Value {
    let mut i = license_input(key, product, edition, users, "TRIAL");
    i["trialDays"] = json!(days);
    i
}

/// The AssignSupportInput of `months` of support on `key`.
pub fn support_input(key: &Value, product: &str, edition: &str, users: i64, months: i64) -> Value {
    json!({
        "activationKeyId": key["id"],
        "product": product,
        "edition": edition,
        "users": users,
        "months": months,
    })
}

/// The CreateServiceSubscriptionInput of Remote Support on `key`.
pub fn subscription_input(key: &Value, channels: i64, months: i64) -> Value {
    json!({
        "activationKeyId": key["id"],
        "software": "REMOTE_SUPPORT",
        "channels": channels,
        "months": months,
    })
}

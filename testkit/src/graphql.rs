//! GraphQL over HTTP as a client sends it: a document and its variables,
//! with a bearer token when signed in.

use serde_json::{Value, json};
use std::net::SocketAddr;

/// A client of one server's `/graphql`.
#[derive(Clone)]
pub struct Graphql {
    pub http: reqwest::Client,
    pub url: String,
}

impl Graphql {
    pub fn new(addr: SocketAddr) -> Self {
        Graphql {
            http: reqwest::Client::new(),
            url: endpoint(addr),
        }
    }

    /// The `data` of a document; its `errors`, as text, when it has any.
    pub async fn data(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Value, String> {
        let answer = post(&self.http, &self.url, token, query, variables).await?;
        match answer.get("errors") {
            Some(errors) => Err(errors.to_string()),
            None => Ok(answer["data"].clone()),
        }
    }

    /// The string at `path` in the `data` of a document.
    async fn string(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        path: &[&str],
    ) -> Result<String, String> {
        string_at(&self.data(token, query, variables).await?, path)
    }

    /// The session token of `login`.
    pub async fn login(&self, login: &str, password: &str) -> Result<String, String> {
        let query =
            "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }";
        let variables = json!({ "l": login, "p": password });
        self.string(None, query, variables, &["login", "token"])
            .await
    }

    /// A new partner `login`, mailed at login@example.com, created by the
    /// administrator signed in as `admin`; its id.
    pub async fn create_partner(
        &self,
        admin: &str,
        login: &str,
        name: &str,
        password: &str,
    ) -> Result<String, String> {
        let input = json!({ "login": login, "email": format!("{login}@example.com"), "name": name, "password": password });
        let query = "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id } }";
        let variables = json!({ "i": input });
        self.string(Some(admin), query, variables, &["createPartner", "id"])
            .await
    }

    /// A new activation key `name` of the account signed in as `token`; its id.
    pub async fn create_key(&self, token: &str, name: &str) -> Result<String, String> {
        let query = "mutation($n: String!) { createActivationKey(name: $n) { id } }";
        let variables = json!({ "n": name });
        self.string(
            Some(token),
            query,
            variables,
            &["createActivationKey", "id"],
        )
        .await
    }

    /// Grants the partner `partner_id` `amount` credits under `reference`.
    pub async fn grant(
        &self,
        admin: &str,
        partner_id: &str,
        amount: i64,
        reference: &str,
    ) -> Result<(), String> {
        self.data(
            Some(admin),
            "mutation($p: ID!, $a: Int!, $r: String!) { grantCredits(partnerId: $p, amount: $a, reference: $r) { id } }",
            json!({ "p": partner_id, "a": amount, "r": reference }),
        )
        .await
        .map(drop)
    }
}

/// The GraphQL endpoint of a server listening on `addr`.
pub fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}/graphql")
}

/// Posts a document to `url`; returns the whole JSON answer.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    let mut request = http
        .post(url)
        .header(
            "accept",
            "application/graphql-response+json, application/json",
        )
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    response
        .json()
        .await
        .map_err(|e| format!("not a JSON answer: {e}"))
}

/// The string at `path` in a JSON value, or an error naming the path.
pub fn string_at(value: &Value, path: &[&str]) -> Result<String, String> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no string at {} in {value}", path.join(".")))
}

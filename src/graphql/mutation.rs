//! The contract's mutations.

use super::inputs::*;
use super::types::*;
use super::{app, caller, gql};
use crate::app::{Made, NewAccount, Operation};
use async_graphql::{Context, ID, Object, Result};

#[derive(Default)]
pub struct Mutation;

/// Merged into the root (`MutationRoot`), whose name is the one served.
#[Object(name = "MutationV1")]
impl Mutation {
    /// `login` is the account's login or its email.
    async fn login(&self, ctx: &Context<'_>, login: String, password: String) -> Result<Session> {
        let (token, account, expires_at) = app(ctx)
            .login(&login, &password, &client_of(ctx))
            .await
            .map_err(gql)?;
        Ok(Session {
            token,
            account: Account(account),
            expires_at,
        })
    }

    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        app(ctx).logout(caller(ctx)?).await.map_err(gql)?;
        Ok(true)
    }

    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current: String,
        new: String,
    ) -> Result<bool> {
        app(ctx)
            .change_password(caller(ctx)?, &current, &new, &client_of(ctx))
            .await
            .map_err(gql)?;
        Ok(true)
    }

    async fn create_partner(
        &self,
        ctx: &Context<'_>,
        input: CreatePartnerInput,
        idempotency_key: Option<String>,
    ) -> Result<Account> {
        let new = NewAccount::top_level(input.login, input.email, input.name, input.password);
        let account = app(ctx)
            .create_partner_once(caller(ctx)?, new, idempotency_key.as_deref())
            .await
            .map_err(gql)?;
        Ok(Account(account))
    }

    async fn grant_credits(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        amount: i32,
        reference: String,
        idempotency_key: Option<String>,
    ) -> Result<CreditEntry> {
        let entry = app(ctx)
            .grant_credits(
                caller(ctx)?,
                &partner_id,
                amount.into(),
                &reference,
                idempotency_key.as_deref(),
            )
            .await
            .map_err(gql)?;
        Ok(CreditEntry(entry))
    }

    /// key null: a random key. A given key must be XXXX-XXXX-XXXX-XXXX and unused.
    async fn create_activation_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        key: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<ActivationKey> {
        let row = app(ctx)
            .create_activation_key_once(
                caller(ctx)?,
                &name,
                key.as_deref(),
                idempotency_key.as_deref(),
            )
            .await
            .map_err(gql)?;
        Ok(ActivationKey(row))
    }

    async fn assign_license(
        &self,
        ctx: &Context<'_>,
        input: AssignLicenseInput,
        idempotency_key: Option<String>,
    ) -> Result<License> {
        Ok(License(
            operate(ctx, Operation::AssignLicense(input.into()), idempotency_key).await?,
        ))
    }

    /// Raise users and/or edition; never lowers. Charges the difference.
    async fn upgrade_license(
        &self,
        ctx: &Context<'_>,
        id: ID,
        users: Option<i32>,
        edition: Option<ID>,
        idempotency_key: Option<String>,
    ) -> Result<License> {
        let op = Operation::UpgradeLicense {
            id: id.0,
            users: users.map(i64::from),
            edition: edition.map(|e| e.0),
        };
        Ok(License(operate(ctx, op, idempotency_key).await?))
    }

    async fn edit_license(
        &self,
        ctx: &Context<'_>,
        id: ID,
        email: Option<String>,
        comment: Option<String>,
    ) -> Result<License> {
        let row = app(ctx)
            .edit_license(caller(ctx)?, &id, email, comment)
            .await
            .map_err(gql)?;
        Ok(License(row))
    }

    /// Only while not activated on a device; refunds creditsSpent. Returns the refund entry, or null for a trial.
    async fn delete_license(
        &self,
        ctx: &Context<'_>,
        id: ID,
        idempotency_key: Option<String>,
    ) -> Result<Option<CreditEntry>> {
        let entry = app(ctx)
            .delete_license(caller(ctx)?, &id, idempotency_key.as_deref())
            .await
            .map_err(gql)?;
        Ok(entry.map(CreditEntry))
    }

    async fn assign_support(
        &self,
        ctx: &Context<'_>,
        input: AssignSupportInput,
        idempotency_key: Option<String>,
    ) -> Result<Support> {
        Ok(Support(
            operate(ctx, Operation::AssignSupport(input.into()), idempotency_key).await?,
        ))
    }

    async fn upgrade_support(
        &self,
        ctx: &Context<'_>,
        id: ID,
        users: Option<i32>,
        edition: Option<ID>,
        idempotency_key: Option<String>,
    ) -> Result<Support> {
        let op = Operation::UpgradeSupport {
            id: id.0,
            users: users.map(i64::from),
            edition: edition.map(|e| e.0),
        };
        Ok(Support(operate(ctx, op, idempotency_key).await?))
    }

    /// Also for expired support: the new period starts the day after the old endOfSupport, or today if that is later.
    async fn extend_support(
        &self,
        ctx: &Context<'_>,
        id: ID,
        months: i32,
        idempotency_key: Option<String>,
    ) -> Result<Support> {
        let op = Operation::ExtendSupport {
            id: id.0,
            months: months.into(),
        };
        Ok(Support(operate(ctx, op, idempotency_key).await?))
    }

    async fn create_service_subscription(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceSubscriptionInput,
        idempotency_key: Option<String>,
    ) -> Result<ServiceSubscription> {
        Ok(ServiceSubscription(
            operate(
                ctx,
                Operation::CreateSubscription(input.into()),
                idempotency_key,
            )
            .await?,
        ))
    }

    /// More months for a subscription: from the day after endsOn, or today if it has ended.
    async fn extend_service_subscription(
        &self,
        ctx: &Context<'_>,
        id: ID,
        months: i32,
        idempotency_key: Option<String>,
    ) -> Result<ServiceSubscription> {
        let op = Operation::ExtendSubscription {
            id: id.0,
            months: months.into(),
        };
        Ok(ServiceSubscription(
            operate(ctx, op, idempotency_key).await?,
        ))
    }

    /// More channels for a running subscription; the difference is charged for the days left.
    async fn upgrade_service_subscription(
        &self,
        ctx: &Context<'_>,
        id: ID,
        channels: i32,
        idempotency_key: Option<String>,
    ) -> Result<ServiceSubscription> {
        let op = Operation::UpgradeSubscription {
            id: id.0,
            channels: channels.into(),
        };
        Ok(ServiceSubscription(
            operate(ctx, op, idempotency_key).await?,
        ))
    }

    /// The customer's email and comment on a support; a field left out keeps its value, an empty one clears it.
    async fn edit_support(
        &self,
        ctx: &Context<'_>,
        id: ID,
        email: Option<String>,
        comment: Option<String>,
    ) -> Result<Support> {
        let row = app(ctx)
            .edit_support(caller(ctx)?, &id, email, comment)
            .await
            .map_err(gql)?;
        Ok(Support(row))
    }

    async fn create_reseller(
        &self,
        ctx: &Context<'_>,
        input: CreateResellerInput,
        idempotency_key: Option<String>,
    ) -> Result<CreateResellerPayload> {
        let c = caller(ctx)?;
        let new = NewAccount {
            login: input.login,
            email: input.email,
            name: input.name,
            password: input.password,
            parent: Some(c.id.clone()),
            products: input.products.into_iter().map(|p| p.0).collect(),
        };
        let (account, generated_password) = app(ctx)
            .create_reseller_once(c, new, idempotency_key.as_deref())
            .await
            .map_err(gql)?;
        Ok(CreateResellerPayload {
            reseller: Account(account),
            generated_password,
        })
    }

    async fn edit_reseller(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: EditResellerInput,
    ) -> Result<Account> {
        let products = input.products.map(|p| p.into_iter().map(|x| x.0).collect());
        let row = app(ctx)
            .edit_reseller(caller(ctx)?, &id, input.email, input.name, products)
            .await
            .map_err(gql)?;
        Ok(Account(row))
    }

    /// Moves credits from the signed-in partner to one of its resellers.
    async fn give_credits(
        &self,
        ctx: &Context<'_>,
        reseller_id: ID,
        amount: i32,
        idempotency_key: Option<String>,
    ) -> Result<CreditEntry> {
        let entry = app(ctx)
            .give_credits(
                caller(ctx)?,
                &reseller_id,
                amount.into(),
                idempotency_key.as_deref(),
            )
            .await
            .map_err(gql)?;
        Ok(CreditEntry(entry))
    }

    /// For the product on a device. Binds the key to the device the first time; the same device again gets a fresh file.
    async fn activate_key(
        &self,
        ctx: &Context<'_>,
        key: String,
        device_fingerprint: String,
        device_name: Option<String>,
    ) -> Result<LicenseFile> {
        let file = app(ctx)
            .activate_key(
                &client_of(ctx),
                &key,
                &device_fingerprint,
                device_name.as_deref(),
            )
            .await
            .map_err(gql)?;
        Ok(file.into())
    }

    /// A fresh license file for a key already bound to this device.
    async fn refresh_key(
        &self,
        ctx: &Context<'_>,
        key: String,
        device_fingerprint: String,
    ) -> Result<LicenseFile> {
        let file = app(ctx)
            .refresh_key(&client_of(ctx), &key, &device_fingerprint)
            .await
            .map_err(gql)?;
        Ok(file.into())
    }

    /// Unbinds the key from this device.
    async fn deactivate_key(
        &self,
        ctx: &Context<'_>,
        key: String,
        device_fingerprint: String,
    ) -> Result<bool> {
        app(ctx)
            .deactivate_key(&client_of(ctx), &key, &device_fingerprint)
            .await
            .map_err(gql)?;
        Ok(true)
    }
}

/// The client's address, for rate limits on device calls.
fn client_of(ctx: &Context<'_>) -> String {
    ctx.data_opt::<ClientAddr>()
        .map(|c| c.0.clone())
        .unwrap_or_default()
}

#[derive(Clone, Debug)]
pub struct ClientAddr(pub String);

impl From<crate::signing::SignedFile> for LicenseFile {
    fn from(f: crate::signing::SignedFile) -> Self {
        LicenseFile {
            payload: f.payload,
            signature: f.signature,
            public_key: f.public_key,
        }
    }
}

/// Runs a priced operation as the caller and answers with what it made or
/// changed.
async fn operate<T: Made>(
    ctx: &Context<'_>,
    op: Operation,
    idempotency_key: Option<String>,
) -> Result<T> {
    app(ctx)
        .operate(caller(ctx)?, &op, idempotency_key.as_deref())
        .await
        .map_err(gql)
}

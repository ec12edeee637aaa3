//! The product catalog and its prices. Parsed from TOML text (the service reads
//! the file); every price is in whole credits.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub max_trial_days: u32,
    pub support_months: Vec<u32>,
    pub subscription_months: Vec<u32>,
    pub products: Vec<Product>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub subscription_only: bool,
    #[serde(default)]
    pub subscription_per_channel_month: i64,
    pub editions: Vec<Edition>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Edition {
    pub code: String,
    pub name: String,
    pub license_per_user: i64,
    pub support_per_user_month: i64,
}

/// Why a catalog text was refused; the message names the line when it can.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CatalogError(pub String);

impl Catalog {
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            match line {
                Some(line) => CatalogError(format!("line {line}: {}", e.message())),
                None => CatalogError(e.message().to_string()),
            }
        })?;
        catalog.check()?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), CatalogError> {
        let fail = |m: String| Err(CatalogError(m));
        if self.products.is_empty() {
            return fail("the catalog lists no product".into());
        }
        if self.max_trial_days == 0 {
            return fail("max_trial_days must be at least 1".into());
        }
        if self.support_months.is_empty() || self.support_months.contains(&0) {
            return fail("support_months must list lengths of at least 1 month".into());
        }
        if self.subscription_months.is_empty() || self.subscription_months.contains(&0) {
            return fail("subscription_months must list lengths of at least 1 month".into());
        }
        let mut codes = std::collections::HashSet::new();
        for p in &self.products {
            if !codes.insert(p.code.as_str()) {
                return fail(format!("product {} is listed twice", p.code));
            }
            if p.editions.is_empty() {
                return fail(format!("product {} has no edition", p.code));
            }
            let mut editions = std::collections::HashSet::new();
            for e in &p.editions {
                if !editions.insert(e.code.as_str()) {
                    return fail(format!(
                        "product {}: edition {} is listed twice",
                        p.code, e.code
                    ));
                }
                if e.license_per_user < 0 || e.support_per_user_month < 0 {
                    return fail(format!(
                        "product {}: edition {} has a negative price",
                        p.code, e.code
                    ));
                }
            }
            if p.subscription_only && p.subscription_per_channel_month <= 0 {
                return fail(format!(
                    "product {} is subscription-only and needs subscription_per_channel_month",
                    p.code
                ));
            }
        }
        Ok(())
    }

    pub fn product(&self, code: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.code == code)
    }

    /// The product's name for a person; its code when the catalog no longer
    /// lists it (a license outlives a product taken off the catalog).
    pub fn product_name(&self, code: &str) -> String {
        self.product(code)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| code.to_string())
    }

    /// The edition's name for a person; its code when the catalog no longer
    /// lists it.
    pub fn edition_name(&self, product: &str, edition: &str) -> String {
        self.product(product)
            .and_then(|p| p.edition(edition))
            .map(|e| e.name.clone())
            .unwrap_or_else(|| edition.to_string())
    }

    pub fn subscription_product(&self) -> Option<&Product> {
        self.products.iter().find(|p| p.subscription_only)
    }
}

impl Product {
    pub fn edition(&self, code: &str) -> Option<&Edition> {
        self.editions.iter().find(|e| e.code == code)
    }

    /// Position of an edition from the cheapest; used to refuse downgrades.
    pub fn rank(&self, code: &str) -> Option<usize> {
        self.editions.iter().position(|e| e.code == code)
    }
}

/// The catalog that ships with the service.
pub const DEFAULT_CATALOG: &str = include_str!("../../catalog/products.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_parses() {
        let c = Catalog::parse(DEFAULT_CATALOG).expect("default catalog");
        assert_eq!(c.products.len(), 5);
        assert!(
            c.product("REMOTE_SUPPORT")
                .is_some_and(|p| p.subscription_only)
        );
    }

    #[test]
    fn a_malformed_catalog_names_the_line() {
        let text = "max_trial_days = 30\nsupport_months = [12]\nsubscription_months = [1]\n[[products]]\ncode = 5\n";
        let err = Catalog::parse(text).unwrap_err().to_string();
        assert!(err.starts_with("line 5"), "{err}");
    }

    #[test]
    fn duplicate_products_are_refused() {
        let text = DEFAULT_CATALOG.to_string()
            + "\n[[products]]\ncode = \"TWO_FACTOR\"\nname = \"x\"\n[[products.editions]]\ncode=\"A\"\nname=\"A\"\nlicense_per_user=1\nsupport_per_user_month=1\n";
        assert!(
            Catalog::parse(&text)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }
}

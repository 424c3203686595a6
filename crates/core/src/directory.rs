//! Where customers come from: [`CustomerDirectory`].
//!
//! The engine never stores customers; it asks the embedding application's directory, at mint time,
//! for the customer a request names, and keeps a [`CustomerSnapshot`] in the session.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use async_trait::async_trait;

use crate::id::{CustomerId, OrgId};
use crate::record::CustomerSnapshot;
use crate::store::BoxError;

/// The directory could not answer (its database is down, say). Keeps the source error.
#[derive(Debug, thiserror::Error)]
#[error("the customer directory failed")]
pub struct DirectoryError(#[source] pub BoxError);

/// Finds an organisation's customers by internal id or by external id.
///
/// A customer of another organisation must never be found: both methods take the organisation.
///
/// Snapshots are handed out behind an [`Arc`] because every session minted for a customer keeps
/// one: a directory that caches (like [`StaticDirectory`]) shares one allocation among all of them,
/// and one that reads a database wraps what it read in `Arc::new`.
#[async_trait]
pub trait CustomerDirectory: Send + Sync + 'static {
    /// The customer of `org` with internal id `id`, or `None`.
    ///
    /// # Errors
    ///
    /// [`DirectoryError`] when the directory cannot answer.
    async fn find_by_id(
        &self,
        org: OrgId,
        id: CustomerId,
    ) -> Result<Option<Arc<CustomerSnapshot>>, DirectoryError>;

    /// The customer of `org` with external id `external_id`, or `None`.
    ///
    /// # Errors
    ///
    /// [`DirectoryError`] when the directory cannot answer.
    async fn find_by_external_id(
        &self,
        org: OrgId,
        external_id: &str,
    ) -> Result<Option<Arc<CustomerSnapshot>>, DirectoryError>;

    /// Whether [`find_by_email`](Self::find_by_email) can find customers: `false` unless the
    /// directory overrides it. An organisation's login page, where a customer asks for a link by
    /// typing their address, exists only over a directory that can.
    fn finds_by_email(&self) -> bool {
        false
    }

    /// The customers of `org` whose email address is `email`, compared case-insensitively (a
    /// directory may return more; the engine keeps those whose address matches and at most
    /// five). The default finds none: implement it, and [`finds_by_email`](Self::finds_by_email),
    /// to give organisations a login page.
    ///
    /// # Errors
    ///
    /// The directory's own failure, with its source.
    async fn find_by_email(
        &self,
        org: OrgId,
        email: &str,
    ) -> Result<Vec<Arc<CustomerSnapshot>>, DirectoryError> {
        let _ = (org, email);
        Ok(Vec::new())
    }
}

/// Why [`StaticDirectory::insert`] refused a customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryInsertError {
    /// The organisation already has a customer with this internal id.
    #[error("the organisation already has a customer with this id")]
    DuplicateId,
    /// The organisation already has a customer with this external id.
    #[error("the organisation already has a customer with this external id")]
    DuplicateExternalId,
    /// The customer's fields break the limits a session record keeps.
    #[error("{0}")]
    Invalid(crate::request::InvalidRequest),
}

/// A fixed, in-memory directory: for configuration files, examples and tests.
///
/// # Examples
///
/// ```
/// # use portal_sessions::*;
/// let org = OrgId::from_bytes([1; 16]);
/// let mut directory = StaticDirectory::default();
/// directory.insert(org, CustomerSnapshot {
///     id: CustomerId::from_bytes([2; 16]),
///     external_id: "acme-001".into(),
///     name: "Acme Corp".into(),
///     email: None,
///     locale: None,
/// }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticDirectory {
    by_id: HashMap<(OrgId, CustomerId), Arc<CustomerSnapshot>>,
    by_external_id: HashMap<(OrgId, String), CustomerId>,
    /// Customers by their address, lower-cased (ASCII: the domain is case-insensitive, and
    /// providers treat the local part so too).
    by_email: HashMap<(OrgId, String), Vec<CustomerId>>,
}

impl StaticDirectory {
    /// Adds a customer to `org`.
    ///
    /// # Errors
    ///
    /// [`DirectoryInsertError`] when the id or external id is taken in `org`, or the customer's
    /// fields are invalid; nothing is added then.
    pub fn insert(
        &mut self,
        org: OrgId,
        customer: CustomerSnapshot,
    ) -> Result<(), DirectoryInsertError> {
        customer.validate().map_err(DirectoryInsertError::Invalid)?;
        if self.by_id.contains_key(&(org, customer.id)) {
            return Err(DirectoryInsertError::DuplicateId);
        }
        match self
            .by_external_id
            .entry((org, customer.external_id.clone()))
        {
            Entry::Occupied(_) => Err(DirectoryInsertError::DuplicateExternalId),
            Entry::Vacant(slot) => {
                slot.insert(customer.id);
                if let Some(email) = customer.email.as_deref().filter(|email| !email.is_empty()) {
                    self.by_email
                        .entry((org, email.to_ascii_lowercase()))
                        .or_default()
                        .push(customer.id);
                }
                self.by_id.insert((org, customer.id), Arc::new(customer));
                Ok(())
            }
        }
    }
}

#[async_trait]
impl CustomerDirectory for StaticDirectory {
    async fn find_by_id(
        &self,
        org: OrgId,
        id: CustomerId,
    ) -> Result<Option<Arc<CustomerSnapshot>>, DirectoryError> {
        Ok(self.by_id.get(&(org, id)).cloned())
    }

    async fn find_by_external_id(
        &self,
        org: OrgId,
        external_id: &str,
    ) -> Result<Option<Arc<CustomerSnapshot>>, DirectoryError> {
        Ok(self
            .by_external_id
            .get(&(org, external_id.to_owned()))
            .and_then(|id| self.by_id.get(&(org, *id)))
            .cloned())
    }

    fn finds_by_email(&self) -> bool {
        true
    }

    async fn find_by_email(
        &self,
        org: OrgId,
        email: &str,
    ) -> Result<Vec<Arc<CustomerSnapshot>>, DirectoryError> {
        Ok(self
            .by_email
            .get(&(org, email.to_ascii_lowercase()))
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_id.get(&(org, *id)))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn customer(id: u8, external_id: &str) -> CustomerSnapshot {
        CustomerSnapshot {
            id: CustomerId::from_bytes([id; 16]),
            external_id: external_id.into(),
            name: format!("Customer {id}"),
            email: None,
            locale: None,
        }
    }

    #[tokio::test]
    async fn external_ids_are_each_organisations_own() {
        let (one, two) = (OrgId::from_bytes([1; 16]), OrgId::from_bytes([2; 16]));
        let mut directory = StaticDirectory::default();
        directory.insert(one, customer(1, "acme")).unwrap();
        directory.insert(two, customer(2, "acme")).unwrap();
        assert!(matches!(
            directory.insert(one, customer(3, "acme")),
            Err(DirectoryInsertError::DuplicateExternalId)
        ));
        for (org, id) in [(one, 1), (two, 2)] {
            let found = directory.find_by_external_id(org, "acme").await.unwrap();
            assert_eq!(found.unwrap().id, CustomerId::from_bytes([id; 16]));
        }
        let three = OrgId::from_bytes([3; 16]);
        assert!(
            directory
                .find_by_external_id(three, "acme")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            directory
                .find_by_external_id(one, "acm")
                .await
                .unwrap()
                .is_none()
        );
        // The refused customer was not added under its id either.
        let refused = CustomerId::from_bytes([3; 16]);
        assert!(directory.find_by_id(one, refused).await.unwrap().is_none());
    }
}

//! The SQL of a list: one statement per filter, customer and cursor, each an index scan in list
//! order that stops at its limit.
//!
//! | filter | index (`_customer_list` with a customer) | condition beyond the index |
//! |---|---|---|
//! | all | `portal_sessions_org_list` | |
//! | openable | `portal_sessions_open_list` (unused, unrevoked) | not expired, created within the lifetime |
//! | active | `portal_sessions_active_list` (used, unrevoked) | not expired, created within the lifetime |
//! | live (openable or active) | `portal_sessions_unrevoked_list` | not expired, created within the lifetime |
//! | expired | `portal_sessions_unrevoked_list` | expired |
//! | used | `portal_sessions_used_list` | |
//! | revoked | `portal_sessions_revoked_list` | |
//!
//! A cursor is the row comparison `(created_at, id) < ($a, $b)`, which PostgreSQL reads as an index
//! condition on these descending indexes, so a page deep in a list costs what the first one does.

use std::time::SystemTime;

use portal_sessions::{ListFilter, ListQuery, MAX_TTL, Timestamp};
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

/// A list statement and its parameters, owned, ready to bind.
pub(crate) struct ListStatement {
    pub(crate) sql: String,
    /// Whether the statement depends on `now`: then it is planned for its values on every call,
    /// since a cached generic plan cannot see how narrow the time window is.
    pub(crate) planned_per_call: bool,
    values: Vec<Value>,
}

enum Value {
    Uuid(Uuid),
    Time(SystemTime),
    Bytes(Vec<u8>),
    Int(i64),
}

impl Value {
    fn bind(&self) -> (&(dyn ToSql + Sync), Type) {
        match self {
            Value::Uuid(value) => (value, Type::UUID),
            Value::Time(value) => (value, Type::TIMESTAMPTZ),
            Value::Bytes(value) => (value, Type::BYTEA),
            Value::Int(value) => (value, Type::INT8),
        }
    }
}

impl ListStatement {
    /// The statement that answers `query` from `table` (schema-qualified, quoted), selecting
    /// `columns`.
    pub(crate) fn new(table: &str, columns: &str, query: &ListQuery) -> ListStatement {
        let mut values = vec![Value::Uuid(*query.org_id.as_uuid())];
        let mut conditions = vec!["org_id = $1".to_owned()];
        // Binds a value and returns its parameter number.
        let mut bind = |value: Value| {
            values.push(value);
            values.len()
        };
        if let Some(customer) = query.customer_id {
            let n = bind(Value::Uuid(*customer.as_uuid()));
            conditions.push(format!("customer_id = ${n}"));
        }
        if let Some(after) = query.after {
            let created_at = bind(Value::Time(after.created_at.to_system_time()));
            let id = bind(Value::Bytes(after.id.as_bytes().to_vec()));
            conditions.push(format!("(created_at, id) < (${created_at}, ${id})"));
        }
        let state = match query.filter {
            ListFilter::All => None,
            ListFilter::OpenAt(_) => Some("used_at IS NULL AND revoked_at IS NULL"),
            ListFilter::ActiveAt(_) => Some("used_at IS NOT NULL AND revoked_at IS NULL"),
            ListFilter::LiveAt(_) => Some("revoked_at IS NULL"),
            ListFilter::ExpiredAt(_) => Some("revoked_at IS NULL"),
            ListFilter::Used => Some("used_at IS NOT NULL"),
            ListFilter::Revoked => Some("revoked_at IS NOT NULL"),
        };
        conditions.extend(state.map(str::to_owned));
        match query.filter {
            ListFilter::OpenAt(now) | ListFilter::ActiveAt(now) | ListFilter::LiveAt(now) => {
                let n = bind(Value::Time(now.to_system_time()));
                conditions.push(format!("expires_at > ${n}"));
                // Nothing created `max_lifetime` or longer before `now` can still be open.
                let horizon = now
                    .checked_sub(query.max_lifetime.min(MAX_TTL))
                    .unwrap_or(Timestamp::UNIX_EPOCH);
                let n = bind(Value::Time(horizon.to_system_time()));
                conditions.push(format!("created_at > ${n}"));
            }
            ListFilter::ExpiredAt(now) => {
                let n = bind(Value::Time(now.to_system_time()));
                conditions.push(format!("expires_at <= ${n}"));
            }
            ListFilter::All | ListFilter::Used | ListFilter::Revoked => {}
        }
        values.push(Value::Int(i64::try_from(query.limit).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE {} ORDER BY created_at DESC, id DESC LIMIT ${}",
            conditions.join(" AND "),
            values.len()
        );
        ListStatement {
            sql,
            planned_per_call: query.filter.now().is_some(),
            values,
        }
    }

    /// The parameters with their types, `$1` first.
    pub(crate) fn params(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.values.iter().map(Value::bind).collect()
    }
}

//! Shared by the PostgreSQL tests.

#![allow(unused_imports, unreachable_pub)]

pub use portal_sessions_postgres::testing::*;

//! API errors as the contract writes them: `{"error": {"type": ..., "message": ...}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portal_sessions::{EngineError, InvalidRequest, StoreError};

use crate::auth::AuthError;
use crate::refusal::Refusal;

/// An error answer of the `/v1` API.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request",
            message: message.into(),
            retry_after: None,
        }
    }

    /// Too many failed attempts from this client: 429 with `Retry-After`.
    pub(crate) fn rate_limited(retry_after: std::time::Duration) -> ApiError {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            kind: "rate_limited",
            message: "too many failed authentication attempts from your address; retry later"
                .to_owned(),
            retry_after: Some(retry_after),
        }
    }

    pub(crate) fn not_found(message: &str) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "not_found",
            message: message.to_owned(),
            retry_after: None,
        }
    }

    fn internal() -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "internal",
            message: "the server failed to handle the request".to_owned(),
            retry_after: None,
        }
    }

    fn unavailable() -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "unavailable",
            message: "the session store is unavailable; try again shortly".to_owned(),
            retry_after: None,
        }
    }
}

/// Logs a failure with its chain of sources. No error of this workspace carries a secret.
pub(crate) fn log_failure(error: &(dyn std::error::Error + 'static)) {
    tracing::error!(error = %portal_sessions::ErrorChain(error), "request failed");
}

/// Whether a store failure is worth a retry by the client (503) rather than a bug (500).
pub(crate) fn is_transient(error: &StoreError) -> bool {
    matches!(error, StoreError::Unavailable(_) | StoreError::Timeout)
}

impl From<InvalidRequest> for ApiError {
    fn from(invalid: InvalidRequest) -> ApiError {
        ApiError::invalid(wire_message(invalid))
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        match error {
            EngineError::InvalidRequest(invalid) => ApiError::invalid(wire_message(invalid)),
            EngineError::CustomerNotFound => {
                ApiError::not_found("no customer in your organization matches the id you sent")
            }
            EngineError::SessionNotFound => ApiError::not_found("no such portal session"),
            EngineError::Store(store) if is_transient(&store) => {
                log_failure(&store);
                ApiError::unavailable()
            }
            EngineError::Contention => ApiError::unavailable(),
            other => {
                log_failure(&other);
                ApiError::internal()
            }
        }
    }
}

/// A refused request in the API's own field names (core speaks in domain words).
fn wire_message(invalid: InvalidRequest) -> &'static str {
    match invalid {
        InvalidRequest::MissingCustomer => "one of customerId or customerExternalId is required",
        InvalidRequest::ExternalIdLength => {
            "customerExternalId must be between 1 and 255 characters"
        }
        InvalidRequest::ExternalIdCharacters => {
            "customerExternalId must not contain control characters"
        }
        InvalidRequest::CustomerMismatch => {
            "customerId and customerExternalId name different customers"
        }
        InvalidRequest::ReturnUrl => {
            "returnUrl must be an absolute http or https URL of at most 2048 characters"
        }
        InvalidRequest::Limit => "limit must be an integer between 1 and 100",
        InvalidRequest::Lifetime => {
            "expiresInSeconds must be an integer between 60 and the configured session lifetime"
        }
        InvalidRequest::TwoCustomers => "send customerId or customerExternalId, not both",
        InvalidRequest::StartingAfter => {
            "startingAfter must name a portal session of your organization"
        }
        InvalidRequest::CustomerRecord => {
            "the customer's name, email or external id is too long or contains control characters"
        }
        InvalidRequest::DeepLinkInvoice => {
            "invoice must be an invoice number of 1 to 64 characters without control characters, \
             for a session whose features include invoices"
        }
        InvalidRequest::DeepLinkSection => "section must be one of the session's features",
        _ => "the request is invalid",
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> ApiError {
        if error.is_unavailable() {
            log_failure(&error);
            return ApiError::unavailable();
        }
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            kind: "authentication_error",
            message: error.message().to_owned(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let refusal = match self.kind {
            "invalid_request" => Some(Refusal::InvalidRequest),
            "authentication_error" => Some(Refusal::Unauthenticated),
            "not_found" => Some(Refusal::NotFound),
            "rate_limited" => Some(Refusal::ApiKeyLimit),
            _ => None,
        };
        let body = serde_json::json!({
            "error": { "type": self.kind, "message": self.message }
        });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(retry_after) = self.retry_after {
            if let Ok(value) = axum::http::HeaderValue::from_str(&retry_after.as_secs().to_string())
            {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        match refusal {
            Some(refusal) => refusal.mark(response),
            None => response,
        }
    }
}

//! English: the default, and the wording the HTTP contract quotes.

use super::{Message, Statuses, Texts, Unit};

/// Every English text of the pages.
pub(crate) static TEXTS: Texts = Texts {
    billing_portal: "Billing portal",
    secure_billing_portal: "Secure billing portal",
    back: "Back",
    back_to: "Back to {org}",

    open_title: "Open your billing portal",
    opening: "Opening your billing portal…",
    open_text: "This link works once and signs you in for up to {lifetime}.",
    open_button: "Open my billing portal",

    invalid_link: Message {
        title: "Invalid link",
        text: "This link is not valid. Ask for a new link to your billing portal.",
    },
    link_used: Message {
        title: "Link already used",
        text: "This link has already been used. Links to the billing portal work once: ask for a \
               new one.",
    },
    link_expired: Message {
        title: "Link expired",
        text: "This link has expired. Links to the billing portal work for {lifetime}: ask for a \
               new one.",
    },
    link_revoked: Message {
        title: "Link revoked",
        text: "This link was revoked and no longer works. Ask for a new link if you still need \
               one.",
    },
    session_ended: Message {
        title: "Session ended",
        text: "Your billing portal session has ended. To see your billing again, ask for a new \
               link.",
    },
    signed_out: Message {
        title: "Signed out",
        text: "You are signed out of your billing portal. To see your billing again, ask for a \
               new link.",
    },
    billing_unavailable: Message {
        title: "Billing data unavailable",
        text: "We could not load your billing data just now. Please try again in a moment.",
    },
    something_went_wrong: Message {
        title: "Something went wrong",
        text: "We could not open your billing portal just now. Please try again in a moment.",
    },
    too_many_attempts: Message {
        title: "Too many attempts",
        text: "Too many invalid links or sessions were tried from your network. Please wait a \
               minute and try again.",
    },
    request_refused: Message {
        title: "Request refused",
        text: "This request came from another website, so it was not carried out. Open your link \
               directly.",
    },

    portal_title: "Billing",
    portal_intro: "Your billing with {org}. For your security this page signs you out at {time}.",
    portal_intro_us: "us",
    subscription: "Subscription",
    plan: "Plan",
    status: "Status",
    renews_on: "Renews on",
    no_subscription: "No active subscription.",
    per_month: "month",
    per_year: "year",
    invoices: "Invoices",
    invoice: "Invoice",
    date: "Date",
    amount: "Amount",
    no_invoices: "No invoices yet.",
    usage: "Usage",
    metric: "Metric",
    period: "Period",
    quantity: "Quantity",
    no_usage: "No metered usage this period.",
    profile: "Profile",
    name: "Name",
    email: "Email",
    customer_id: "Customer ID",
    none_on_file: "none on file",
    portal_footer: "Links to this portal work once and expire after {lifetime}.",
    sign_out: "Sign out",
    statuses: Statuses {
        paid: "paid",
        open: "open",
        void: "void",
        active: "active",
        trialing: "trialing",
        past_due: "past_due",
        canceled: "canceled",
    },

    hour: Unit {
        one: "hour",
        many: "hours",
    },
    minute: Unit {
        one: "minute",
        many: "minutes",
    },
    second: Unit {
        one: "second",
        many: "seconds",
    },
    and: "and",
    less_than_a_second: "less than a second",

    date_pattern: "{d} {b} {Y}",
    instant: "{date}, {time} UTC",
};

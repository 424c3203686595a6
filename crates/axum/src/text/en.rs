//! English: the default, and the wording the HTTP contract quotes.

use super::{EmailTexts, InvoiceTexts, Message, RecoveryTexts, Statuses, Texts, Unit};

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
    open_in_new_tab: "Open your billing portal in a new tab",

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

    link_email: EmailTexts {
        subject: "Your link to {portal}",
        portal_of: "the {org} billing portal",
        portal: "your billing portal",
        greeting: "Hello,",
        recovery: "Here is your new link to {portal}.",
        login: "You asked for a link to {portal}: here it is.",
        fallback: "If the button does not work, copy this address into your browser:",
        expiry: "The link works once and expires in {lifetime}.",
        ignore: "If you did not ask for this, you can ignore this email: nobody can use the link \
                 without access to your inbox.",
    },
    recovery: RecoveryTexts {
        offer: "We can email a new link to the address on file for your account.",
        email_me: "Email me a new link",
        login_link: "Get a new link by email",
        contact: "To get a new link, please contact {org}.",
        the_org: "the company that sent you this link",
        sent: Message {
            title: "Check your email",
            text: "We sent a new link to {address}. It works once and expires in {lifetime}.",
        },
        not_sent: Message {
            title: "We could not send the email",
            text: "Our mail server did not take the message. Please try again in a few minutes.",
        },
        refused: Message {
            title: "We cannot send a new link for this one",
            text: "This link can no longer ask for a new one.",
        },
        too_many: Message {
            title: "Too many emails",
            text: "We already sent several links to your address in the last hour. Please check \
                   your inbox, or try again later.",
        },
        login_title: "Get a link to your billing portal",
        login_text: "Enter the email address {org} has for your account. If it belongs to an \
                     account, we will send a link to your billing portal to that address.",
        address_label: "Email address",
        login_button: "Email me a link",
        login_sent: Message {
            title: "Check your email",
            text: "If this address belongs to an account, a link is on its way. It works once \
                   and expires in {lifetime}.",
        },
        login_invalid: Message {
            title: "Enter your email address",
            text: "That does not look like an email address. Please check it and try again.",
        },
    },
    invoice_page: InvoiceTexts {
        pay: "Pay",
        pdf: "PDF",
        to_pay: "To pay",
        due_line: "Invoice {number}: {amount}",
        title: "Invoice {number}",
        issued: "Issued",
        back_to_portal: "Back to your billing portal",
        not_found: Message {
            title: "Invoice not found",
            text: "This invoice is not in your billing portal.",
        },
    },
};

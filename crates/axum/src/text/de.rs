//! German, addressing the customer as „Sie“.

use super::{Message, Statuses, Texts, Unit};

/// Every German text of the pages.
pub(crate) static TEXTS: Texts = Texts {
    billing_portal: "Abrechnungsportal",
    secure_billing_portal: "Sicheres Abrechnungsportal",
    back: "Zurück",
    back_to: "Zurück zu {org}",

    open_title: "Ihr Abrechnungsportal öffnen",
    opening: "Ihr Abrechnungsportal wird geöffnet …",
    open_text: "Dieser Link funktioniert nur einmal und meldet Sie für bis zu {lifetime} an.",
    open_button: "Mein Abrechnungsportal öffnen",

    invalid_link: Message {
        title: "Ungültiger Link",
        text: "Dieser Link ist ungültig. Fordern Sie einen neuen Link zu Ihrem Abrechnungsportal \
               an.",
    },
    link_used: Message {
        title: "Link bereits verwendet",
        text: "Dieser Link wurde bereits verwendet. Links zum Abrechnungsportal funktionieren nur \
               einmal: Fordern Sie einen neuen an.",
    },
    link_expired: Message {
        title: "Link abgelaufen",
        text: "Dieser Link ist abgelaufen. Links zum Abrechnungsportal gelten {lifetime} lang: \
               Fordern Sie einen neuen an.",
    },
    link_revoked: Message {
        title: "Link widerrufen",
        text: "Dieser Link wurde widerrufen und funktioniert nicht mehr. Fordern Sie einen neuen \
               Link an, falls Sie noch einen benötigen.",
    },
    session_ended: Message {
        title: "Sitzung beendet",
        text: "Ihre Sitzung im Abrechnungsportal ist beendet. Um Ihre Abrechnung wieder zu sehen, \
               fordern Sie einen neuen Link an.",
    },
    signed_out: Message {
        title: "Abgemeldet",
        text: "Sie sind von Ihrem Abrechnungsportal abgemeldet. Um Ihre Abrechnung wieder zu \
               sehen, fordern Sie einen neuen Link an.",
    },
    billing_unavailable: Message {
        title: "Abrechnungsdaten nicht verfügbar",
        text: "Wir konnten Ihre Abrechnungsdaten gerade nicht laden. Bitte versuchen Sie es in \
               einem Moment erneut.",
    },
    something_went_wrong: Message {
        title: "Etwas ist schiefgelaufen",
        text: "Wir konnten Ihr Abrechnungsportal gerade nicht öffnen. Bitte versuchen Sie es in \
               einem Moment erneut.",
    },
    too_many_attempts: Message {
        title: "Zu viele Versuche",
        text: "Aus Ihrem Netzwerk wurden zu viele ungültige Links oder Sitzungen ausprobiert. \
               Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
    },
    request_refused: Message {
        title: "Anfrage abgelehnt",
        text: "Diese Anfrage kam von einer anderen Website und wurde daher nicht ausgeführt. \
               Öffnen Sie Ihren Link direkt.",
    },

    portal_title: "Abrechnung",
    portal_intro: "Ihre Abrechnung bei {org}. Zu Ihrer Sicherheit meldet diese Seite Sie am \
                   {time} ab.",
    portal_intro_us: "uns",
    subscription: "Abonnement",
    plan: "Tarif",
    status: "Status",
    renews_on: "Verlängerung am",
    no_subscription: "Kein aktives Abonnement.",
    per_month: "Monat",
    per_year: "Jahr",
    invoices: "Rechnungen",
    invoice: "Rechnung",
    date: "Datum",
    amount: "Betrag",
    no_invoices: "Noch keine Rechnungen.",
    usage: "Nutzung",
    metric: "Messgröße",
    period: "Zeitraum",
    quantity: "Menge",
    no_usage: "Keine gemessene Nutzung in diesem Zeitraum.",
    profile: "Profil",
    name: "Name",
    email: "E-Mail",
    customer_id: "Kunden-ID",
    none_on_file: "keine hinterlegt",
    portal_footer: "Links zu diesem Portal funktionieren nur einmal und laufen nach {lifetime} ab.",
    sign_out: "Abmelden",
    statuses: Statuses {
        paid: "bezahlt",
        open: "offen",
        void: "storniert",
        active: "aktiv",
        trialing: "Testphase",
        past_due: "überfällig",
        canceled: "gekündigt",
    },

    hour: Unit {
        one: "Stunde",
        many: "Stunden",
    },
    minute: Unit {
        one: "Minute",
        many: "Minuten",
    },
    second: Unit {
        one: "Sekunde",
        many: "Sekunden",
    },
    and: "und",
    less_than_a_second: "weniger als eine Sekunde",

    date_pattern: "{d}. {B} {Y}",
    instant: "{date} um {time} UTC",
};

//! German, addressing the customer as „Sie“.

use super::{EmailTexts, InvoiceTexts, Message, RecoveryTexts, Statuses, Texts, Unit};

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
    open_in_new_tab: "Ihr Abrechnungsportal in einem neuen Tab öffnen",

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

    link_email: EmailTexts {
        subject: "Ihr Link zu {portal}",
        portal_of: "Ihrem Abrechnungsportal bei {org}",
        portal: "Ihrem Abrechnungsportal",
        greeting: "Guten Tag,",
        // Lower case after the greeting's comma, as German letters write it.
        recovery: "hier ist Ihr neuer Link zu {portal}.",
        login: "Sie haben einen Link zu {portal} angefordert. Hier ist er.",
        fallback: "Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren \
                   Browser:",
        expiry: "Der Link funktioniert nur einmal und läuft in {lifetime} ab.",
        ignore: "Falls Sie ihn nicht angefordert haben, können Sie diese E-Mail ignorieren: Ohne \
                 Zugriff auf Ihr Postfach kann niemand den Link verwenden.",
    },
    recovery: RecoveryTexts {
        offer: "Wir können einen neuen Link an die E-Mail-Adresse senden, die für Ihr Konto \
                hinterlegt ist.",
        email_me: "Neuen Link per E-Mail senden",
        login_link: "Neuen Link per E-Mail anfordern",
        contact: "Für einen neuen Link wenden Sie sich bitte an {org}.",
        the_org: "das Unternehmen, das Ihnen diesen Link geschickt hat",
        sent: Message {
            title: "Sehen Sie in Ihr Postfach",
            text: "Wir haben einen neuen Link an {address} gesendet. Er funktioniert einmal und \
                   läuft in {lifetime} ab.",
        },
        not_sent: Message {
            title: "Die E-Mail konnte nicht gesendet werden",
            text: "Unser Mailserver hat die Nachricht nicht angenommen. Bitte versuchen Sie es \
                   in einigen Minuten erneut.",
        },
        refused: Message {
            title: "Für diesen Link können wir keinen neuen senden",
            text: "Mit diesem Link kann kein neuer mehr angefordert werden.",
        },
        too_many: Message {
            title: "Zu viele E-Mails",
            text: "Wir haben in der letzten Stunde bereits mehrere Links an Ihre Adresse \
                   gesendet. Bitte sehen Sie in Ihr Postfach oder versuchen Sie es später erneut.",
        },
        login_title: "Link zu Ihrem Abrechnungsportal anfordern",
        login_text: "Geben Sie die E-Mail-Adresse ein, die {org} für Ihr Konto hat. Gehört sie \
                     zu einem Konto, senden wir einen Link zu Ihrem Abrechnungsportal an diese \
                     Adresse.",
        address_label: "E-Mail-Adresse",
        login_button: "Link per E-Mail senden",
        login_sent: Message {
            title: "Sehen Sie in Ihr Postfach",
            text: "Gehört diese Adresse zu einem Konto, ist ein Link unterwegs. Er funktioniert \
                   einmal und läuft in {lifetime} ab.",
        },
        login_invalid: Message {
            title: "Geben Sie Ihre E-Mail-Adresse ein",
            text: "Das sieht nicht nach einer E-Mail-Adresse aus. Bitte prüfen Sie sie und \
                   versuchen Sie es erneut.",
        },
    },
    invoice_page: InvoiceTexts {
        pay: "Bezahlen",
        pdf: "PDF",
        to_pay: "Zu bezahlen",
        due_line: "Rechnung {number}: {amount}",
        title: "Rechnung {number}",
        issued: "Ausgestellt",
        back_to_portal: "Zurück zu Ihrem Abrechnungsportal",
        not_found: Message {
            title: "Rechnung nicht gefunden",
            text: "Diese Rechnung ist nicht in Ihrem Abrechnungsportal.",
        },
    },
};

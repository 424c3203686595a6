//! French, addressing the customer as « vous ». A no-break space (U+00A0) goes before « : ».

use super::{EmailTexts, InvoiceTexts, Message, RecoveryTexts, Statuses, Texts, Unit};

/// Every French text of the pages.
pub(crate) static TEXTS: Texts = Texts {
    billing_portal: "Portail de facturation",
    secure_billing_portal: "Portail de facturation sécurisé",
    back: "Retour",
    back_to: "Retour à {org}",

    open_title: "Ouvrir votre portail de facturation",
    opening: "Ouverture de votre portail de facturation…",
    open_text: "Ce lien ne fonctionne qu’une fois et vous connecte pour {lifetime} au maximum.",
    open_button: "Ouvrir mon portail de facturation",
    open_in_new_tab: "Ouvrir votre portail de facturation dans un nouvel onglet",

    invalid_link: Message {
        title: "Lien non valide",
        text: "Ce lien n’est pas valide. Demandez un nouveau lien vers votre portail de \
               facturation.",
    },
    link_used: Message {
        title: "Lien déjà utilisé",
        text: "Ce lien a déjà été utilisé. Les liens vers le portail de facturation ne \
               fonctionnent qu’une fois\u{a0}: demandez-en un nouveau.",
    },
    link_expired: Message {
        title: "Lien expiré",
        text: "Ce lien a expiré. Les liens vers le portail de facturation sont valables \
               {lifetime}\u{a0}: demandez-en un nouveau.",
    },
    link_revoked: Message {
        title: "Lien révoqué",
        text: "Ce lien a été révoqué et ne fonctionne plus. Demandez un nouveau lien si vous en \
               avez encore besoin.",
    },
    session_ended: Message {
        title: "Session terminée",
        text: "Votre session du portail de facturation est terminée. Pour consulter à nouveau \
               votre facturation, demandez un nouveau lien.",
    },
    signed_out: Message {
        title: "Déconnexion effectuée",
        text: "Votre session du portail de facturation est fermée. Pour consulter à nouveau votre \
               facturation, demandez un nouveau lien.",
    },
    billing_unavailable: Message {
        title: "Données de facturation indisponibles",
        text: "Nous n’avons pas pu charger vos données de facturation pour le moment. Veuillez \
               réessayer dans un instant.",
    },
    something_went_wrong: Message {
        title: "Une erreur est survenue",
        text: "Nous n’avons pas pu ouvrir votre portail de facturation pour le moment. Veuillez \
               réessayer dans un instant.",
    },
    too_many_attempts: Message {
        title: "Trop de tentatives",
        text: "Trop de liens ou de sessions non valides ont été essayés depuis votre réseau. \
               Veuillez patienter une minute, puis réessayer.",
    },
    request_refused: Message {
        title: "Requête refusée",
        text: "Cette requête provenait d’un autre site web\u{a0}; elle n’a donc pas été \
               exécutée. Ouvrez directement votre lien.",
    },

    portal_title: "Facturation",
    portal_intro: "Votre facturation chez {org}. Pour votre sécurité, cette page vous \
                   déconnectera le {time}.",
    portal_intro_us: "nous",
    subscription: "Abonnement",
    plan: "Formule",
    status: "Statut",
    renews_on: "Renouvellement le",
    no_subscription: "Aucun abonnement actif.",
    per_month: "mois",
    per_year: "an",
    invoices: "Factures",
    invoice: "Facture",
    date: "Date",
    amount: "Montant",
    no_invoices: "Aucune facture pour le moment.",
    usage: "Consommation",
    metric: "Indicateur",
    period: "Période",
    quantity: "Quantité",
    no_usage: "Aucune consommation mesurée sur cette période.",
    profile: "Profil",
    name: "Nom",
    email: "E-mail",
    customer_id: "Identifiant client",
    none_on_file: "aucune adresse enregistrée",
    portal_footer: "Les liens vers ce portail ne fonctionnent qu’une fois et expirent au bout de \
                    {lifetime}.",
    sign_out: "Se déconnecter",
    statuses: Statuses {
        paid: "payée",
        open: "à payer",
        void: "annulée",
        active: "actif",
        trialing: "période d’essai",
        past_due: "paiement en retard",
        canceled: "résilié",
    },

    hour: Unit {
        one: "heure",
        many: "heures",
    },
    minute: Unit {
        one: "minute",
        many: "minutes",
    },
    second: Unit {
        one: "seconde",
        many: "secondes",
    },
    and: "et",
    less_than_a_second: "moins d’une seconde",

    date_pattern: "{d} {B} {Y}",
    instant: "{date} à {time} UTC",

    link_email: EmailTexts {
        subject: "Votre lien vers {portal}",
        portal_of: "votre portail de facturation chez {org}",
        portal: "votre portail de facturation",
        greeting: "Bonjour,",
        recovery: "Voici votre nouveau lien vers {portal}.",
        login: "Vous avez demandé un lien vers {portal}\u{a0}: le voici.",
        fallback: "Si le bouton ne fonctionne pas, copiez cette adresse dans votre \
                   navigateur\u{a0}:",
        expiry: "Le lien ne fonctionne qu’une fois et expire dans {lifetime}.",
        ignore: "Si vous n’êtes pas à l’origine de cette demande, vous pouvez ignorer cet \
                 e-mail\u{a0}: personne ne peut utiliser le lien sans accéder à votre boîte de \
                 réception.",
    },
    recovery: RecoveryTexts {
        offer: "Nous pouvons envoyer un nouveau lien à l’adresse e-mail enregistrée pour votre \
                compte.",
        email_me: "M’envoyer un nouveau lien",
        login_link: "Recevoir un nouveau lien par e-mail",
        contact: "Pour obtenir un nouveau lien, contactez {org}.",
        the_org: "l’entreprise qui vous a envoyé ce lien",
        sent: Message {
            title: "Consultez votre messagerie",
            text: "Nous avons envoyé un nouveau lien à {address}. Il ne fonctionne qu’une fois \
                   et expire dans {lifetime}.",
        },
        not_sent: Message {
            title: "L’e-mail n’a pas pu être envoyé",
            text: "Notre serveur de messagerie n’a pas accepté le message. Réessayez dans \
                   quelques minutes.",
        },
        refused: Message {
            title: "Impossible d’envoyer un nouveau lien pour celui-ci",
            text: "Ce lien ne permet plus d’en demander un nouveau.",
        },
        too_many: Message {
            title: "Trop d’e-mails",
            text: "Nous avons déjà envoyé plusieurs liens à votre adresse au cours de la \
                   dernière heure. Consultez votre boîte de réception ou réessayez plus tard.",
        },
        login_title: "Recevoir un lien vers votre portail de facturation",
        login_text: "Saisissez l’adresse e-mail que {org} a pour votre compte. Si elle \
                     correspond à un compte, nous y enverrons un lien vers votre portail de \
                     facturation.",
        address_label: "Adresse e-mail",
        login_button: "M’envoyer un lien",
        login_sent: Message {
            title: "Consultez votre messagerie",
            text: "Si cette adresse correspond à un compte, un lien est en route. Il ne \
                   fonctionne qu’une fois et expire dans {lifetime}.",
        },
        login_invalid: Message {
            title: "Saisissez votre adresse e-mail",
            text: "Ceci ne ressemble pas à une adresse e-mail. Vérifiez-la et réessayez.",
        },
    },
    invoice_page: InvoiceTexts {
        pay: "Payer",
        pdf: "PDF",
        to_pay: "À payer",
        due_line: "Facture {number}\u{a0}: {amount}",
        title: "Facture {number}",
        issued: "Émise le",
        back_to_portal: "Retour à votre portail de facturation",
        not_found: Message {
            title: "Facture introuvable",
            text: "Cette facture ne figure pas dans votre portail de facturation.",
        },
    },
};

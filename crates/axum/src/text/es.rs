//! Spanish, addressing the customer as «usted», in wording shared by Spain and Latin America.

use super::{EmailTexts, InvoiceTexts, Message, RecoveryTexts, Statuses, Texts, Unit};

/// Every Spanish text of the pages.
pub(crate) static TEXTS: Texts = Texts {
    billing_portal: "Portal de facturación",
    secure_billing_portal: "Portal de facturación seguro",
    back: "Volver",
    back_to: "Volver a {org}",

    open_title: "Abra su portal de facturación",
    opening: "Abriendo su portal de facturación…",
    open_text: "Este enlace solo funciona una vez y le da acceso durante un máximo de {lifetime}.",
    open_button: "Abrir mi portal de facturación",
    open_in_new_tab: "Abrir su portal de facturación en una pestaña nueva",

    invalid_link: Message {
        title: "Enlace no válido",
        text: "Este enlace no es válido. Solicite un nuevo enlace a su portal de facturación.",
    },
    link_used: Message {
        title: "Enlace ya utilizado",
        text: "Este enlace ya se ha utilizado. Los enlaces al portal de facturación solo \
               funcionan una vez: solicite uno nuevo.",
    },
    link_expired: Message {
        title: "Enlace caducado",
        text: "Este enlace ha caducado. Los enlaces al portal de facturación son válidos durante \
               {lifetime}: solicite uno nuevo.",
    },
    link_revoked: Message {
        title: "Enlace revocado",
        text: "Este enlace se ha revocado y ya no funciona. Solicite un nuevo enlace si todavía lo \
               necesita.",
    },
    session_ended: Message {
        title: "Sesión finalizada",
        text: "Su sesión del portal de facturación ha finalizado. Para volver a ver su \
               facturación, solicite un nuevo enlace.",
    },
    signed_out: Message {
        title: "Sesión cerrada",
        text: "Ha cerrado la sesión de su portal de facturación. Para volver a ver su \
               facturación, solicite un nuevo enlace.",
    },
    billing_unavailable: Message {
        title: "Datos de facturación no disponibles",
        text: "No hemos podido cargar sus datos de facturación en este momento. Vuelva a \
               intentarlo dentro de un momento.",
    },
    something_went_wrong: Message {
        title: "Algo ha salido mal",
        text: "No hemos podido abrir su portal de facturación en este momento. Vuelva a \
               intentarlo dentro de un momento.",
    },
    too_many_attempts: Message {
        title: "Demasiados intentos",
        text: "Se han probado demasiados enlaces o sesiones no válidos desde su red. Espere un \
               minuto y vuelva a intentarlo.",
    },
    request_refused: Message {
        title: "Solicitud rechazada",
        text: "Esta solicitud procedía de otro sitio web, por lo que no se ha llevado a cabo. \
               Abra su enlace directamente.",
    },

    portal_title: "Facturación",
    portal_intro: "Su facturación con {org}. Por su seguridad, esta página cerrará su sesión el \
                   {time}.",
    portal_intro_us: "nosotros",
    subscription: "Suscripción",
    plan: "Plan",
    status: "Estado",
    renews_on: "Se renueva el",
    no_subscription: "No hay ninguna suscripción activa.",
    per_month: "mes",
    per_year: "año",
    invoices: "Facturas",
    invoice: "Factura",
    date: "Fecha",
    amount: "Importe",
    no_invoices: "Todavía no hay facturas.",
    usage: "Consumo",
    metric: "Métrica",
    period: "Período",
    quantity: "Cantidad",
    no_usage: "No hay consumo medido en este período.",
    profile: "Perfil",
    name: "Nombre",
    email: "Correo electrónico",
    customer_id: "ID de cliente",
    none_on_file: "no registrado",
    portal_footer: "Los enlaces a este portal solo funcionan una vez y caducan al cabo de \
                    {lifetime}.",
    sign_out: "Cerrar sesión",
    statuses: Statuses {
        paid: "pagada",
        open: "pendiente",
        void: "anulada",
        active: "activa",
        trialing: "en prueba",
        past_due: "pago atrasado",
        canceled: "cancelada",
    },

    hour: Unit {
        one: "hora",
        many: "horas",
    },
    minute: Unit {
        one: "minuto",
        many: "minutos",
    },
    second: Unit {
        one: "segundo",
        many: "segundos",
    },
    and: "y",
    less_than_a_second: "menos de un segundo",

    date_pattern: "{d} de {B} de {Y}",
    instant: "{date}, {time} UTC",

    link_email: EmailTexts {
        subject: "Enlace a {portal}",
        portal_of: "su portal de facturación de {org}",
        portal: "su portal de facturación",
        greeting: "Hola:",
        recovery: "Aquí tiene un nuevo enlace a {portal}.",
        login: "Ha solicitado un enlace a {portal}: aquí lo tiene.",
        fallback: "Si el botón no funciona, copie esta dirección en su navegador:",
        expiry: "El enlace solo funciona una vez y caduca en {lifetime}.",
        ignore: "Si no lo ha solicitado, puede ignorar este correo: nadie puede usar el enlace sin \
                 acceder a su bandeja de entrada.",
    },
    recovery: RecoveryTexts {
        offer: "Podemos enviar un enlace nuevo a la dirección de correo registrada en su cuenta.",
        email_me: "Enviarme un enlace nuevo",
        login_link: "Recibir un enlace nuevo por correo",
        contact: "Para obtener un enlace nuevo, póngase en contacto con {org}.",
        the_org: "la empresa que le envió este enlace",
        sent: Message {
            title: "Revise su correo",
            text: "Enviamos un enlace nuevo a {address}. Funciona una sola vez y caduca en \
                   {lifetime}.",
        },
        not_sent: Message {
            title: "No pudimos enviar el correo",
            text: "Nuestro servidor de correo no aceptó el mensaje. Vuelva a intentarlo en unos \
                   minutos.",
        },
        refused: Message {
            title: "No podemos enviar un enlace nuevo para este",
            text: "Este enlace ya no puede pedir uno nuevo.",
        },
        too_many: Message {
            title: "Demasiados correos",
            text: "Ya enviamos varios enlaces a su dirección en la última hora. Revise su \
                   bandeja de entrada o vuelva a intentarlo más tarde.",
        },
        login_title: "Recibir un enlace a su portal de facturación",
        login_text: "Introduzca la dirección de correo que {org} tiene para su cuenta. Si \
                     corresponde a una cuenta, le enviaremos un enlace a su portal de facturación.",
        address_label: "Correo electrónico",
        login_button: "Enviarme un enlace",
        login_sent: Message {
            title: "Revise su correo",
            text: "Si esta dirección corresponde a una cuenta, hay un enlace en camino. Funciona \
                   una sola vez y caduca en {lifetime}.",
        },
        login_invalid: Message {
            title: "Introduzca su correo electrónico",
            text: "Eso no parece una dirección de correo. Revísela y vuelva a intentarlo.",
        },
    },
    invoice_page: InvoiceTexts {
        pay: "Pagar",
        pdf: "PDF",
        to_pay: "Por pagar",
        due_line: "Factura {number}: {amount}",
        title: "Factura {number}",
        issued: "Emitida",
        back_to_portal: "Volver a su portal de facturación",
        not_found: Message {
            title: "Factura no encontrada",
            text: "Esta factura no está en su portal de facturación.",
        },
    },
};

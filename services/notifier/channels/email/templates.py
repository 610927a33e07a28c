"""The words of the e-mails, in English and French: plain words for each requester-visible event.

Each event type has a headline (the subject) and a lead sentence; `{placeholders}` are filled
from the event's public data and the ticket. Variants (`.self`, `.automatic`) refine a type.
"""

from __future__ import annotations

EVENT_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "ticket.submitted": (
            "We have received your request",
            "Your request “{title}” has been registered. We will keep you informed of each step.",
        ),
        "ticket.triaged": (
            "Your request has been reviewed",
            "Your request has been analysed and given priority {priority}.",
        ),
        "ticket.articles_suggested": (
            "Articles that may help you",
            "While our team looks at your request, these articles may already solve your problem:",
        ),
        "ticket.routed": (
            "Your request is with our support team",
            "Your request is in the queue of our level {tier} support team.",
        ),
        "ticket.assigned": ("Someone is working on your request", "{assignee} is now taking care of your request."),
        "ticket.commented": ("New message about your request", "{author} has written about your request:"),
        "ticket.info_requested": ("We need more information", "{author} needs some information from you to continue:"),
        "ticket.requester_replied": (
            "We have received your reply",
            "Thank you: your reply has been passed on to the team working on your request.",
        ),
        "ticket.escalated": (
            "Your request has been passed to a specialised team",
            "To solve your problem, your request has been passed to our level {to_tier} support team.",
        ),
        "ticket.resolved": ("Your request has been resolved", "We have resolved your request."),
        "ticket.resolved.self": (
            "Your request has been resolved",
            "Your request has been marked as solved with the help of an article.",
        ),
        "ticket.alert_repeated": (
            "The alert was raised again",
            "Your monitoring system raised this alert again ({occurrences} times in all); it is the same ticket.",
        ),
        "ticket.reopened": (
            "Your request has been reopened",
            "Your request is open again and back with the team that resolved it.",
        ),
        "ticket.closed": (
            "Your request is closed",
            "Your request is now closed. If the problem comes back, please submit a new request.",
        ),
        "ticket.closed.automatic": (
            "Your request is closed",
            "Your request was closed automatically some time after its resolution. "
            "If the problem comes back, please submit a new request.",
        ),
        "ticket.rated": (
            "Thank you for your feedback",
            "You rated our help {score}/5. Thank you: it helps us improve.",
        ),
        "default": ("Your request has been updated", "There is news about your request."),
    },
    "fr": {
        "ticket.submitted": (
            "Nous avons bien reçu votre demande",
            "Votre demande « {title} » est enregistrée. Nous vous tiendrons informé(e) de chaque étape.",
        ),
        "ticket.triaged": (
            "Votre demande a été analysée",
            "Votre demande a été analysée et a reçu la priorité {priority}.",
        ),
        "ticket.articles_suggested": (
            "Des articles qui peuvent vous aider",
            "Pendant que notre équipe examine votre demande, ces articles peuvent déjà résoudre votre problème :",
        ),
        "ticket.routed": (
            "Votre demande est entre les mains de notre équipe",
            "Votre demande est dans la file de notre équipe de support de niveau {tier}.",
        ),
        "ticket.assigned": ("Votre demande est prise en charge", "{assignee} s'occupe désormais de votre demande."),
        "ticket.commented": (
            "Nouveau message concernant votre demande",
            "{author} a écrit au sujet de votre demande :",
        ),
        "ticket.info_requested": (
            "Nous avons besoin d'informations complémentaires",
            "{author} a besoin de précisions de votre part pour continuer :",
        ),
        "ticket.requester_replied": (
            "Nous avons bien reçu votre réponse",
            "Merci : votre réponse a été transmise à l'équipe qui traite votre demande.",
        ),
        "ticket.escalated": (
            "Votre demande a été transmise à une équipe spécialisée",
            "Pour résoudre votre problème, votre demande a été transmise "
            "à notre équipe de support de niveau {to_tier}.",
        ),
        "ticket.resolved": ("Votre demande est résolue", "Nous avons résolu votre demande."),
        "ticket.resolved.self": (
            "Votre demande est résolue",
            "Votre demande a été marquée comme résolue grâce à un article d'aide.",
        ),
        "ticket.alert_repeated": (
            "L'alerte s'est de nouveau déclenchée",
            "Votre supervision a de nouveau levé cette alerte ({occurrences} fois en tout) ; c'est la même demande.",
        ),
        "ticket.reopened": (
            "Votre demande a été rouverte",
            "Votre demande est de nouveau ouverte et revient à l'équipe qui l'avait résolue.",
        ),
        "ticket.closed": (
            "Votre demande est clôturée",
            "Votre demande est maintenant clôturée. Si le problème revient, merci de soumettre une nouvelle demande.",
        ),
        "ticket.closed.automatic": (
            "Votre demande est clôturée",
            "Votre demande a été clôturée automatiquement quelque temps après sa résolution. "
            "Si le problème revient, merci de soumettre une nouvelle demande.",
        ),
        "ticket.rated": (
            "Merci pour votre avis",
            "Vous avez noté notre aide {score}/5. Merci : cela nous aide à nous améliorer.",
        ),
        "default": ("Votre demande a été mise à jour", "Il y a du nouveau concernant votre demande."),
    },
}

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello {name},",
        "greeting_team": "Hello,",
        "signature": "The support team",
        "request": "Request",
        "link": "Follow your request: {link}",
        "automatic": "This message was sent automatically about request {ticket_id}.",
        "resolution": "Resolution:",
        "your_message": "Your message:",
        "your_comment": "Your comment:",
        "reason": "Reason:",
        "reopen_hint": "If the problem persists, you can reopen your request.",
        "reply_hint": "Please answer from your support portal: we will go on as soon as we have your reply.",
        "someone": "A support agent",
    },
    "fr": {
        "greeting": "Bonjour {name},",
        "greeting_team": "Bonjour,",
        "signature": "L'équipe de support",
        "request": "Demande",
        "link": "Suivre votre demande : {link}",
        "automatic": "Ce message a été envoyé automatiquement au sujet de la demande {ticket_id}.",
        "resolution": "Résolution :",
        "your_message": "Votre message :",
        "your_comment": "Votre commentaire :",
        "reason": "Motif :",
        "reopen_hint": "Si le problème persiste, vous pouvez rouvrir votre demande.",
        "reply_hint": "Merci de répondre depuis votre portail de support : "
        "nous reprendrons dès réception de votre réponse.",
        "someone": "Un agent du support",
    },
}

# The internal alert of a breached SLA, for the organization's escalation contact.
ALERT_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "SLA breached: {clock} at level {tier}",
        "lead": "The {clock} target of request “{title}” (organization {organization}) was due at {due} "
        "and has been missed at level {tier}. Please make sure someone takes it in hand.",
        "reminder": "Reminder no. {reminder}: the request is still neither claimed nor resolved.",
        "first_response": "first response",
        "resolution": "resolution",
        "tier_budget": "level time budget",
    },
    "fr": {
        "subject": "Délai SLA dépassé : {clock} au niveau {tier}",
        "lead": "L'objectif de {clock} de la demande « {title} » (organisation {organization}) était dû le {due} "
        "et n'a pas été tenu au niveau {tier}. Merci de veiller à ce qu'elle soit prise en charge.",
        "reminder": "Relance n° {reminder} : la demande n'est toujours ni prise en charge ni résolue.",
        "first_response": "première réponse",
        "resolution": "résolution",
        "tier_budget": "temps alloué au niveau",
    },
}

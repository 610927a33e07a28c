"""Text in search form: one normal form, stop words, light stemmers for French and English."""

import pytest

from services.triage.text import content_words, detect_language, normalize, stem, terms, words


def test_normal_form_ignores_case_accents_ligatures_and_punctuation():
    assert normalize("Mot-de-passe EXPIRÉ !") == "mot de passe expire"
    assert normalize("Le cœur du réseau") == "le coeur du reseau"


def test_compounds_written_apart_are_one_word():
    assert words("Wi-Fi and e-mail, log in") == ["wifi", "and", "email", "login"]


def test_stop_words_and_single_letters_carry_no_meaning():
    assert content_words("Bonjour, l'imprimante ne fonctionne pas depuis ce matin", "fr") == ["imprimante"]
    assert content_words("Hi, my printer doesn't work since this morning", "en") == ["printer"]


@pytest.mark.parametrize(
    "family",
    [
        ["connect", "connected", "connecting", "connects", "connection", "connections"],
        ["install", "installed", "installing", "installs", "installation"],
        ["lock", "locked", "locking", "locks"],
        ["update", "updated", "updating", "updates"],
        ["configure", "configured", "configuration"],
        ["policy", "policies"],
        ["stop", "stopped"],
    ],
)
def test_english_inflections_share_one_stem(family):
    assert len({stem(w, "en") for w in family}) == 1, [stem(w, "en") for w in family]


@pytest.mark.parametrize(
    "family",
    [
        ["imprimante", "imprimantes", "imprimer", "imprime", "imprimée"],
        ["bloqué", "bloquée", "bloqués", "bloquer"],
        ["réinitialiser", "réinitialisation", "réinitialisé"],
        ["connecter", "connecté", "connexion", "connectez"],
        ["télécharger", "téléchargement"],
        ["lent", "lente", "lentement", "lenteur"],
        ["journal", "journaux"],
    ],
)
def test_french_inflections_share_one_stem(family):
    stems = {stem(normalize(w), "fr") for w in family}
    assert len(stems) == 1, stems


def test_short_words_and_numbers_are_left_alone():
    assert stem("vpn", "en") == "vpn" and stem("500", "fr") == "500" and stem("mfa", "fr") == "mfa"


def test_terms_are_stemmed_content_words_in_order():
    assert terms("Imprimantes bloquées au 2e étage", "fr") == ["imprim", "bloqu", "2e", "etag"]


def test_the_language_of_a_ticket_is_told_by_its_stop_words():
    assert detect_language("Mon imprimante ne marche pas depuis ce matin", default="en") == "fr"
    assert detect_language("My printer does not print since this morning", default="fr") == "en"


def test_a_ticket_too_short_to_tell_keeps_the_requesters_language():
    assert detect_language("VPN KO", default="fr") == "fr"
    assert detect_language("VPN KO", default="en") == "en"

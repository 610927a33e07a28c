"""Triage's routing rules, English and French, without I/O: categories, tiers, overrides, priority."""

import pytest
from pydantic import ValidationError

from services.triage.routing.domain import RuleSet, classify, priority_of
from services.triage.routing.rulebook import load_rules
from services.triage.text import normalize

RULES = load_rules()


def decide(title: str, description: str = "", **kwargs):
    return classify(RULES, title=title, description=description, **kwargs)


def route(decision) -> tuple:
    return decision.category, decision.tier, decision.specialty


def test_matching_ignores_case_accents_and_punctuation():
    assert normalize("Mot-de-passe EXPIRÉ !") == "mot de passe expire"
    assert normalize("Le cœur de réseau") == "le coeur de reseau"


def test_an_expired_password_in_french_goes_to_tier_1_account():
    assert route(decide("Mon mot de passe a expiré")) == ("account", 1, None)


def test_an_unaccented_french_password_problem_matches_the_same_keywords():
    assert route(decide("MOT DE PASSE EXPIRE")) == ("account", 1, None)


def test_a_forgotten_password_in_english_goes_to_tier_1_account():
    decision = decide("I forgot my password", "Cannot log in to my laptop since this morning, password rejected.")
    assert route(decision) == ("account", 1, None)


def test_a_printer_jam_goes_to_tier_1_hardware_in_both_languages():
    assert route(decide("Imprimante bloquée", "bourrage papier au 2e étage")) == ("hardware", 1, None)
    assert route(decide("Printer jammed", "paper jam on the 2nd floor printer")) == ("hardware", 1, None)


def test_wifi_trouble_goes_to_tier_1_network():
    assert route(decide("Pas de wifi", "je n'arrive pas à me connecter au réseau sans fil")) == ("network", 1, None)


def test_installing_software_goes_to_tier_1_software():
    assert route(decide("Please install Adobe Acrobat", "I need the software to sign PDFs")) == ("software", 1, None)


def test_ransomware_beats_the_server_and_goes_to_tier_3_security():
    decision = decide("ransomware chiffre les fichiers du serveur")
    assert route(decision) == ("security", 3, "security")
    assert "ransomware" in decision.explanation


def test_ransomware_mentioned_in_an_email_is_still_tier_3_security():
    decision = decide("Strange email", "Outlook shows a ransom note and my mailbox files are encrypted")
    assert route(decision) == ("security", 3, "security")


def test_a_mail_server_down_for_everyone_goes_to_tier_2_server():
    assert route(decide("the mail server is down for everyone")) == ("server", 2, None)


def test_a_french_server_outage_goes_to_tier_2_server():
    assert route(decide("Le serveur de fichiers est en panne")) == ("server", 2, None)


def test_an_outage_for_everyone_escalates_but_keeps_its_category():
    assert route(decide("VPN inaccessible", "personne ne peut se connecter au VPN")) == ("network", 2, None)


def test_malware_on_a_laptop_goes_to_tier_2_security():
    assert route(decide("Virus sur mon portable", "l'antivirus dit que le PC est infecté")) == ("security", 2, None)


def test_a_compromised_admin_account_goes_to_tier_3_security():
    assert route(decide("Compte admin compromis")) == ("security", 3, "security")
    assert route(decide("Domain administrator account compromised")) == ("security", 3, "security")


def test_a_data_leak_goes_to_tier_3_security():
    assert route(decide("Fuite de données clients", "un fichier CRM a été publié")) == ("security", 3, "security")


def test_a_bug_in_an_in_house_application_goes_to_tier_3_software():
    decision = decide("L'application interne de facturation plante", "erreur 500 à la validation")
    assert route(decision) == ("application", 3, "software")


def test_a_bug_in_office_software_stays_at_tier_1():
    assert route(decide("Bug in Excel", "Excel crashes when I open the file")) == ("software", 1, None)


def test_a_wan_routing_failure_goes_to_tier_3_network():
    assert route(decide("WAN link between sites down", "BGP session keeps flapping")) == ("network", 3, "network")
    assert route(decide("Panne du cœur de réseau")) == ("network", 3, "network")


def test_nothing_recognised_goes_to_tier_1_other():
    decision = decide("Bonjour", "une question")
    assert route(decision) == ("other", 1, None)
    assert decision.scores == {}
    assert "no keyword matched" in decision.explanation


def test_a_valid_category_hint_adds_weight_to_its_category():
    decision = decide("Problème", "ça ne marche pas", category_hint="email")
    assert route(decision) == ("email", 1, None)
    assert decision.scores == {"email": RULES.hint_weight}


def test_a_category_hint_tips_a_close_call_but_does_not_outweigh_strong_keywords():
    assert decide("Outlook on my laptop", category_hint="hardware").category == "hardware"
    assert decide("Mot de passe expiré", category_hint="hardware").category == "account"


def test_an_unknown_category_hint_is_ignored():
    assert decide("Mon mot de passe a expiré", category_hint="plumbing").category == "account"


def test_the_explanation_says_which_keywords_matched():
    decision = decide("Mon mot de passe a expiré")
    assert "'mot de passe' 3" in decision.explanation and "'expiré' 2" in decision.explanation
    assert decision.scores == {"account": 5.0}


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        ("high", "high", "P1"),
        ("high", "medium", "P2"),
        ("medium", "high", "P2"),
        ("high", "low", "P3"),
        ("medium", "medium", "P3"),
        ("low", "high", "P3"),
        ("medium", "low", "P4"),
        ("low", "medium", "P4"),
        ("low", "low", "P4"),
    ],
)
def test_priority_follows_the_itil_impact_urgency_matrix(impact, urgency, priority):
    assert priority_of(RULES, impact, urgency) == priority
    assert decide("Mon mot de passe a expiré", impact=impact, urgency=urgency).priority == priority


def test_the_priority_matrix_is_configurable():
    data = RULES.model_dump()
    data["priority"]["low"]["low"] = "P3"
    assert priority_of(RuleSet.model_validate(data), "low", "low") == "P3"


def test_an_incomplete_priority_matrix_is_refused():
    data = RULES.model_dump()
    del data["priority"]["low"]["low"]
    with pytest.raises(ValidationError, match="every impact × urgency pair"):
        RuleSet.model_validate(data)


def test_a_specialty_below_tier_3_is_refused():
    data = RULES.model_dump()
    data["categories"]["server"]["specialty"] = "network"
    with pytest.raises(ValidationError, match="only meaningful at tier 3"):
        RuleSet.model_validate(data)


def test_a_keyword_inside_a_longer_one_is_not_counted_again():
    decision = decide("Adresse e-mail", "")
    assert decision.scores == {"email": 3.0}


def test_similar_articles_weigh_in_with_their_category_and_say_so():
    decision = decide("Bonjour", "une question", kb_votes={"network": 1.0, "hardware": 0.5})
    assert decision.category == "network"
    assert "similar articles: network +1, hardware +0.5" in decision.explanation


def test_similar_articles_do_not_outweigh_clear_keywords():
    assert decide("Mot de passe expiré", kb_votes={"network": 1.0}).category == "account"


def test_knowledge_base_votes_count_nothing_when_their_weight_is_zero():
    data = RULES.model_dump()
    data["knowledge_base"]["weight"] = 0
    decision = classify(RuleSet.model_validate(data), title="Bonjour", description="", kb_votes={"network": 1.0})
    assert decision.category == "other" and "similar articles" not in decision.explanation


def test_a_suspicious_email_is_a_phishing_report_for_tier_2_security():
    assert route(decide("Suspicious email", "asks me to log in to see a document")) == ("security", 2, None)
    assert route(decide("Mail suspect", "un lien bizarre dans un courriel")) == ("security", 2, None)


def test_nobody_hearing_you_in_a_meeting_is_not_an_outage():
    assert route(decide("Teams", "Nobody can hear me in Teams meetings")) == ("software", 1, None)


def test_nobody_able_to_connect_is_an_outage():
    assert decide("VPN", "Nobody can connect to the VPN since 9am").tier == 2

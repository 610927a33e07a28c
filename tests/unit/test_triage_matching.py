"""The rules' phrase table and a ticket's text analysed once: pure logic, no I/O."""

from __future__ import annotations

import re
import sys

from services.triage.routing.matching import PhraseTable, outermost
from services.triage.text import analyse, content_words, detect_language, normalize, terms


def found(table: PhraseTable, text: str) -> dict[int, list[tuple[int, int]]]:
    return table.find(normalize(text).split())


def test_a_phrase_matches_whole_words_in_any_case_and_accent():
    table = PhraseTable()
    phrase = table.add("Mot de passe")
    assert found(table, "Mon MOT-DE-PASSE expiré") == {phrase: [(1, 4)]}
    assert found(table, "motdepasse, mot de passer") == {}


def test_only_the_last_word_takes_a_plural_or_feminine_ending():
    table = PhraseTable()
    printer, locked = table.add("imprimante bloqué"), table.add("mail")
    assert found(table, "imprimantes bloquées") == {}
    matches = found(table, "imprimante bloquées, mails, mailx, e-mails")
    assert matches == {printer: [(0, 2)], locked: [(2, 3), (3, 4), (5, 6)]}
    assert found(table, "mailing list") == {}


def test_a_phrase_written_twice_has_one_id_and_matches_never_overlap():
    table = PhraseTable()
    twice = table.add("log in")
    assert table.add("Log-in") == twice
    assert found(table, "log in log in log") == {twice: [(0, 2), (2, 4)]}
    echo = table.add("a a")
    assert found(table, "a a a")[echo] == [(0, 2)]  # leftmost first, as a regular expression scans


def test_a_phrase_without_letters_or_digits_is_refused():
    try:
        PhraseTable().add(" - ! ")
    except ValueError as exc:
        assert "no letters or digits" in str(exc)
    else:
        raise AssertionError("accepted")


def test_a_match_inside_a_longer_one_does_not_count_but_an_equal_one_does():
    assert outermost({"mail": [(1, 2)], "e mail": [(0, 2)]}) == {"e mail"}
    assert outermost({"mail": [(1, 2), (5, 6)], "e mail": [(0, 2)]}) == {"mail", "e mail"}
    assert outermost({"expire": [(0, 1)], "expiré": [(0, 1)]}) == {"expire", "expiré"}


def test_a_ticket_analysed_once_gives_what_each_function_gives_alone():
    tickets = ("Bonjour, mon imprimante ne marche pas depuis le Wi-Fi", "My e-mails won't sync on OneDrive", "VPN KO")
    for text in tickets:
        for default in ("en", "fr"):
            analysis = analyse(text, default)
            assert analysis.language == detect_language(text, default)
            assert analysis.words == normalize(text).split()
            assert analysis.content == content_words(text, analysis.language)
            assert analysis.terms == terms(text, analysis.language)


def test_an_analysis_in_a_given_language_does_not_detect_one():
    assert analyse("Mon imprimante ne marche pas depuis ce matin", "en", detect=False).language == "en"


def test_no_character_is_both_a_word_character_and_white_space():
    # normalize() keeps the runs of word characters, which is only splitting at white space if so.
    word = re.compile(r"[^\W_]")
    assert not [hex(c) for c in range(sys.maxunicode + 1) if chr(c).isspace() and word.match(chr(c))]

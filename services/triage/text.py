"""Text in matching form, shared by the routing rules and the knowledge base.

Plain Python, no I/O. One normal form (case-folded, accents stripped, punctuation as
spaces), stop words per language, and a light stemmer per language, applied alike to
what is indexed and to what is asked: "Imprimantes bloquées" and "imprimante bloquée"
become the same terms, and so do "connecting" and "connected".

It sits at triage's top rather than in a feature because both use it on the same ticket:
the routing rules match its `normalize`d words, the knowledge base indexes and asks its
`terms`, and `analyse` reads a ticket once for the two.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from shared.messages.common import Language

_WORD = re.compile(r"[^\W_]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Ligatures that NFKD leaves whole ("cœur" must match "coeur"), after case folding.
_LIGATURES = (("œ", "oe"), ("æ", "ae"))
# Words people split or join at will; one spelling each, so "wi-fi" finds "wifi".
# Each with a piece of text every match contains: the pattern runs only where it is there.
_COMPOUNDS = [
    ("wi fi", re.compile(r"\bwi fi\b"), "wifi"),
    ("e mail", re.compile(r"\be mail(s?)\b"), r"email\1"),
    ("log ", re.compile(r"\blog (in|on)\b"), r"log\1"),
    ("sign in", re.compile(r"\bsign in\b"), "signin"),
    ("multi factor", re.compile(r"\bmulti factor\b"), "multifactor"),
    ("drive", re.compile(r"\bone ?drive\b"), "onedrive"),
    ("point", re.compile(r"\bshare ?point\b"), "sharepoint"),
    ("pop up", re.compile(r"\bpop ups?\b"), "popup"),
]


def normalize(text: str) -> str:
    """Text in matching form: case-folded, accents stripped, punctuation as single spaces."""
    return " ".join(_normal_words(text))


def _normal_words(text: str) -> list[str]:
    # `normalize(text).split()`. The words are the runs of letters and digits left: no character
    # is both a word character and white space, so these are what splitting at spaces would give.
    if text.isascii():  # most tickets: nothing to fold but case, nothing to decompose
        bare = text.lower()
    else:
        folded = text.casefold()
        for ligature, letters in _LIGATURES:
            if ligature in folded:
                folded = folded.replace(ligature, letters)
        bare = _NON_ASCII.sub(_without_accent, unicodedata.normalize("NFKD", folded))
    return _WORD.findall(bare)


def _without_accent(match: re.Match) -> str:
    char = match.group()
    return "" if unicodedata.combining(char) else char


def _stop(text: str) -> frozenset[str]:
    return frozenset(normalize(text).split())


STOPWORDS: dict[str, frozenset[str]] = {  # in normal form, as `words` returns them
    "en": _stop(
        """a about above after again all also am an and any are as at be because been before being below
        between both but by can cannot could did do does doing don doesn didn down during each even ever
        few for from further get gets getting got had has have having he her here hers him his how i if in
        into is isn it its just let me more most my no nor not now of off on once only or other our ours out
        over own please same she should so some still such than thank thanks that the their them then there
        these they this those through to too under until up us very via was wasn we were weren what when
        where which while who whom why will with won would you your yours hi hello hey dear regards best
        since anymore today morning afternoon yesterday tried try trying keep keeps anyone help need needs
        s t d ll m re ve"""
        # Words of every IT ticket that say nothing of its subject.
        """ work works working worked problem problems issue issues use using used find want wanted
        know think thing things able unable like seems seem anything something everything way ok
        good bad new still get"""
    ),
    "fr": _stop(
        """a ai aie au aux avec avoir avons avez ça ca ce ceci cela celle celui ces cet cette chez comme
        comment dans de des du donc dont elle elles en encore est et etc etre eu faire fait fais il ils je
        j l la le les leur leurs lui m ma mais me meme mes moi mon n ne ni nos notre nous on ont ou où par
        pas peu peut peux plus pour pourquoi puis qu quand que quel quelle quels qui s sa sans se ses si
        son sont sous sur ta te tes toi ton tous tout toute toutes tres très tu un une vos votre vous y
        bonjour merci cordialement svp stp salut madame monsieur depuis aujourd hui matin hier soir
        besoin aide aider deja déjà toujours jamais rien quelqu quelque c d est ete été suis es sommes
        etes êtes"""
        """ marche marcher fonctionne fonctionner fonctionnent probleme problème problemes problèmes
        souci soucis utiliser trouve trouver veux voudrais voulais chose choses truc bien mal
        nouveau nouvelle"""
    ),
}
# Words that tell one language from the other in a ticket (stop words common to both left out).
_MARKERS = {lang: words - STOPWORDS["fr" if lang == "en" else "en"] for lang, words in STOPWORDS.items()}


def words(text: str) -> list[str]:
    """The words of `text` in normal form, compounds joined ("wi-fi" is "wifi")."""
    return _joined(normalize(text)).split()


def _joined(flat: str) -> str:
    for needle, pattern, replacement in _COMPOUNDS:
        if needle in flat:
            flat = pattern.sub(replacement, flat)
    return flat


def content_words(text: str, language: Language) -> list[str]:
    """The words of `text` that carry meaning: stop words and single letters left out."""
    return _content(words(text), language)


def _content(all_words: list[str], language: Language) -> list[str]:
    stop = STOPWORDS[language]
    return [w for w in all_words if len(w) > 1 and w not in stop]


def terms(text: str, language: Language) -> list[str]:
    """The search terms of `text`: content words, stemmed for `language`, in order."""
    return [stem(w, language) for w in content_words(text, language)]


@lru_cache(maxsize=1 << 16)  # a ticket's words are mostly the same few thousand words
def stem(word: str, language: Language) -> str:
    """The light stem of one normalized word."""
    return _stem_fr(word) if language == "fr" else _stem_en(word)


def detect_language(text: str, default: Language) -> Language:
    """The language `text` is written in, judged by its stop words; `default` when unclear."""
    return _language_of(_normal_words(text), default)


def _language_of(tokens: list[str], default: Language) -> Language:
    fr_markers, en_markers = _MARKERS["fr"], _MARKERS["en"]
    fr = en = 0
    for t in tokens:
        if t in fr_markers:
            fr += 1
        if t in en_markers:
            en += 1
    if fr >= en + 2:
        return "fr"
    if en >= fr + 2:
        return "en"
    return default


@dataclass(frozen=True, slots=True)
class Analysis:
    """A ticket's text analysed once, for the rules and the knowledge base alike."""

    words: list[str]  # in normal form, as the rules match them (`normalize(text).split()`)
    language: Language  # the language it is written in (`detect_language`)
    content: list[str]  # the words that carry meaning in that language (`content_words`)
    terms: list[str]  # the same, stemmed: its search terms (`terms`)


def analyse(text: str, language: Language, *, detect: bool = True) -> Analysis:
    """`text` normalized once, its language told (`language` when unclear, or always when not
    `detect`), its content words found and stemmed."""
    tokens = _normal_words(text)
    flat = " ".join(tokens)
    if detect:
        language = _language_of(tokens, language)
    content = _content(_joined(flat).split(), language)
    return Analysis(words=tokens, language=language, content=content, terms=[stem(w, language) for w in content])


# --- English: plurals, -ed/-ing, a few derivations (Porter's first steps, lightly) ----------

_EN_DERIVATIONS = (("ations", 4), ("ation", 4), ("ments", 5), ("ment", 5), ("ably", 4), ("able", 4),
                   ("ible", 4), ("ly", 4))


def _stem_en(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    word = _en_plural(word)
    word = _en_inflection(word)
    for suffix, min_stem in _EN_DERIVATIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            word = word[: -len(suffix)]
            break
    else:
        if word.endswith(("tion", "sion")) and len(word) > 6:
            word = word[:-3]  # connection -> connect, permission -> permiss
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]  # update, updated, updating -> updat
    return word


def _en_plural(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _en_inflection(word: str) -> str:
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and any(c in "aeiouy" for c in base):
            # stopped -> stop, running -> run; but install, press, buzz keep their double
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            return base
    return word


# --- French: plurals, then one suffix (derivational or verbal), longest first -------------

_FR_SUFFIXES = (("issement", 3), ("ement", 4), ("ation", 4), ("ition", 4), ("atrice", 4), ("ateur", 4),
                ("ment", 4), ("euse", 4), ("eur", 4), ("ante", 4), ("ant", 4), ("ent", 4), ("ait", 4),
                ("ais", 4), ("er", 4), ("ez", 4), ("ir", 4), ("ee", 3), ("e", 3))
# Forms the suffixes cannot bring together.
_FR_IRREGULAR = {"connexion": "connect", "connexions": "connect", "acces": "acce"}


def _stem_fr(word: str) -> str:
    if word in _FR_IRREGULAR:
        return _FR_IRREGULAR[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("aux") and len(word) > 4:
        word = word[:-3] + "al"  # journaux -> journal
    elif word.endswith(("s", "x")) and not word.endswith("ss"):
        word = word[:-1]
    for suffix, min_stem in _FR_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            return word[: -len(suffix)]
    return word

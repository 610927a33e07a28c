"""Text in matching form, shared by the routing rules and the knowledge base.

Plain Python, no I/O. One normal form (case-folded, accents stripped, punctuation as
spaces), stop words per language, and a light stemmer per language, applied alike to
what is indexed and to what is asked: "Imprimantes bloquées" and "imprimante bloquée"
become the same terms, and so do "connecting" and "connected".
"""

from __future__ import annotations

import re
import unicodedata

from shared.messages.common import Language

_NON_WORD = re.compile(r"[\W_]+")
# Ligatures that NFKD leaves whole ("cœur" must match "coeur").
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})
# Words people split or join at will; one spelling each, so "wi-fi" finds "wifi".
_COMPOUNDS = [
    (re.compile(r"\bwi fi\b"), "wifi"),
    (re.compile(r"\be mail(s?)\b"), r"email\1"),
    (re.compile(r"\blog (in|on)\b"), r"log\1"),
    (re.compile(r"\bsign in\b"), "signin"),
    (re.compile(r"\bmulti factor\b"), "multifactor"),
    (re.compile(r"\bone ?drive\b"), "onedrive"),
    (re.compile(r"\bshare ?point\b"), "sharepoint"),
    (re.compile(r"\bpop ups?\b"), "popup"),
]


def normalize(text: str) -> str:
    """Text in matching form: case-folded, accents stripped, punctuation as single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", bare).split())


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
    flat = normalize(text)
    for pattern, replacement in _COMPOUNDS:
        flat = pattern.sub(replacement, flat)
    return flat.split()


def content_words(text: str, language: Language) -> list[str]:
    """The words of `text` that carry meaning: stop words and single letters left out."""
    stop = STOPWORDS[language]
    return [w for w in words(text) if len(w) > 1 and w not in stop]


def terms(text: str, language: Language) -> list[str]:
    """The search terms of `text`: content words, stemmed for `language`, in order."""
    return [stem(w, language) for w in content_words(text, language)]


def stem(word: str, language: Language) -> str:
    """The light stem of one normalized word."""
    return _stem_fr(word) if language == "fr" else _stem_en(word)


def detect_language(text: str, default: Language) -> Language:
    """The language `text` is written in, judged by its stop words; `default` when unclear."""
    tokens = normalize(text).split()
    fr = sum(t in _MARKERS["fr"] for t in tokens)
    en = sum(t in _MARKERS["en"] for t in tokens)
    if fr >= en + 2:
        return "fr"
    if en >= fr + 2:
        return "en"
    return default


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

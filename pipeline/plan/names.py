"""How a typed name is folded before it is compared with the plan's names (ground floor).

Names arrive in Kazakh or Russian, with Russian letters for Kazakh ones (к for қ …), Latin lookalikes
(Latin a/e/o/p/c/x/i for Cyrillic), odd spacing and case. Every known name and alias is folded to one
spelling; two names that fold alike are the same name. The reader of the forms (`validate.units`) and
the plan check (`plan.check`: aliases unique across units) compare names this one way.
"""

from __future__ import annotations

import re

# Latin letters that look like Cyrillic ones, after lowercasing (upper-case B, H, M, T look like В, Н, М, Т).
_LOOKALIKES = str.maketrans("aeopcxiykmhbt", "аеорсхіукмнвт")
# Kazakh letters typed as their nearest Russian ones; folding both sides makes the comparison forgiving.
_KAZAKH_TO_RUSSIAN = str.maketrans("әғқңөұүһіё", "агкноууиие")
# Words that say what kind of unit it is, not which one.
_KIND_WORDS = re.compile(
    r"\b(ауданы|аудан|ауд|районы|район|р н|р на|каласы|кала|к|города|город|гор|г|акимат|акимдиги)\b"
)
_NON_LETTERS = re.compile(r"[^\w]+")


def fold(name: str) -> str:
    text = name.lower().translate(_LOOKALIKES).translate(_KAZAKH_TO_RUSSIAN)
    text = _NON_LETTERS.sub(" ", text)
    text = _KIND_WORDS.sub(" ", text)
    return " ".join(text.split())

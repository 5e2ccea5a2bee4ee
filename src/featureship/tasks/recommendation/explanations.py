"""Why each item was recommended: the user's history items that contributed most to its score.

Each family says how much every history item adds to a target's score
(`Recommender.contributions`): exact shares for item-kNN (similarities), ALS (through the
user's solved least-squares system) and BPR (the mean of the history's factors); leave-one-out
differences for SASRec; nothing for popularity, whose list is the same for everyone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METHODS = {
    "itemknn": ("item-similarity", "Each weight is the history item's similarity to the "
                "recommended item; the score is their sum."),
    "als": ("factor-contribution", "Each weight is the history item's exact share of the score "
            "through the user's factors (the shares sum to the score)."),
    "bpr": ("factor-contribution", "Each weight is the history item's exact share of the score "
            "(the user vector is the history's mean factor; the item's own bias is left out)."),
    "sasrec": ("leave-one-out", "Each weight is how much the score (a log-probability) drops "
               "when that one history item is left out."),
    "popularity": ("none", "Popularity recommends the same items to everyone: no history item "
                   "is a reason."),
}
FALLBACK_NOTE = ("Nothing is known about this user or history, so popular items stand in: "
                 "there is no personal reason.")
TOP_REASONS = 3


def explain_answer(answer: dict[str, Any], family: str, recommender: Any, history: np.ndarray,
                   item_index: dict[str, int], items: list[str], titles: dict[str, str]) -> dict[str, Any]:
    """`answer` (from `recommend`) with `because` on every item, plus `method` and `note`."""
    method, note = METHODS.get(family, ("leave-one-out", "Each weight is the score's change when "
                                        "that history item is left out."))
    picked = np.array([item_index[entry["item"]] for entry in answer["items"]], dtype=np.int64)
    shares = None
    if not answer["fallback"] and len(history) and len(picked):
        shares = recommender.contributions(history, picked)  # (history, picked) or None
    if answer["fallback"]:
        method, note = "none", FALLBACK_NOTE
    explained = []
    for j, entry in enumerate(answer["items"]):
        because = []
        if shares is not None:
            column = shares[:, j]
            for i in np.argsort(-column, kind="stable")[:TOP_REASONS]:
                if column[i] <= 0:  # only items that argued for it are reasons
                    break
                reason: dict[str, Any] = {"item": items[history[i]], "weight": round(float(column[i]), 6)}
                if reason["item"] in titles:
                    reason["title"] = titles[reason["item"]]
                because.append(reason)
        explained.append({**entry, "because": because})
    return {**answer, "items": explained, "method": method, "note": note}

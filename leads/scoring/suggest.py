"""Suggested weights: what history says each signal is worth.

A naive Bayes reading of leads with known outcomes: for every signal (a fit rule met, an
activity type seen, an agreed persona fitting), how much likelier it is among won leads than
among lost ones. Its log-odds, times ten, is the suggested points; the sum over a lead's
signals ranks leads, and that ranking's AUC on leads held out of the counting says honestly
how much to trust it. Plain counting, so every number can be checked by hand; no library
needed for a dozen lines of arithmetic.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from leads.scoring.compile import rule_description
from leads.scoring.models import RuleKind, ScoringModel
from leads.scoring.selectors import WON, lead_outcome, leads_with_facts
from leads.scoring.services import Scorer

POINTS_PER_LOG_ODDS = 10
HOLD_OUT_EVERY = 4  # every 4th lead (by id) is kept out of the counting to test on
TOO_FEW = 30  # fewer leads with outcomes than this: say the numbers are not to be trusted


@dataclass
class Signal:
    key: str
    label: str
    current_points: int | None
    won_with: int = 0
    lost_with: int = 0
    log_odds: float = 0.0

    @property
    def suggested_points(self) -> int:
        return round(POINTS_PER_LOG_ODDS * self.log_odds)


@dataclass
class Suggestion:
    signals: list[Signal]
    trained_on: int
    tested_on: int
    won: int
    lost: int
    auc: float | None

    @property
    def trustworthy(self) -> bool:
        return self.trained_on + self.tested_on >= TOO_FEW and self.auc is not None


def _lead_signals(row, facts, scorer: Scorer, as_of: datetime) -> set[str]:
    present = set()
    for rule in scorer.compiled.fit_rules:
        if rule.check is not None and rule.check(row):
            present.add(rule.key)
    _, match = scorer.persona_for(row)
    if match is not None and match.agreed and match.fit >= 50:
        present.add("persona")
    present.update(f"activity:{f.type}" for f in facts if f.occurred_at <= as_of)
    return present


def auc(scores_won: list[float], scores_lost: list[float]) -> float | None:
    """Probability that a random won lead outranks a random lost one, ties counting half
    (the Mann-Whitney U statistic over ranks, so it stays fast for many leads)."""
    if not scores_won or not scores_lost:
        return None
    ordered = sorted([(s, True) for s in scores_won] + [(s, False) for s in scores_lost])
    rank_sum_won, i = 0.0, 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2  # ranks i+1 .. j share their average
        rank_sum_won += average_rank * sum(1 for k in range(i, j) if ordered[k][1])
        i = j
    n_won, n_lost = len(scores_won), len(scores_lost)
    return (rank_sum_won - n_won * (n_won + 1) / 2) / (n_won * n_lost)


def suggest_weights(*, model: ScoringModel, now: datetime) -> Suggestion:
    scorer = Scorer(model)
    labels = {"persona": ("Fits an agreed persona (50%+)", None)}
    for rule in model.rules.all():
        if rule.kind == RuleKind.FIT:
            labels[f"r{rule.pk}"] = (rule_description(rule), rule.points)
    seen: list[tuple[int, bool, set[str]]] = []
    for rows, facts in leads_with_facts():
        for row in rows:
            outcome = lead_outcome(row["attributes"], row["stage__kind"])
            if outcome is not None:
                as_of = row["last_activity"] or now
                signals = _lead_signals(row, facts.get(row["id"], []), scorer, as_of)
                seen.append((row["id"], outcome == WON, signals))

    train = [s for s in seen if s[0] % HOLD_OUT_EVERY]
    test = [s for s in seen if not s[0] % HOLD_OUT_EVERY]
    won = sum(1 for _, is_won, _ in train if is_won)
    lost = len(train) - won
    keys = set(labels) | {k for _, _, signals in seen for k in signals}
    result = []
    for key in sorted(keys):
        label, current = labels.get(key, (key.removeprefix("activity:").replace("_", " "), None))
        signal = Signal(key=key, label=label, current_points=current)
        signal.won_with = sum(1 for _, is_won, s in train if is_won and key in s)
        signal.lost_with = sum(1 for _, is_won, s in train if not is_won and key in s)
        # Laplace smoothing: a signal never seen among lost leads is strong, not infinite.
        signal.log_odds = math.log((signal.won_with + 1) / (won + 2)) - math.log(
            (signal.lost_with + 1) / (lost + 2)
        )
        result.append(signal)
    weight = {s.key: s.log_odds for s in result}
    ranked = [(is_won, sum(weight.get(k, 0.0) for k in signals)) for _, is_won, signals in test]
    return Suggestion(
        signals=sorted(result, key=lambda s: -abs(s.log_odds)),
        trained_on=len(train),
        tested_on=len(test),
        won=won,
        lost=lost,
        auc=auc([r for w, r in ranked if w], [r for w, r in ranked if not w]),
    )

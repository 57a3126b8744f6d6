"""Scoring reads: the backtest and the preview that both teams look at before they sign."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Max

from leads.models import Lead, StageKind
from leads.scoring.compile import SCORING_COLUMNS
from leads.scoring.engine import Fact
from leads.scoring.models import ScoringModel
from leads.scoring.services import CHUNK, Scorer, facts_for

WON, LOST = "won", "lost"
HISTOGRAM_BINS = 10  # score bins of equal width between the lowest and highest total


def lead_outcome(attributes: dict | None, stage_kind: str) -> str | None:
    """What became of a lead: imports carry `outcome` (won/lost); a customer has won and a
    disqualified lead was lost."""
    outcome = (attributes or {}).get("outcome")
    if outcome in (WON, LOST):
        return outcome
    return {StageKind.CUSTOMER: WON, StageKind.DISQUALIFIED: LOST}.get(stage_kind)


@dataclass
class Backtest:
    version: int
    leads_with_outcome: int = 0
    won: int = 0
    lost: int = 0
    true_positive: int = 0  # MQL and won
    false_positive: int = 0  # MQL and lost
    false_negative: int = 0  # not MQL, won
    true_negative: int = 0  # not MQL, lost
    mql_today: int = 0  # current leads without an outcome that are MQL now
    open_leads: int = 0
    totals_won: list[int] = field(default_factory=list)
    totals_lost: list[int] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        passed = self.true_positive + self.false_positive
        return self.true_positive / passed if passed else None

    @property
    def recall(self) -> float | None:
        return self.true_positive / self.won if self.won else None

    @property
    def base_rate(self) -> float | None:
        return self.won / self.leads_with_outcome if self.leads_with_outcome else None

    @property
    def lift(self) -> float | None:
        if self.precision is None or not self.base_rate:
            return None
        return self.precision / self.base_rate

    def histogram(self, low: int, high: int) -> list[dict]:
        width = max(1, -(-(high - low + 1) // HISTOGRAM_BINS))
        won = Counter((t - low) // width for t in self.totals_won)
        lost = Counter((t - low) // width for t in self.totals_lost)
        return [
            {
                "from": low + i * width,
                "to": low + (i + 1) * width - 1,
                "won": won.get(i, 0),
                "lost": lost.get(i, 0),
            }
            for i in range(-(-(high - low + 1) // width))
        ]

    def as_dict(self) -> dict:
        totals = self.totals_won + self.totals_lost
        low, high = (min(totals), max(totals)) if totals else (0, 0)
        return {
            "version": self.version,
            "leads_with_outcome": self.leads_with_outcome,
            "won": self.won,
            "lost": self.lost,
            "confusion_matrix": {
                "true_positive": self.true_positive,
                "false_positive": self.false_positive,
                "false_negative": self.false_negative,
                "true_negative": self.true_negative,
            },
            "precision": self.precision,
            "recall": self.recall,
            "base_rate": self.base_rate,
            "lift": self.lift,
            "open_leads": self.open_leads,
            "mql_today": self.mql_today,
            "histogram": self.histogram(low, high) if totals else [],
        }


def backtest(*, model: ScoringModel, now: datetime, scorer: Scorer | None = None) -> Backtest:
    """Score every lead under `model` with the one scoring function. Leads with a known
    outcome are scored as of their last activity (the moment Sales would have got them),
    so old wins are not punished by decay; open leads are scored as of `now`."""
    scorer = scorer or Scorer(model)
    result = Backtest(version=model.version)
    for rows, facts in leads_with_facts():
        for row in rows:
            outcome = lead_outcome(row["attributes"], row["stage__kind"])
            as_of = row["last_activity"] if outcome and row["last_activity"] else now
            score, _, _ = scorer.score(row, facts.get(row["id"], []), as_of)
            if outcome is None:
                result.open_leads += 1
                result.mql_today += score.is_mql
                continue
            result.leads_with_outcome += 1
            if outcome == WON:
                result.won += 1
                result.totals_won.append(score.total)
                result.true_positive += score.is_mql
                result.false_negative += not score.is_mql
            else:
                result.lost += 1
                result.totals_lost.append(score.total)
                result.false_positive += score.is_mql
                result.true_negative += not score.is_mql
    return result


def leads_with_facts(chunk: int = CHUNK) -> Iterator[tuple[list[dict], dict[int, list[Fact]]]]:
    """Every live lead in id order, a chunk at a time: its scoring columns, stage kind and
    last activity time, with the chunk's facts (what backtests and suggestions read)."""
    last_id = 0
    base = Lead.objects.filter(erased_at__isnull=True).order_by("pk")
    while True:
        rows = list(
            base.filter(pk__gt=last_id)
            .annotate(last_activity=Max("activities__occurred_at"))
            .values(*SCORING_COLUMNS, "stage__kind", "last_activity")[:chunk]
        )
        if not rows:
            return
        yield rows, facts_for([r["id"] for r in rows])
        last_id = rows[-1]["id"]


def mql_counts(*, model: ScoringModel, now: datetime) -> int:
    """How many open leads would be MQL today under `model` (the live preview)."""
    return backtest(model=model, now=now).mql_today


def models_list():
    return ScoringModel.objects.prefetch_related("sign_offs__user").order_by("-version")

"""Durations on the compliance pages: minutes are exact in CSV and JSON, readable on screen."""

from django import template

register = template.Library()


@register.filter
def minutes(value) -> str:
    """12.5 -> "12.5 min", 135 -> "2 h 15 min", 4000 -> "2 d 18 h"; None -> "—"."""
    if value is None or value == "":
        return "—"
    value = float(value)
    if value < 60:
        return f"{value:g} min"
    whole = round(value)
    if whole < 1440:
        hours, rest = divmod(whole, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, rest = divmod(whole, 1440)
    hours = rest // 60
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def count(value) -> str:
    """12345 -> "12,345": what `intcomma` shows in our one (English) locale, without its
    per-number locale lookups, for tables with a row per rep."""
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)

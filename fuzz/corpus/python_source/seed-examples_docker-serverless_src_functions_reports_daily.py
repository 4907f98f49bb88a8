"""Daily report. Handler: src.functions.reports.daily.handler"""
from src.shared.responses import ok


def handler(event, context):
    return ok({"function": "daily-report", "day": event.get("day", "today")})

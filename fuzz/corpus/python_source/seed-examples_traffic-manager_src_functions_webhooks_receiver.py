"""Webhook receiver. Handler: src.functions.webhooks.receiver.handler"""
from src.shared.responses import ok


def handler(event, context):
    return ok({"function": "webhook", "received": bool(event.get("body"))}, status=202)

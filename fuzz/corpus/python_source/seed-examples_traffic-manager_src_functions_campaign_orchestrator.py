"""Campaign orchestrator: decides which campaigns to adjust. Handler: src.functions.campaign.orchestrator.handler"""
from src.shared.responses import ok


def handler(event, context):
    campaigns = event.get("campaigns", [])
    return ok({"function": "orchestrator", "scheduled": len(campaigns)})

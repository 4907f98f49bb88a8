from src.functions.campaign.orchestrator import handler


def test_counts_campaigns():
    assert '"scheduled": 2' in handler({"campaigns": [1, 2]}, None)["body"]

"""Small helpers shared by every function in the image."""
import json


def ok(body, status=200):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body, sort_keys=True)}

"""The policy engine: pure Python, no Django, no boto3 (tests/test_policy_is_pure.py enforces it)."""

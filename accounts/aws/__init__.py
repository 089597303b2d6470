"""The only place that talks to AWS: boto3 clients, collectors returning plain data, and appliers.

Nothing here touches the database; callers pass plain values in and store what comes back.
"""

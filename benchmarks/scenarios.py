"""Generated fakeaws accounts for the sync benchmark: FAKEAWS_BENCH_SIZES="200,1000" principals per account."""

from __future__ import annotations

import os
import random
from typing import Any

MANAGED = [
    "ReadOnlyAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonDynamoDBFullAccess",
    "AWSLambda_ReadOnlyAccess",
    "AmazonSQSFullAccess",
    "CloudWatchLogsFullAccess",
    "AmazonEC2ReadOnlyAccess",
    "AmazonSNSFullAccess",
    "AWSXrayWriteOnlyAccess",
    "AmazonS3FullAccess",
    "PowerUserAccess",
    "AdministratorAccess",
]
SERVICES = ["s3", "dynamodb", "sqs", "logs", "ec2", "sns", "lambda", "kms"]


def account_spec(principals: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    roles, users, usage = [], [], {}
    for i in range(principals):
        name = f"p{i:05d}"
        attached = [f"arn:aws:iam::aws:policy/{rng.choice(MANAGED[:-2] if rng.random() > 0.03 else MANAGED)}"]
        if i % 10 == 0:
            users.append(
                {
                    "name": name,
                    "attached": attached,
                    "created_days": rng.randint(30, 900),
                    "keys": [
                        {"age_days": rng.randint(1, 800), "last_used_days": rng.choice([None, 1, 30, 200])}
                    ],
                    "password": {"last_used_days": rng.randint(1, 300)} if rng.random() < 0.5 else None,
                }
            )
        else:
            roles.append(
                {
                    "name": name,
                    "attached": attached,
                    "created_days": rng.randint(30, 900),
                    "last_used_days": rng.choice([1, 5, 40, 200, None]),
                }
            )
        usage[name] = {
            s: {
                "days": rng.randint(1, 200),
                "actions": {"GetObject": rng.randint(1, 200)} if s == "s3" else {},
            }
            for s in rng.sample(SERVICES, rng.randint(0, 3))
        }
    for user in users:
        if user["password"] is None:
            del user["password"]
    return {"roles": roles, "users": users, "usage": usage}


def bench_accounts() -> dict[str, dict[str, Any]]:
    sizes = [int(s) for s in os.environ.get("FAKEAWS_BENCH_SIZES", "200").split(",") if s]
    return {f"{900000000000 + i:012d}": account_spec(size, seed=i) for i, size in enumerate(sizes)}

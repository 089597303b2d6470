"""moto's IAM backends, made as before but without the work that does not need repeating.

moto makes an IAM backend per account and partition on first use, and each one parses the ~1,580 AWS
managed policies (4.7 MB of JSON) and serialises their documents again. It also makes one for every
partition of every known account each time it looks up the account of an access key (every request),
although a backend not yet made holds no access key. So a sync of an organisation of ten accounts made
some sixty backends, most never used, at a tenth of a second each; every `fakeaws.mock()` makes them anew.

Here the AWS managed policies are parsed and their documents serialised once per process (each backend
still gets its own policy objects: attachment counts and versions stay per account), and an access key is
looked up in the backends that exist. What any API call returns is unchanged.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

_installed = False
# (name, default version, path, document as moto stores it, created, updated), parsed once
_MANAGED: list[tuple[str, str | None, str | None, str, datetime, datetime]] = []


def _managed_policies() -> list[tuple[str, str | None, str | None, str, datetime, datetime]]:
    if not _MANAGED:
        from moto.iam.aws_managed_policies import aws_managed_policies_data

        # Built aside and put in place whole: two threads making backends at once never double it.
        _MANAGED[:] = [
            (
                name,
                data.get("DefaultVersionId"),
                data.get("Path"),
                json.dumps(data.get("Document")),
                datetime.fromisoformat(data["CreateDate"]),
                datetime.fromisoformat(data["UpdateDate"]),
            )
            for name, data in json.loads(aws_managed_policies_data).items()
        ]
    return _MANAGED


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.iam import models
    from moto.utilities.utils import PARTITION_NAMES

    def _init_aws_policies(self: models.IAMBackend) -> list[Any]:
        if not models.load_iam_aws_managed_policies():
            return []
        return [
            models.AWSManagedPolicy(
                name,
                account_id=self.account_id,
                region=self.region_name,
                default_version_id=version,
                path=path,
                document=document,
                create_date=created,
                update_date=updated,
            )
            for name, version, path, document, created, updated in _managed_policies()
        ]

    models.IAMBackend._init_aws_policies = _init_aws_policies  # type: ignore[method-assign]

    def get_account_id_from(access_key: str) -> str:
        for account_id, account in list(models.iam_backends.items()):
            for partition in PARTITION_NAMES:
                # dict.get: only the backends already made (moto's lookup would make the others).
                backend = dict.get(account, partition)
                if backend is not None and access_key in backend.access_keys:
                    return account_id
        return models.DEFAULT_ACCOUNT_ID

    # moto.core.responses imports it from the module at each call.
    models.get_account_id_from = get_account_id_from

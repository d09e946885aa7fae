"""The generated Python client against a running keyward.

KEYWARD_URL is the server, KEYWARD_ORG_ID an organization on it and
KEYWARD_ADMIN_KEY the secret of an admin key there (tests/clients.rs sets
all three). Run from clients/python with the generated package importable:

    PYTHONPATH=keyward-client python3 -m unittest discover -s tests -v
"""

import base64
import os
import secrets
import unittest

from keyward_client import AuthenticatedClient
from keyward_client.api.identity import whoami
from keyward_client.api.keys import create_service_account_key, delete_service_account_key
from keyward_client.api.service_accounts import (
    create_service_account,
    delete_service_account,
    get_service_account,
    list_service_accounts,
)
from keyward_client.models import CreatedKeyView, CreateServiceAccount, Problem, ServiceAccountView, WhoAmI

URL = os.environ["KEYWARD_URL"]
ORG_ID = os.environ["KEYWARD_ORG_ID"]
ADMIN_KEY = os.environ["KEYWARD_ADMIN_KEY"]


class ClientTest(unittest.TestCase):
    def client(self, token: str, prefix: str = "") -> AuthenticatedClient:
        """A client that sends `Authorization: <prefix> <token>` (just the token when no
        prefix), closed when the test ends."""
        made = AuthenticatedClient(base_url=URL, token=token, prefix=prefix, raise_on_unexpected_status=True)
        return self.enterContext(made)


def unique(stem: str) -> str:
    return f"{stem}-{secrets.token_hex(4)}"


class SeedFlow(ClientTest):
    """The guide's flow: an account with Basic Auth, a key, whoami three ways, the key deleted."""

    def test_create_account_and_key_then_delete_the_key(self) -> None:
        admin = self.client(ADMIN_KEY)
        created = create_service_account.sync_detailed(
            client=admin, org_id=ORG_ID, body=CreateServiceAccount(name=unique("John Doe"), enable_basic_auth=True)
        )
        self.assertEqual(created.status_code, 201)
        account = created.parsed
        self.assertIsInstance(account, ServiceAccountView)
        self.assertTrue(account.enable_basic_auth)
        self.assertEqual(account.org_id, ORG_ID)
        self.assertEqual(account.keys, [])

        # No body at all, as the guide allows.
        minted = create_service_account_key.sync_detailed(account.id, client=admin, org_id=ORG_ID)
        self.assertEqual(minted.status_code, 201)
        key = minted.parsed
        self.assertIsInstance(key, CreatedKeyView)
        self.assertTrue(key.secret.startswith("kw_"))

        basic = base64.b64encode(f"{key.key_id}:{key.secret}".encode()).decode()
        for caller in (self.client(key.secret), self.client(key.secret, "Bearer"), self.client(basic, "Basic")):
            me = whoami.sync(client=caller)
            self.assertIsInstance(me, WhoAmI)
            self.assertEqual((me.id, me.key_id, me.org_id), (account.id, key.key_id, ORG_ID))

        deleted = delete_service_account_key.sync_detailed(account.id, key.key_id, client=admin, org_id=ORG_ID)
        self.assertEqual(deleted.status_code, 204)
        refused = whoami.sync_detailed(client=self.client(key.secret))
        self.assertEqual(refused.status_code, 401)
        self.assertIsInstance(refused.parsed, Problem)
        self.assertEqual(refused.parsed.status, 401)

        gone = delete_service_account.sync_detailed(account.id, client=admin, org_id=ORG_ID)
        self.assertEqual(gone.status_code, 204)


class Paging(ClientTest):
    def test_walks_every_page_with_the_cursor(self) -> None:
        admin = self.client(ADMIN_KEY)
        stem = unique("paged")
        names = {f"{stem}-{i}" for i in range(5)}
        for name in names:
            res = create_service_account.sync_detailed(client=admin, body=CreateServiceAccount(name=name))
            self.assertEqual(res.status_code, 201)

        seen: list[str] = []
        pages = 0
        cursor = None
        while True:
            page = list_service_accounts.sync(client=admin, name=stem, limit=2, cursor=cursor)
            self.assertNotIsInstance(page, Problem)
            pages += 1
            self.assertLessEqual(len(page.items), 2)
            seen.extend(item.name for item in page.items)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
            self.assertLess(pages, 10, "the cursor never ran out")
        self.assertEqual(sorted(seen), sorted(names))
        self.assertEqual(pages, 3)


class Refusals(ClientTest):
    def test_an_unknown_account_is_a_404_problem(self) -> None:
        res = get_service_account.sync_detailed("0" * 32, client=self.client(ADMIN_KEY))
        self.assertEqual(res.status_code, 404)
        problem = res.parsed
        self.assertIsInstance(problem, Problem)
        self.assertEqual(problem.status, 404)
        self.assertTrue(problem.type_ and problem.title and problem.detail)

    def test_a_bad_field_is_a_422_problem_naming_it(self) -> None:
        res = create_service_account.sync_detailed(client=self.client(ADMIN_KEY), body=CreateServiceAccount(name=""))
        self.assertEqual(res.status_code, 422)
        self.assertIsInstance(res.parsed, Problem)
        self.assertEqual(res.parsed.field, "name")


if __name__ == "__main__":
    unittest.main()

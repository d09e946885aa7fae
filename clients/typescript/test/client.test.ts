// The typed client against a running keyward: KEYWARD_URL is the server,
// KEYWARD_ORG_ID an organization on it and KEYWARD_ADMIN_KEY the secret of
// an admin key there (tests/clients.rs sets all three). `npm test` compiles
// and runs it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";

import { basic, keywardClient, type Problem } from "../src/index.js";

function env(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is not set`);
  return value;
}

const url = env("KEYWARD_URL");
const orgId = env("KEYWARD_ORG_ID");
const admin = keywardClient(url, env("KEYWARD_ADMIN_KEY"));
const unique = (stem: string) => `${stem}-${randomBytes(4).toString("hex")}`;
const SA = "/api/service-account/v1/service-account";

test("the guide's flow: an account with Basic Auth, a key, whoami three ways, the key deleted", async () => {
  const created = await admin.POST(SA, {
    params: { query: { orgId } },
    body: { name: unique("John Doe"), enableBasicAuth: true },
  });
  assert.equal(created.response.status, 201);
  assert.ok(created.data);
  const account = created.data;
  assert.equal(account.enableBasicAuth, true);
  assert.equal(account.orgId, orgId);
  assert.deepEqual(account.keys, []);

  // No body at all, as the guide allows.
  const minted = await admin.POST(`${SA}/{id}/key`, { params: { path: { id: account.id }, query: { orgId } } });
  assert.equal(minted.response.status, 201);
  assert.ok(minted.data);
  const key = minted.data;
  assert.match(key.secret, /^kw_/);

  for (const authorization of [key.secret, `Bearer ${key.secret}`, basic(key.keyId, key.secret)]) {
    const me = await keywardClient(url, authorization).GET("/api/service-account/v1/whoami");
    assert.equal(me.response.status, 200, `whoami with ${authorization.split(" ")[0]}`);
    assert.ok(me.data);
    assert.deepEqual([me.data.id, me.data.keyId, me.data.orgId], [account.id, key.keyId, orgId]);
  }

  const deleted = await admin.DELETE(`${SA}/{id}/key/{key-id}`, {
    params: { path: { id: account.id, "key-id": key.keyId }, query: { orgId } },
  });
  assert.equal(deleted.response.status, 204);
  const refused = await keywardClient(url, key.secret).GET("/api/service-account/v1/whoami");
  assert.equal(refused.response.status, 401);
  assert.equal(refused.error?.status, 401);

  const gone = await admin.DELETE(`${SA}/{id}`, { params: { path: { id: account.id }, query: { orgId } } });
  assert.equal(gone.response.status, 204);
});

test("a listing walked page by page with the cursor", async () => {
  const stem = unique("paged");
  const names = [0, 1, 2, 3, 4].map((i) => `${stem}-${i}`);
  for (const name of names) {
    const res = await admin.POST(SA, { body: { name } });
    assert.equal(res.response.status, 201);
  }

  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await admin.GET(SA, { params: { query: { name: stem, limit: 2, cursor } } });
    assert.ok(page.data, `page ${pages + 1}: ${page.error?.detail}`);
    pages += 1;
    assert.ok(page.data.items.length <= 2);
    seen.push(...page.data.items.map((item) => item.name));
    cursor = page.data.nextCursor ?? undefined;
    assert.ok(pages < 10, "the cursor never ran out");
  } while (cursor);
  assert.deepEqual(seen.sort(), [...names].sort());
  assert.equal(pages, 3);
});

test("a refused call is a typed problem", async () => {
  const missing = await admin.GET(`${SA}/{id}`, { params: { path: { id: "0".repeat(32) } } });
  assert.equal(missing.response.status, 404);
  const problem: Problem | undefined = missing.error;
  assert.ok(problem);
  assert.equal(problem.status, 404);
  assert.ok(problem.type && problem.title && problem.detail);

  const invalid = await admin.POST(SA, { body: { name: "" } });
  assert.equal(invalid.response.status, 422);
  assert.equal(invalid.error?.field, "name");
});

// The typed keyward client: the types in generated/ (written by
// scripts/clients.sh, never by hand) put on openapi-fetch.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

export type { components, operations, paths } from "./generated/schema.js";
export type Schemas = components["schemas"];
/** What every refused call answers: RFC 9457 problem details. */
export type Problem = Schemas["Problem"];

/**
 * A client whose every request carries `authorization` as its Authorization
 * header: the key itself, `Bearer <key>`, or `basic(keyId, key)`.
 */
export function keywardClient(baseUrl: string, authorization?: string): Client<paths> {
  return createClient<paths>({ baseUrl, headers: authorization ? { Authorization: authorization } : {} });
}

/** The Basic credentials of a key, for accounts with Basic Auth enabled. */
export function basic(keyId: string, secret: string): string {
  return `Basic ${btoa(`${keyId}:${secret}`)}`;
}

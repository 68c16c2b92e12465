// Shared set-up for the engine's tests: a live gridlink server (GRIDLINK_URL, started by
// tests/test_web_sync_engine.py with the demo county) and an IndexedDB per engine.
import { IDBFactory } from "fake-indexeddb";
import { SyncEngine } from "../sync/engine.js";

export const URL_ = process.env.GRIDLINK_URL;
if (!URL_) throw new Error("set GRIDLINK_URL to a gridlink server with the demo county");
export const PASSWORD = process.env.GRIDLINK_DEMO_PASSWORD || "gridlink-demo";
export const LIAISON = "13800000003";
export const OFFICER = "13800000001";

/** An engine on a fresh in-memory IndexedDB; `net` cuts or drops its connection. */
export async function phone(options = {}) {
  const net = { offline: false, dropNextAnswer: false, dropAfterPuts: null, puts: 0 };
  const fetcher = async (url, init) => {
    if (net.offline) throw new TypeError("Failed to fetch (offline)");
    if (init?.method === "PUT") {
      net.puts++;
      if (net.dropAfterPuts != null && net.puts > net.dropAfterPuts) {
        net.dropAfterPuts = null;
        throw new TypeError("connection dropped during the upload");
      }
    }
    const response = await fetch(url, init);
    if (net.dropNextAnswer) {
      net.dropNextAnswer = false;
      await response.arrayBuffer(); // the server did the work; the answer never arrives
      throw new TypeError("network connection lost");
    }
    return response;
  };
  const engine = new SyncEngine({
    baseUrl: URL_,
    fetch: fetcher,
    indexedDB: new IDBFactory(),
    ...options,
  });
  await engine.open();
  return { engine, net };
}

/** A GraphQL call as someone (the office side of a test). */
export async function gql(token, query, variables = {}) {
  const response = await fetch(`${URL_}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export async function login(phoneNumber) {
  const data = await gql(
    "",
    `mutation($p: String!, $w: String!) { login(phone: $p, password: $w) { token } }`,
    { p: phoneNumber, w: PASSWORD },
  );
  return data.login.token;
}

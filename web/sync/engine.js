// The gridlink sync engine: a local copy in IndexedDB and an outbox, speaking the public sync
// protocol (docs/sync-protocol.md) over fetch. No UI in here: any frontend can use it.
//
//   const engine = new SyncEngine({ baseUrl: "https://gridlink.example" });
//   await engine.open();
//   await engine.signIn("13800000003", "…");
//   await engine.sync();                               // first sync: the scope, in pages
//   const id = await engine.create("tickets", { title, source, gridId });
//   await engine.sync();                               // push the outbox, then pull
//
// Guarantees: every change is stored with its outbox entry in one transaction; an outbox
// entry leaves only once its result is stored, so a dropped answer means the same mutations
// (same mutationIds) go again and the server answers them from its ledger; a page of a pull
// is stored with its checkpoint in one transaction.

import { done, openDatabase, transact } from "./idb.js";
import { allowedMoves } from "./lifecycle.js";

export const PROTOCOL_VERSION = 1;
const DB_VERSION = 1;
const PUSH_BATCH = 500;

const PULL = `query($checkpoint: String, $limit: Int, $clientId: String) {
  syncPull(checkpoint: $checkpoint, limit: $limit, clientId: $clientId) {
    changes { collection id deleted version data } checkpoint hasMore resetRequired
  }
}`;
const PUSH = `mutation($clientId: String!, $mutations: [SyncMutationInput!]!) {
  syncPush(clientId: $clientId, mutations: $mutations) {
    results {
      mutationId status version data
      error { code message field }
      conflicts { id collection recordId field clientValue serverValue rule winner message }
    }
  }
}`;
const LOGIN = `mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token expiresAt errors { code message field } }
}`;
const ME = `{ me { uuid name phone roles } ticketRules }`;
const RESOLVE = `mutation($id: ID!, $choice: SyncConflictChoice!, $value: JSON) {
  resolveSyncConflict(id: $id, choice: $choice, value: $value) {
    conflict { id status } errors { code message field }
  }
}`;

/** The server refused the whole request (`code` from extensions.code). */
export class SyncError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/** No answer from the server (offline, dropped connection): the outbox is kept. */
export class NetworkError extends Error {}

export function newId() {
  return globalThis.crypto.randomUUID();
}

/**
 * @typedef {{collection: string, id: string, version: number, data: any}} LocalRecord
 * @typedef {{seq?: number, mutationId: string, collection: string, id: string,
 *            op: "CREATE"|"UPDATE"|"DELETE", baseVersion: number|null, fields: any,
 *            queuedAt: string}} OutboxEntry
 */

export class SyncEngine extends EventTarget {
  /**
   * @param {{baseUrl?: string, fetch?: typeof fetch, indexedDB?: IDBFactory,
   *          dbName?: string, pageSize?: number, language?: string}} [options]
   */
  constructor(options = {}) {
    super();
    this.baseUrl = options.baseUrl || "";
    this.fetch = options.fetch || globalThis.fetch.bind(globalThis);
    this.factory = options.indexedDB || globalThis.indexedDB;
    this.dbName = options.dbName || "gridlink";
    this.pageSize = options.pageSize || 500;
    /** @type {IDBDatabase|null} */
    this.db = null;
    /** @type {Record<string, any>} */
    this.meta = {};
    this.syncing = null;
    this.resets = 0;
    /** @type {string|null} the language for server messages when none is stored */
    this.language = options.language || null;
  }

  // --- the local database ---------------------------------------------------------------

  async open() {
    this.db = await openDatabase(this.factory, this.dbName, DB_VERSION, (db) => {
      db.createObjectStore("meta");
      const records = db.createObjectStore("records", { keyPath: ["collection", "id"] });
      records.createIndex("collection", "collection");
      const outbox = db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
      outbox.createIndex("record", ["collection", "id"]);
      db.createObjectStore("results", { keyPath: "mutationId" });
      db.createObjectStore("files", { keyPath: "id" });
    });
    const meta = await transact(this.db, ["meta"], "readonly", async (tx) => {
      const store = tx.objectStore("meta");
      const [keys, values] = await Promise.all([done(store.getAllKeys()), done(store.getAll())]);
      return Object.fromEntries(keys.map((k, i) => [k, values[i]]));
    });
    this.meta = meta;
    if (!this.meta.clientId) await this.setMeta({ clientId: `web-${newId()}` });
    return this;
  }

  close() {
    this.db?.close();
    this.db = null;
  }

  /** @param {Record<string, any>} values */
  /** Read the stored state again (another engine, e.g. the service worker's, changed it). */
  async reload() {
    this.db?.close();
    await this.open();
    this.#changed("all");
  }

  async setMeta(values) {
    await transact(this.#db(), ["meta"], "readwrite", (tx) => {
      for (const [k, v] of Object.entries(values)) tx.objectStore("meta").put(v, k);
    });
    Object.assign(this.meta, values);
    this.#changed("meta");
  }

  #db() {
    if (!this.db) throw new Error("call open() first");
    return this.db;
  }

  #changed(what) {
    this.dispatchEvent(new CustomEvent("change", { detail: { what } }));
  }

  get signedIn() {
    return Boolean(this.meta.token);
  }

  get me() {
    return this.meta.me || null;
  }

  get rules() {
    return this.meta.rules || null;
  }

  // --- the wire -----------------------------------------------------------------------------

  /** @param {string} query @param {Record<string, any>} variables */
  async call(query, variables = {}) {
    let response;
    try {
      response = await this.fetch(`${this.baseUrl}/graphql`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-Gridlink-Sync-Protocol": String(PROTOCOL_VERSION),
          ...(this.meta.token ? { Authorization: `Bearer ${this.meta.token}` } : {}),
          // The server's messages (rejections, conflicts) in the person's language.
          "Accept-Language": this.meta.language || this.language || "zh-CN",
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new NetworkError(String(error?.message || error));
    }
    let body;
    try {
      body = await response.json();
    } catch (error) {
      throw new NetworkError(`unreadable answer (HTTP ${response.status})`);
    }
    if (body.errors?.length) {
      const error = body.errors[0];
      throw new SyncError(error.extensions?.code || "ERROR", error.message);
    }
    if (!response.ok) throw new NetworkError(`HTTP ${response.status}`);
    return body.data;
  }

  /** Sign in; keeps the token, the member and the lifecycle rules. */
  async signIn(phone, password) {
    const data = await this.call(LOGIN, { phone, password });
    const login = data.login;
    if (login.errors?.length) {
      const error = login.errors[0];
      throw new SyncError(error.code, error.message);
    }
    if (this.meta.me && this.meta.me.phone !== phone) await this.wipe();
    await this.setMeta({ token: login.token });
    await this.refreshProfile();
    return this.me;
  }

  async refreshProfile() {
    const data = await this.call(ME);
    await this.setMeta({ me: data.me, rules: data.ticketRules });
  }

  /** Drop everything on the device (sign-out); `unsent()` tells what would be lost. */
  async wipe() {
    const language = this.meta.language;
    await transact(
      this.#db(),
      ["meta", "records", "outbox", "results", "files"],
      "readwrite",
      (tx) => {
        for (const name of tx.objectStoreNames) tx.objectStore(name).clear();
        // A new member on this device gets a new clientId (an id is bound to its member).
        tx.objectStore("meta").put(`web-${newId()}`, "clientId");
        if (language) tx.objectStore("meta").put(language, "language");
      },
    );
    this.meta = {};
    await this.open();
    this.#changed("all");
  }

  async signOut() {
    try {
      if (this.meta.token) await this.call("mutation { logout { ok } }");
    } catch {
      // offline: the token expires on its own
    }
    await this.wipe();
  }

  // --- reading the copy -----------------------------------------------------------------

  /** @param {string} collection @returns {Promise<LocalRecord[]>} */
  async list(collection) {
    return transact(this.#db(), ["records"], "readonly", (tx) =>
      done(tx.objectStore("records").index("collection").getAll(collection)),
    );
  }

  /** @param {string} collection @param {string} id @returns {Promise<LocalRecord|undefined>} */
  async get(collection, id) {
    return transact(this.#db(), ["records"], "readonly", (tx) =>
      done(tx.objectStore("records").get([collection, id])),
    );
  }

  /** @returns {Promise<OutboxEntry[]>} */
  async outbox() {
    return transact(this.#db(), ["outbox"], "readonly", (tx) =>
      done(tx.objectStore("outbox").getAll()),
    );
  }

  /** Changes not yet on the server. */
  async unsent() {
    return (await this.outbox()).length;
  }

  /** Results the person should see: rejected mutations and conflicts. */
  async notices() {
    return transact(this.#db(), ["results"], "readonly", (tx) =>
      done(tx.objectStore("results").getAll()),
    );
  }

  async dismissNotice(mutationId) {
    await transact(this.#db(), ["results"], "readwrite", (tx) => {
      tx.objectStore("results").delete(mutationId);
    });
    this.#changed("results");
  }

  /** The statuses the signed-in member may move a ticket to, from the server's rules. */
  allowedMoves(ticket) {
    return this.rules ? allowedMoves(this.rules, ticket) : [];
  }

  // --- offline work: change the copy and queue the mutation, in one transaction --------

  /** @param {string} collection @param {Record<string, any>} fields */
  async create(collection, fields, id = newId()) {
    await this.#queue(collection, id, "CREATE", fields);
    return id;
  }

  /** @param {string} collection @param {string} id @param {Record<string, any>} fields */
  async update(collection, id, fields) {
    await this.#queue(collection, id, "UPDATE", fields);
  }

  /** @param {string} collection @param {string} id */
  async remove(collection, id) {
    await this.#queue(collection, id, "DELETE", null);
  }

  async #queue(collection, id, op, fields, stores = [], extra = null) {
    await transact(this.#db(), ["records", "outbox", ...stores], "readwrite", async (tx) => {
      if (extra) extra(tx);
      const records = tx.objectStore("records");
      const local = await done(records.get([collection, id]));
      if (op !== "CREATE" && !local) throw new Error(`no ${collection} record ${id} here`);
      // The base is the server version the edit started from; a record made offline and
      // never received back has none.
      const baseVersion = op === "CREATE" ? null : local.version || null;
      if (op === "DELETE") records.delete([collection, id]);
      else {
        const data = op === "CREATE" ? { id, ...fields } : { ...local.data, ...fields };
        records.put({ collection, id, version: local?.version || 0, data });
      }
      tx.objectStore("outbox").add({
        mutationId: newId(),
        collection,
        id,
        op,
        baseVersion,
        fields: fields && { ...fields },
        queuedAt: new Date().toISOString(),
      });
    });
    this.#changed(collection);
  }

  // --- attachments: the record goes through the outbox, the bytes by resumable upload ---

  /**
   * Keep a file (e.g. a resized photo) on the device and queue its attachment record; the
   * bytes are uploaded by sync() once the record has reached the server.
   * @param {string} ticketId
   * @param {ArrayBuffer} bytes
   * @param {{kind?: string, contentType: string, width?: number|null, height?: number|null,
   *          caption?: string|null, takenAt?: string|null}} info
   */
  async attach(ticketId, bytes, info) {
    const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes);
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const id = newId();
    const fields = {
      ticketId,
      kind: info.kind || "PHOTO",
      contentType: info.contentType,
      byteSize: bytes.byteLength,
      sha256,
      width: info.width ?? null,
      height: info.height ?? null,
      caption: info.caption ?? null,
      takenAt: info.takenAt ?? new Date().toISOString(),
    };
    await this.#queue("ticketAttachments", id, "CREATE", fields, ["files"], (tx) => {
      tx.objectStore("files").put({ id, ticketId, contentType: info.contentType, bytes, uploaded: false });
    });
    return id;
  }

  /** Files kept on the device (to show them before and after upload). */
  async files(ticketId) {
    const all = await transact(this.#db(), ["files"], "readonly", (tx) =>
      done(tx.objectStore("files").getAll()),
    );
    return ticketId ? all.filter((f) => f.ticketId === ticketId) : all;
  }

  /** Upload every kept file whose record is on the server, resuming where the server's
   * `Upload-Offset` says; returns how many were completed. */
  async upload({ chunk = 256 * 1024 } = {}) {
    const pending = (await this.files()).filter((f) => !f.uploaded);
    const waiting = new Set((await this.outbox()).map((e) => `${e.collection}/${e.id}`));
    let completed = 0;
    for (const file of pending) {
      if (waiting.has(`ticketAttachments/${file.id}`)) continue; // record not pushed yet
      const rejected = (await this.notices()).some(
        (n) => n.id === file.id && n.status === "REJECTED",
      );
      if (rejected) continue;
      if (await this.#uploadOne(file, chunk)) {
        completed++;
        await transact(this.#db(), ["files"], "readwrite", (tx) => {
          tx.objectStore("files").put({ ...file, uploaded: true });
        });
        this.#changed("files");
      }
    }
    return completed;
  }

  async #uploadOne(file, chunk) {
    const url = `${this.baseUrl}/attachments/${file.id}`;
    const auth = { Authorization: `Bearer ${this.meta.token}` };
    const total = file.bytes.byteLength;
    let response;
    try {
      response = await this.fetch(url, { method: "HEAD", headers: auth });
    } catch (error) {
      throw new NetworkError(String(error?.message || error));
    }
    if (response.status === 200) return true;
    if (response.status !== 204) return false; // not there (yet) or not ours: try next time
    let offset = Number(response.headers.get("Upload-Offset") || 0);
    while (offset < total) {
      const end = Math.min(offset + chunk, total);
      try {
        response = await this.fetch(url, {
          method: "PUT",
          headers: {
            ...auth,
            "Content-Type": "application/octet-stream",
            "Content-Range": `bytes ${offset}-${end - 1}/${total}`,
          },
          body: file.bytes.slice(offset, end),
        });
      } catch (error) {
        throw new NetworkError(String(error?.message || error));
      }
      if (response.status === 200 || response.status === 201) return true;
      if (response.status === 202 || response.status === 409) {
        offset = Number(response.headers.get("Upload-Offset") || end);
        continue;
      }
      const body = await response.json().catch(() => ({}));
      const code = body.errors?.[0]?.extensions?.code || `HTTP_${response.status}`;
      throw new SyncError(code, body.errors?.[0]?.message || "upload refused");
    }
    return false;
  }

  // --- push and pull --------------------------------------------------------------------

  /** Send the outbox in order; returns the results. A lost answer leaves the outbox as it
   * was: the next push sends the same mutations and gets the stored results. */
  async push() {
    const answered = [];
    for (;;) {
      const batch = (await this.outbox()).slice(0, PUSH_BATCH);
      if (!batch.length) return answered;
      const mutations = batch.map(({ mutationId, collection, id, op, baseVersion, fields }) => ({
        mutationId,
        collection,
        id,
        op,
        baseVersion,
        fields,
      }));
      const data = await this.call(PUSH, { clientId: this.meta.clientId, mutations });
      const results = data.syncPush.results;
      await transact(this.#db(), ["records", "outbox", "results"], "readwrite", async (tx) => {
        for (let i = 0; i < batch.length; i++) {
          await this.#takeResult(tx, batch[i], results[i]);
        }
      });
      answered.push(...results);
      this.#changed("outbox");
    }
  }

  async #takeResult(tx, mutation, result) {
    const records = tx.objectStore("records");
    tx.objectStore("outbox").delete(mutation.seq);
    if (result.status === "REJECTED" || result.status === "CONFLICT") {
      tx.objectStore("results").put({
        mutationId: mutation.mutationId,
        collection: mutation.collection,
        id: mutation.id,
        op: mutation.op,
        fields: mutation.fields,
        status: result.status,
        error: result.error,
        conflicts: result.conflicts,
        at: new Date().toISOString(),
      });
    }
    const key = [mutation.collection, mutation.id];
    if (result.status === "REJECTED" && mutation.op === "CREATE") {
      records.delete(key); // never made on the server: the local draft goes
      return;
    }
    const data = result.data;
    if (!data) return;
    if (data.deletedAt) {
      records.delete(key);
      return;
    }
    const local = await done(records.get(key));
    if (!local) {
      // A refused delete puts the record back; otherwise a result never brings back a
      // record a pull removed (a replayed answer may be older than the copy).
      if (mutation.op === "DELETE" && result.status !== "APPLIED") {
        records.put({ collection: mutation.collection, id: mutation.id, version: result.version, data });
      }
      return;
    }
    if ((result.version || 0) >= local.version) {
      await this.#putServer(tx, mutation.collection, mutation.id, result.version, data);
    }
  }

  // The server's copy of a record with the changes still waiting in the outbox laid on top,
  // so the phone shows what it will be once they arrive.
  async #putServer(tx, collection, id, version, data) {
    const pending = await done(tx.objectStore("outbox").index("record").getAll([collection, id]));
    let view = { ...data };
    for (const entry of pending) {
      if (entry.op === "DELETE") {
        tx.objectStore("records").delete([collection, id]);
        return;
      }
      view = { ...view, ...entry.fields };
    }
    tx.objectStore("records").put({ collection, id, version, data: view });
  }

  /** Pull until the server has nothing more; returns the number of changes. */
  async pull() {
    let received = 0;
    let idle = 0;
    let resets = 0;
    for (let round = 0; round < 10000; round++) {
      const data = await this.call(PULL, {
        checkpoint: this.meta.checkpoint ?? null,
        limit: this.pageSize,
        clientId: this.meta.clientId,
      });
      const page = data.syncPull;
      if (page.resetRequired) {
        // History gone or scope changed: send what waits, drop the copy, start over.
        this.resets++;
        if (++resets > 3) throw new SyncError("RESET_LOOP", "the server keeps asking for a reset");
        await this.push();
        await transact(this.#db(), ["records", "meta"], "readwrite", (tx) => {
          tx.objectStore("records").clear();
          tx.objectStore("meta").delete("checkpoint");
        });
        delete this.meta.checkpoint;
        this.#changed("all");
        continue;
      }
      await transact(this.#db(), ["records", "outbox", "meta"], "readwrite", async (tx) => {
        for (const change of page.changes) {
          if (change.deleted) tx.objectStore("records").delete([change.collection, change.id]);
          else await this.#putServer(tx, change.collection, change.id, change.version, change.data);
        }
        tx.objectStore("meta").put(page.checkpoint, "checkpoint");
      });
      this.meta.checkpoint = page.checkpoint;
      received += page.changes.length;
      if (page.changes.length) this.#changed("records");
      if (!page.hasMore) return received;
      // hasMore with an empty page: changes wait behind a transaction still running.
      idle = page.changes.length ? 0 : idle + 1;
      if (idle) await new Promise((r) => setTimeout(r, Math.min(10 * idle, 200)));
    }
    throw new SyncError("TOO_MANY_ROUNDS", "the server kept saying hasMore");
  }

  /** Push what waits, then pull; one at a time (a second call joins the running one). */
  sync() {
    if (!this.syncing) {
      this.syncing = (async () => {
        this.#changed("sync");
        try {
          const results = await this.push();
          await this.upload();
          // The rules and the member come with the pull, not after it (one round trip less
          // on a slow link).
          const [pulled] = await Promise.all([this.pull(), this.refreshProfile()]);
          await this.setMeta({ lastSyncAt: new Date().toISOString(), lastError: null });
          return { pushed: results.length, pulled };
        } catch (error) {
          await this.setMeta({
            lastError: { code: error.code || "NETWORK", message: String(error.message || error) },
          });
          throw error;
        } finally {
          this.syncing = null;
          this.#changed("sync");
        }
      })();
    }
    return this.syncing;
  }

  /** Resolve a sync conflict on the server (KEEP_SERVER, TAKE_CLIENT or CUSTOM), then pull. */
  async resolveConflict(id, choice, value = null) {
    const data = await this.call(RESOLVE, { id, choice, value });
    const payload = data.resolveSyncConflict;
    if (payload.errors?.length) {
      const error = payload.errors[0];
      throw new SyncError(error.code, error.message);
    }
    await this.pull();
    return payload.conflict;
  }
}

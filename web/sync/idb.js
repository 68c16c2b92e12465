// A few promise helpers over IndexedDB: enough for the sync engine, no dependency, so the
// engine runs the same in a page, a service worker and Node (with fake-indexeddb).

/** @param {IDBRequest} request */
export function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** @param {IDBTransaction} tx */
export function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(undefined);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    tx.onerror = () => reject(tx.error);
  });
}

/**
 * Open (and create or upgrade) the database.
 * @param {IDBFactory} factory
 * @param {string} name
 * @param {number} version
 * @param {(db: IDBDatabase) => void} upgrade
 * @returns {Promise<IDBDatabase>}
 */
export function openDatabase(factory, name, version, upgrade) {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, version);
    request.onupgradeneeded = () => upgrade(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error(`database ${name} is open elsewhere`));
  });
}

/**
 * Run `work` in one transaction over `stores`; resolves with its result once committed.
 * @template T
 * @param {IDBDatabase} db
 * @param {string[]} stores
 * @param {IDBTransactionMode} mode
 * @param {(tx: IDBTransaction) => Promise<T> | T} work
 * @returns {Promise<T>}
 */
export async function transact(db, stores, mode, work) {
  const tx = db.transaction(stores, mode);
  const finished = committed(tx);
  let result;
  try {
    result = await work(tx);
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // already finished
    }
    finished.catch(() => {});
    throw error;
  }
  await finished;
  return result;
}

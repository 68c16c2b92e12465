// The field app's service worker (VERSION, PREFIX and PRECACHE are put above by the server):
// precaches this release so the app opens with no network, and turns a Web Push into a
// notification plus a pull of what it hints at.
import { SyncEngine } from "./sync-engine-path-is-replaced-by-the-server.js";
import { t } from "./i18n-path-is-replaced-by-the-server.js";

const CACHE = `gridlink-app-${VERSION}`;
const SHELL = "/app";

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll([SHELL, ...PRECACHE]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("gridlink-app-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === SHELL || url.pathname === `${SHELL}/`) {
    // The shell: the network when it answers (a new release), else the cached one.
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        try {
          const fresh = await fetch(event.request);
          if (fresh.ok) await cache.put(SHELL, fresh.clone());
          return fresh;
        } catch {
          return (await cache.match(SHELL, { ignoreVary: true })) || Response.error();
        }
      })(),
    );
    return;
  }
  if (url.pathname.startsWith("/app/v/")) {
    // Versioned files never change, whatever the request's Origin or languages (the server's
    // Vary headers concern its negotiated answers, not these immutable copies).
    event.respondWith(
      (async () =>
        (await caches.match(event.request, { ignoreVary: true })) || fetch(event.request))(),
    );
  }
});

async function engine() {
  const e = new SyncEngine({ baseUrl: self.location.origin });
  await e.open();
  return e;
}

self.addEventListener("push", (event) => {
  event.waitUntil(
    (async () => {
      let hint = {};
      try {
        hint = event.data ? event.data.json() : {};
      } catch {
        hint = {};
      }
      const e = await engine();
      const lang = e.meta.language;
      await self.registration.showNotification(t(lang, `notice.${hint.kind}`, t(lang, "notice.other")), {
        body: hint.title || "",
        tag: hint.ticketId || hint.notificationId || "gridlink",
        data: { ticketId: hint.ticketId || null },
        lang: lang || "zh-CN",
        icon: `${PREFIX}/icons/icon-192.png`,
      });
      // Pull what the push hints at, so the app shows it at once.
      try {
        if (e.signedIn) await e.sync();
      } catch {
        // offline again: the app syncs when it can
      }
      e.close();
      for (const client of await self.clients.matchAll({ type: "window" })) {
        client.postMessage({ type: "synced", hint });
      }
    })(),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const ticketId = event.notification.data?.ticketId;
  const target = ticketId ? `${SHELL}#/ticket/${ticketId}` : SHELL;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (new URL(client.url).pathname.startsWith(SHELL)) {
          client.postMessage({ type: "open", hash: ticketId ? `#/ticket/${ticketId}` : "#/" });
          return client.focus();
        }
      }
      return self.clients.openWindow(target);
    })(),
  );
});

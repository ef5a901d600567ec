// The service worker of the offline web app (issue 17). It keeps the form shells and the project's own
// static files, and answers only for them when there is no signal. It never sees an entry: forms are
// sealed by offline.js in the page and sync requests pass through untouched. No third-party origin.
"use strict";
var CACHE = "tincay-shell-__VERSION__";
var URLS = __URLS__;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(URLS.map(function (u) { return new Request(u, { credentials: "same-origin", cache: "reload" }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("tincay-shell-") === 0 && n !== CACHE; })
      .map(function (n) { return caches["delete"](n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || URLS.indexOf(url.pathname) < 0) { return; }
  // Network first, so a signed-out visitor gets the sign-in page and a fresh shell replaces the kept one.
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected && response.type === "basic") {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
    }
    return response;
  }, function () {
    return caches.open(CACHE).then(function (cache) {
      return cache.match(url.pathname, { ignoreVary: true, ignoreSearch: true });
    }).then(function (found) { return found || Response.error(); });
  }));
});

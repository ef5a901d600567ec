// Recording without signal (issue 17). What the host saves is sealed at once with WebCrypto to the
// server's offline public key (ECDH P-256 with an ephemeral key, HKDF-SHA256, AES-256-GCM; the associated
// data binds the key id, the entry id and her account). IndexedDB keeps only sealed entries, their ids,
// capture times and the name of her queue: never the plain entry. The phone cannot read back what it
// sealed; only the server can. An entry leaves the phone only after the server has answered for it.
(function () {
  "use strict";
  var subtle = window.crypto && window.crypto.subtle;
  if (!window.indexedDB || !subtle || !window.fetch || !window.TextEncoder) { return; }
  var body = document.body;
  var conf = {
    sw: body.getAttribute("data-sw") || "/sw.js",
    key: body.getAttribute("data-key-url") || "/api/v1/offline/key",
    session: body.getAttribute("data-session-url") || "/api/v1/offline/session",
    entries: body.getAttribute("data-entries-url") || "/api/v1/offline/entries"
  };
  var FORMAT = "tincay-offline-v1";
  var ANSWERS = ["saved", "duplicate", "needs_correction", "rejected"];
  var enc = new TextEncoder();
  var csrf = null;
  var signedIn = false;
  var syncing = false;

  function msg(name) {
    var holder = document.getElementById("offline-messages");
    return (holder && holder.getAttribute("data-" + name)) || "";
  }

  // --- IndexedDB --------------------------------------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("tincay-offline", 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        db.createObjectStore("entries", { keyPath: "id" }).createIndex("queue", "queue");
        db.createObjectStore("meta", { keyPath: "name" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function run(storeName, mode, action) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(storeName, mode);
        var req = action(t.objectStore(storeName));
        t.oncomplete = function () { db.close(); resolve(req ? req.result : undefined); };
        t.onerror = t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }
  function getMeta(name) { return run("meta", "readonly", function (s) { return s.get(name); }); }
  function putMeta(value) { return run("meta", "readwrite", function (s) { return s.put(value); }); }
  function queueOf(queue) {
    return run("entries", "readonly", function (s) { return s.index("queue").getAll(queue); });
  }
  function keep(entry) { return run("entries", "readwrite", function (s) { return s.add(entry); }); }
  function forget(id) { return run("entries", "readwrite", function (s) { return s["delete"](id); }); }

  // --- base64url ----------------------------------------------------------------------------------------
  function b64u(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64u(text) {
    var raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  function newId() {
    if (window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var b = window.crypto.getRandomValues(new Uint8Array(16)), h = [];
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) { h.push((b[i] + 256).toString(16).slice(1)); }
    h = h.join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  // --- who is signed in on this device ------------------------------------------------------------------
  function deviceId() {
    return getMeta("device").then(function (found) {
      if (found) { return found.id; }
      var id = b64u(window.crypto.getRandomValues(new Uint8Array(16)));
      return putMeta({ name: "device", id: id }).then(function () { return id; });
    });
  }
  // The binding (account id, queue name, server key) is replaced whenever another account signs in, so
  // the app only ever lists, sends or seals for the account last signed in on this device.
  function refreshBinding() {
    return Promise.all([deviceId(), getMeta("binding")]).then(function (got) {
      var device = got[0], binding = got[1];
      if (!navigator.onLine) { return binding; }
      var opts = { credentials: "same-origin", cache: "no-store", headers: { "X-Tincay-Device": device } };
      return fetch(conf.session, opts).then(function (res) {
        if (!res.ok) { signedIn = false; return binding; }
        return res.json().then(function (who) {
          return fetch(conf.key, { credentials: "same-origin", cache: "no-store" }).then(function (res2) {
            if (!res2.ok) { signedIn = false; return binding; }
            return res2.json().then(function (key) {
              signedIn = true;
              csrf = who.csrf_token || null;
              var fresh = { name: "binding", user_id: who.user_id, queue: who.queue, key_id: key.key_id,
                            public_key: key.public_key };
              return putMeta(fresh).then(function () { return fresh; });
            });
          });
        });
      }, function () { return binding; });
    });
  }

  // --- sealing ----------------------------------------------------------------------------------------------
  function seal(binding, plain, capturedAt) {
    var id = newId(), kid = binding.key_id;
    var curve = { name: "ECDH", namedCurve: "P-256" };
    return Promise.all([
      subtle.importKey("raw", unb64u(binding.public_key), curve, false, []),
      subtle.generateKey(curve, false, ["deriveBits"])
    ]).then(function (keys) {
      var eph = keys[1];
      return subtle.deriveBits({ name: "ECDH", "public": keys[0] }, eph.privateKey, 256).then(function (bits) {
        return subtle.importKey("raw", bits, "HKDF", false, ["deriveKey"]);
      }).then(function (hkdf) {
        return subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0),
                                  info: enc.encode(FORMAT + "|" + kid) },
                                hkdf, { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
      }).then(function (aes) {
        var nonce = window.crypto.getRandomValues(new Uint8Array(12));
        var aad = enc.encode(FORMAT + "|" + kid + "|" + id + "|" + binding.user_id);
        return Promise.all([
          subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, aes, enc.encode(JSON.stringify(plain))),
          subtle.exportKey("raw", eph.publicKey)
        ]).then(function (out) {
          return { id: id, queue: binding.queue, key_id: kid, epk: b64u(out[1]), nonce: b64u(nonce),
                   ciphertext: b64u(out[0]), captured_at: capturedAt };
        });
      });
    });
  }

  // --- reading a form into the online API's body -------------------------------------------------------------
  function text(form, name) {
    var el = form.elements[name];
    if (!el) { return ""; }
    return (typeof el.value === "string" ? el.value : "").trim();
  }
  function ticked(form, name) {
    var el = form.querySelector('input[name="' + name + '"]');
    return !!(el && el.checked);
  }
  function ticks(form, name) {
    return Array.prototype.map.call(form.querySelectorAll('input[name="' + name + '"]:checked'),
                                    function (el) { return el.value; });
  }
  // Parts of acts, ticked as "l:force_marriage", in the API's shape: {"l": ["force_marriage"]}.
  function partsOf(form, name) {
    var out = {};
    ticks(form, name).forEach(function (value) {
      var cut = value.indexOf(":");
      var letter = value.slice(0, cut);
      (out[letter] = out[letter] || []).push(value.slice(cut + 1));
    });
    return out;
  }
  function moment(value) {
    if (!value) { return ""; }
    var d = new Date(value);
    return isNaN(d.getTime()) ? value : d.toISOString();
  }
  function whole(value) {
    if (value === "") { return ""; }
    return /^-?\d+$/.test(value) ? parseInt(value, 10) : value;  // a wrong value is reported by the server
  }
  function clean(value) {
    if (Array.isArray(value)) { return value; }
    if (value && typeof value === "object") {
      var out = {};
      Object.keys(value).forEach(function (k) {
        var v = clean(value[k]);
        if (v !== "" && v !== null && v !== undefined) { out[k] = v; }
      });
      return out;
    }
    return value;
  }
  var RISKS = ["threat_to_kill", "weapon", "escalation", "children_at_risk", "perpetrator_nearby"];
  function entryOf(form, kind, now) {
    if (kind === "intake") {
      var ages = text(form, "children_ages");
      var agesList = ages ? ages.split(/[,;\s]+/).filter(Boolean).map(whole) : [];
      return clean({
        type: "intake", intake_at: moment(text(form, "intake_at")) || now, arrival: text(form, "arrival"),
        person: { full_name: text(form, "full_name"), sex: text(form, "sex"), birth_year: whole(text(form, "birth_year")),
                  age_band: text(form, "age_band"), phone: text(form, "phone"),
                  ethnicity_code: text(form, "ethnicity_code"), other_names: text(form, "other_names"),
                  birth_date: text(form, "birth_date"), id_number: text(form, "id_number"),
                  home_address: text(form, "home_address") },
        children: { count: whole(text(form, "children_count") || "0"), ages: agesList },
        acts: ticks(form, "acts"), act_parts: partsOf(form, "act_parts"), relationship: text(form, "relationship"),
        acts_not_counted_confirmed: ticked(form, "acts_not_counted_confirmed"),
        perpetrator: { sex: text(form, "perpetrator_sex"), age_band: text(form, "perpetrator_age_band") },
        injuries: text(form, "injuries"), first_aid_given: ticked(form, "first_aid_given"),
        first_aid: text(form, "first_aid"),
        risk: { factors: RISKS.filter(function (r) { return ticked(form, "risk_" + r); }),
                judged_high: ticked(form, "risk_judged_high") },
        safety_plan: text(form, "safety_plan"),
        commune_notified_at: ticked(form, "commune_notified") ? (moment(text(form, "commune_notified_at")) || now) : "",
        consent: { record: ticked(form, "consent_record"), statistics: ticked(form, "consent_statistics"),
                   share: ticks(form, "consent_share"), given_by: text(form, "consent_given_by") || "self" },
        narrative: text(form, "narrative"), captured_at: now
      });
    }
    if (kind === "follow_up") {
      var recurred = form.querySelector('input[name="violence_recurred"]:checked');
      return clean({ type: "follow_up", case_id: text(form, "case_id"), on: text(form, "on"), kind: text(form, "kind"),
                     situation: text(form, "situation"),
                     violence_recurred: recurred ? recurred.value === "yes" : null, note: text(form, "note"),
                     captured_at: now });
    }
    return clean({ type: "shelter_stay", case_id: text(form, "case_id"), start_on: text(form, "start_on"),
                   end_on: text(form, "end_on"), essentials: ticks(form, "essentials"),
                   money_vnd: whole(text(form, "money_vnd")), captured_at: now });
  }

  // --- the page ----------------------------------------------------------------------------------------------
  function say(message) {
    var box = document.getElementById("offline-status");
    if (!box || !message) { return; }
    box.textContent = message;
    box.hidden = false;
  }
  function render() {
    var count = document.getElementById("pending-count");
    var list = document.getElementById("pending-list");
    var button = document.getElementById("sync-now");
    if (!count || !list) { return Promise.resolve(); }
    return getMeta("binding").then(function (binding) {
      if (!binding) { return []; }
      return queueOf(binding.queue);
    }).then(function (entries) {
      entries.sort(function (a, b) { return a.captured_at < b.captured_at ? -1 : 1; });
      count.textContent = (count.getAttribute("data-template") || "{n}").replace("{n}", String(entries.length));
      count.setAttribute("data-count", String(entries.length));
      list.textContent = "";
      entries.forEach(function (e) {  // the capture time only: nothing of what was recorded
        var li = document.createElement("li");
        li.textContent = new Date(e.captured_at).toLocaleString(document.documentElement.lang || "vi");
        list.appendChild(li);
      });
      if (button) { button.hidden = entries.length === 0; }
    });
  }
  function sync() {
    if (syncing || !navigator.onLine) { return Promise.resolve(); }
    syncing = true;
    var sent = 0, review = 0;
    return refreshBinding().then(function (binding) {
      if (!binding || !signedIn) { return; }
      return queueOf(binding.queue).then(function (entries) {
        entries.sort(function (a, b) { return a.captured_at < b.captured_at ? -1 : 1; });
        // One entry per request: each answer removes exactly the entry it is about.
        return entries.reduce(function (chain, e) {
          return chain.then(function (go) {
            if (!go) { return false; }
            var wire = { id: e.id, key_id: e.key_id, epk: e.epk, nonce: e.nonce, ciphertext: e.ciphertext,
                         captured_at: e.captured_at };
            var headers = { "Content-Type": "application/json" };
            if (csrf) { headers["X-CSRFToken"] = csrf; }
            return fetch(conf.entries, { method: "POST", credentials: "same-origin", cache: "no-store",
                                         headers: headers, body: JSON.stringify({ entries: [wire] }) })
              .then(function (res) {
                if (!res.ok) { return false; }
                return res.json().then(function (data) {
                  var answer = data && data.results && data.results[0];
                  if (!answer || answer.id !== e.id || ANSWERS.indexOf(answer.status) < 0) { return false; }
                  if (answer.status === "needs_correction" || answer.status === "rejected") { review++; } else { sent++; }
                  return forget(e.id).then(function () { return true; });
                });
              }, function () { return false; });  // no signal or cut off: kept, tried again later
          });
        }, Promise.resolve(true));
      });
    }).then(function () {
      if (sent) { say(msg("sent").replace("{n}", String(sent))); }
      if (review) { say(msg("review").replace("{n}", String(review))); }
    }, function () {}).then(function () {
      syncing = false;
      return render();
    }).then(function () { body.setAttribute("data-offline-synced", "1"); });
  }
  function onSubmit(event) {
    var form = event.target;
    var kind = form.getAttribute("data-offline-kind");
    if (!kind) { return; }
    event.preventDefault();
    getMeta("binding").then(function (binding) {
      if (!binding) { say(msg("nobody")); return; }
      var now = new Date().toISOString();
      var plain = entryOf(form, kind, now);
      return seal(binding, plain, now).then(function (entry) {
        plain = null;
        return keep(entry);
      }).then(function () {
        form.reset();  // nothing she typed stays on the page
        say(msg("saved"));
        window.scrollTo(0, 0);
        return render().then(sync);
      });
    })["catch"](function () { say(msg("failed")); });
  }

  document.addEventListener("submit", onSubmit);
  Array.prototype.forEach.call(document.querySelectorAll("form[data-offline-kind]"), function (f) { f.hidden = false; });
  var button = document.getElementById("sync-now");
  if (button) { button.addEventListener("click", function () { sync(); }); }
  window.addEventListener("online", function () { sync(); });
  // With signal, ask the server who is signed in before listing anything: the list then belongs to her.
  (navigator.onLine ? refreshBinding()["catch"](function () {}) : Promise.resolve()).then(render).then(function () {
    if (!navigator.onLine) { return; }
    return sync().then(function () {
      if (signedIn && navigator.serviceWorker) {
        navigator.serviceWorker.register(conf.sw, { scope: "/" })["catch"](function () {});
      }
    });
  });
})();

// Live updates over Server-Sent Events (docs/realtime.md). Progressive: without this
// file, or when the server answers 204 (live updates off), pages work as before.
//
// - Feeds: a "N new posts — show" button ([data-live-feed] names the feed); pressing it
//   loads the feed's first page in place (no full reload) and moves focus to it.
// - Posts on screen (article.post#post-<id>): reaction and comment counts stay current.
// - A community's feed drops the card of a post moved out of it ("post.removed"; only
//   community feeds: on home, topic and profile feeds the post may still belong).
// - The notification badge (#notification-badge or #notif-bell): on a "notifications"
//   event the badge partial is fetched from data-badge-url and swapped in (or, when the
//   event carries {unread}, data-count is set); "townhall:notifications" is dispatched.
// Announcements go to one polite live region.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.getAttribute("data-stream-url");
  var badgeUrl = script && script.getAttribute("data-badge-url");
  // When the page was made: the first connection replays what happened since.
  var since = script && script.getAttribute("data-live-since");
  if (!url || !window.EventSource || !window.fetch) return;

  var source = null;
  var lastId = null;
  var fresh = [];
  var region = null;
  var reconnectTimer = null;
  var MAX_POSTS = 200;

  function announce(text) {
    // Each announcement is a new line in the polite region (additions are read out),
    // so two at once (a post and a notification) are both heard; the last three stay.
    if (!region) return;
    var line = document.createElement("p");
    line.textContent = text;
    region.appendChild(line);
    while (region.childNodes.length > 3) region.removeChild(region.firstChild);
  }

  function feedName() {
    var el = document.querySelector("[data-live-feed]");
    return el ? el.getAttribute("data-live-feed") : "";
  }

  function postIds() {
    var ids = [];
    document.querySelectorAll("article.post[id^='post-']").forEach(function (el) {
      var id = el.id.slice(5);
      if (/^\d+$/.test(id) && ids.indexOf(id) < 0) ids.push(id);
    });
    return ids.slice(0, MAX_POSTS);
  }

  function streamUrl() {
    var query = new URLSearchParams();
    var feed = feedName();
    if (feed) query.set("feed", feed);
    var ids = postIds();
    if (ids.length) query.set("posts", ids.join(","));
    if (lastId) query.set("last", lastId);
    else if (since) query.set("since", since);
    var text = query.toString();
    return text ? url + "?" + text : url;
  }

  // Event data are ids and counts: read them as such, whatever arrives.
  function idOf(value) {
    var text = String(value);
    return /^\d{1,18}$/.test(text) ? text : null;
  }

  function countOf(value) {
    var n = Number(value);
    return isFinite(n) && n >= 0 ? Math.floor(n) : 0;
  }

  // HTML is only ever taken from this site's own pages (the feed page itself, the
  // badge partial: permission-checked views), never from event data.
  function sameOrigin(answer) {
    return answer.ok && new URL(answer.url, window.location.href).origin === window.location.origin;
  }

  function remember(event) {
    if (event.lastEventId) lastId = event.lastEventId;
  }

  function bar() {
    var el = document.getElementById("live-new-posts");
    return el && el.hasAttribute("data-live-feed") ? el : null;
  }

  function updateBar() {
    var el = bar();
    if (!el) return;
    if (!fresh.length) { el.hidden = true; return; }
    var n = fresh.filter(function (id) { return id !== "resync"; }).length;
    el.textContent = n ? n + (n === 1 ? " new post" : " new posts") + " — show" : "New posts may be available — show";
    el.hidden = false;
  }

  function onPost(event) {
    remember(event);
    var data = JSON.parse(event.data);
    var id = idOf(data.post_id);
    if (!id || !bar() || document.getElementById("post-" + id) || fresh.indexOf(id) >= 0) return;
    fresh.push(id);
    updateBar();
    var n = fresh.filter(function (x) { return x !== "resync"; }).length;
    announce(n === 1 ? "1 new post. Press the new posts button to show it." : n + " new posts.");
  }

  // A post moved out of the community whose feed this is. The stream of a community
  // feed holds that one community's channel, the only place post.removed is sent, so
  // the event is about this feed; other feeds (home holds many communities) keep cards.
  function onRemoved(event) {
    remember(event);
    var data = JSON.parse(event.data);
    var id = idOf(data.post_id);
    if (!id || !/^community:\d{1,18}$/.test(feedName())) return;
    var waiting = fresh.indexOf(id);
    if (waiting >= 0) {
      fresh.splice(waiting, 1);
      updateBar();
    }
    var card = document.getElementById("post-" + id);
    if (!card || !card.matches("article.post")) return;
    var hadFocus = card.contains(document.activeElement);
    var next = card.nextElementSibling || card.previousElementSibling;
    card.remove();
    if (hadFocus) {
      // Focus must not fall to the page's start: the neighbouring card, else the list.
      var target = next && next.matches("article.post") ? next : document.getElementById("feed-list");
      if (target) {
        target.setAttribute("tabindex", "-1");
        target.focus();
      }
    }
    announce("A post was moved out of this community.");
    reconnectSoon();  // the stream stops listening to the card that is gone
  }

  function setCount(button, count) {
    var span = button.querySelector(".reaction-count");
    if (count > 0) {
      if (!span) {
        span = document.createElement("span");
        span.className = "reaction-count";
        button.appendChild(span);
      }
      span.textContent = String(count);
      button.classList.remove("is-empty");
    } else {
      if (span) span.remove();
      if (!button.classList.contains("is-mine")) button.classList.add("is-empty");
    }
  }

  function onCounts(event) {
    remember(event);
    var data = JSON.parse(event.data);
    var id = idOf(data.post_id);
    var card = id && document.getElementById("post-" + id);
    if (!card) return;
    var reactions = data.reactions || {};
    card.querySelectorAll(".reaction-picker button[name='kind']").forEach(function (button) {
      setCount(button, Object.prototype.hasOwnProperty.call(reactions, button.value) ? countOf(reactions[button.value]) : 0);
    });
    card.querySelectorAll(".reaction-static .reaction").forEach(function (item) {
      var label = item.querySelector(".visually-hidden");
      var span = item.querySelector(".reaction-count");
      if (label && span) {
        var kind = label.textContent.trim().toLowerCase();
        if (Object.prototype.hasOwnProperty.call(reactions, kind)) span.textContent = String(countOf(reactions[kind]));
      }
    });
    var n = countOf(data.comments);
    var text = n + (n === 1 ? " comment" : " comments");
    card.querySelectorAll(".post-stats a[href='#comments'], [data-live-comments]").forEach(function (el) {
      el.textContent = text;
    });
    card.querySelectorAll(".more-comments a").forEach(function (el) {
      el.textContent = "View all " + text;
    });
  }

  function badgeElement() {
    return document.getElementById("notification-badge") || document.getElementById("notif-bell");
  }

  function unreadOf(el) {
    if (!el) return 0;
    var counted = el.matches("[data-count]") ? el : el.querySelector("[data-count], [data-unread]");
    if (!counted) return 0;
    return Number(counted.getAttribute("data-count") || counted.getAttribute("data-unread")) || 0;
  }

  function announceBadge(before, after) {
    if (after > before) announce(after === 1 ? "1 unread notification." : after + " unread notifications.");
  }

  function onNotifications(event) {
    remember(event);
    var data = JSON.parse(event.data || "{}");
    var badge = badgeElement();
    var before = unreadOf(badge);
    if (typeof data.unread === "number" && badge) {
      var unread = countOf(data.unread);
      badge.setAttribute("data-count", String(unread));
      var text = badge.querySelector("[data-count-text]") || badge;
      text.textContent = unread > 0 ? String(unread) : "";
      announceBadge(before, unread);
      document.dispatchEvent(new CustomEvent("townhall:notifications", { detail: { unread: unread } }));
    } else if (badgeUrl && badge) {
      // The badge is the notifications app's partial: fetch it as the person sees it.
      fetch(badgeUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (answer) { if (!sameOrigin(answer)) throw new Error(answer.status); return answer.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").body.firstElementChild;
          var current = badgeElement();
          if (!fresh || !current) return;
          current.replaceWith(fresh);
          if (window.htmx) window.htmx.process(fresh);
          var after = unreadOf(fresh);
          announceBadge(before, after);
          document.dispatchEvent(new CustomEvent("townhall:notifications", { detail: { unread: after } }));
        })
        .catch(function () { /* the next page load shows the count */ });
    }
  }

  function onResync() {
    // The server's log no longer reaches back to our last event: offer a refresh.
    if (bar() && fresh.indexOf("resync") < 0) {
      fresh.push("resync");
      updateBar();
    }
  }

  var listening = null;

  function connect() {
    if (source) source.close();
    listening = postIds().join(",");
    source = new EventSource(streamUrl());
    source.addEventListener("post.created", onPost);
    source.addEventListener("post.counts", onCounts);
    source.addEventListener("post.removed", onRemoved);
    source.addEventListener("notifications", onNotifications);
    source.addEventListener("resync", onResync);
  }

  function reconnectSoon() {
    // New posts came on screen (load more, show new posts): listen to them too.
    window.clearTimeout(reconnectTimer);
    reconnectTimer = window.setTimeout(function () {
      if (postIds().join(",") !== listening) connect();
    }, 300);
  }

  function showNew(el) {
    el.disabled = true;
    fetch(window.location.href.split("#")[0], { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) { if (!sameOrigin(answer)) throw new Error(answer.status); return answer.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        ["feed-list", "feed-more"].forEach(function (id) {
          var fresher = page.getElementById(id);
          var current = document.getElementById(id);
          if (fresher && current) {
            current.replaceWith(fresher);
            if (window.htmx) window.htmx.process(fresher);
          }
        });
        var empty = document.getElementById("feed-empty");
        if (empty && !page.getElementById("feed-empty")) empty.remove();
        var n = fresh.filter(function (id) { return id !== "resync"; }).length;
        fresh = [];
        updateBar();
        var first = document.querySelector("#feed-list article.post");
        if (first) {
          first.setAttribute("tabindex", "-1");
          first.focus();
        }
        announce(n === 1 ? "1 new post shown." : n ? n + " new posts shown." : "Feed updated.");
        reconnectSoon();
      })
      .catch(function () { window.location.reload(); })
      .finally(function () { el.disabled = false; });
  }

  document.addEventListener("click", function (event) {
    var el = event.target.closest && event.target.closest("#live-new-posts");
    if (el) showNew(el);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id !== "live-status") reconnectSoon();
  });
  document.addEventListener("DOMContentLoaded", function () {
    region = document.createElement("div");
    region.id = "live-updates";
    region.className = "visually-hidden";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    document.body.appendChild(region);
    connect();
  });
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();

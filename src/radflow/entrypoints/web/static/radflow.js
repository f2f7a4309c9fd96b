// A live board that refreshes itself must not keep an unattended session alive: requests that htmx
// makes on a timer ("every N s") are marked, and the server does not count them as activity.
document.addEventListener("htmx:configRequest", function (event) {
  var trigger = event.detail.elt.getAttribute("hx-trigger") || "";
  if (trigger.indexOf("every") !== -1) {
    event.detail.headers["X-Background-Refresh"] = "1";
  }
});

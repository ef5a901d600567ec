// The admin's account form (issue 13): show the scope fields of the chosen role at once. Without this
// script the "Show the fields for this role" button does the same through the server.
(function () {
  "use strict";
  var form = document.getElementById("user-form");
  if (!form) { return; }
  var role = form.querySelector("#role");
  var kinds = JSON.parse(form.getAttribute("data-kinds") || "{}");
  function show() {
    var kind = kinds[role.value] || "";
    form.querySelectorAll("fieldset.role-fields").forEach(function (set) {
      set.hidden = set.getAttribute("data-kind") !== kind;
    });
    var search = form.querySelector("[data-kind=search]");
    if (search) { search.hidden = !kind; }
  }
  if (role) { role.addEventListener("change", show); }
}());

// Progressive enhancement only: every page works without this file.
// Filter selects submit their form as soon as they change.
"use strict";
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.form && target.form.hasAttribute("data-autosubmit")) {
    target.form.submit();
  }
});

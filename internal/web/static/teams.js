// The invite form's Secondary Teams leave out the team chosen as Primary
// Team: a team is never both for one user. Without this script every team
// is offered, and the service ignores a secondary team that is the primary.
(function () {
  "use strict";
  var primary = document.getElementById("primary_team");
  var boxes = document.querySelectorAll("input[type=checkbox][name=secondary_teams]");
  if (!primary || !boxes.length) {
    return;
  }
  function leaveOutPrimary() {
    boxes.forEach(function (box) {
      var isPrimary = box.value === primary.value;
      if (isPrimary) {
        box.checked = false;
      }
      box.disabled = isPrimary;
      box.closest("label").hidden = isPrimary;
    });
  }
  primary.addEventListener("change", leaveOutPrimary);
  leaveOutPrimary();
})();

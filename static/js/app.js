// iamreview: behaviour without inline scripts (the CSP forbids them).
document.addEventListener("htmx:responseError", function (event) {
  const status = event.detail.xhr.status;
  const box = document.getElementById("messages") || document.querySelector("main");
  const p = document.createElement("p");
  p.className = "message message-error";
  p.setAttribute("role", "alert");
  p.textContent = status === 403 ? "Your role does not allow this action."
    : "The server could not complete this request (" + status + "). Reload the page and try again.";
  box.prepend(p);
});
// "Select all" checkboxes in bulk tables.
document.addEventListener("change", function (event) {
  if (!event.target.classList.contains("select-all")) { return; }
  const table = event.target.closest("table");
  table.querySelectorAll('input[type="checkbox"][name="finding"]').forEach(function (box) { box.checked = event.target.checked; });
});

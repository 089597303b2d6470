// Keyboard shortcuts for the weekly review: a acknowledge, s suppress, n next, o open the principal.
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey) { return; }
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (typing && event.key !== "Escape") { return; }
  const click = function (id) { const el = document.getElementById(id); if (el) { el.click(); } };
  if (event.key === "a") { click("review-ack"); }
  else if (event.key === "n") { click("review-next"); }
  else if (event.key === "o") { click("review-open"); }
  else if (event.key === "s") {
    const reason = document.getElementById("review-reason");
    if (reason && reason.value.trim()) { click("review-suppress"); } else if (reason) { event.preventDefault(); reason.focus(); }
  } else if (event.key === "Escape") { document.activeElement.blur(); }
});

// Draws every <canvas class="chart"> from the JSON block its data-source names ({labels, scores|datasets}).
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas.chart").forEach(function (canvas) {
    const source = document.getElementById(canvas.dataset.source);
    if (!source) { return; }
    const data = JSON.parse(source.textContent);
    const datasets = data.datasets || [{ label: canvas.dataset.label || "", data: data.scores, tension: 0.2 }];
    if (!data.labels || data.labels.length === 0) {
      canvas.replaceWith(Object.assign(document.createElement("p"), { className: "empty-state", textContent: "No history yet." }));
      return;
    }
    new Chart(canvas, {
      type: canvas.dataset.chart || "line",
      data: { labels: data.labels, datasets: datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 scales: { y: { beginAtZero: true } }, plugins: { legend: { display: datasets.length > 1 } } },
    });
  });
});

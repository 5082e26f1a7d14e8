// The stock dashboard page: upload a report, show the low-stock items of the newest report, refresh when a
// report's job succeeds (server-sent events on /api/v1/events). The data logic is in lowstock.js.
import { PIPELINE, latestJob, loadLowStock } from './lowstock.js';

const status = document.getElementById('status');
const table = document.getElementById('lowstock');
let shownJob = null;

function say(text, error = false) {
  status.textContent = text;
  status.classList.toggle('error', error);
}

function cell(tr, value, numeric = false) {
  const td = tr.insertCell();
  td.textContent = value === null || value === undefined ? '' : String(value);
  if (numeric) td.className = 'num';
}

async function show(job) {
  const { items, rows } = await loadLowStock('', job.id);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const it of items) {
    const tr = body.insertRow();
    tr.dataset.sku = it.sku;
    if (it.stock === 0) tr.className = 'critical';
    cell(tr, it.sku); cell(tr, it.name); cell(tr, it.category);
    cell(tr, it.stock, true); cell(tr, it.reorderLevel, true); cell(tr, it.shortfall, true);
    cell(tr, it.supplier); cell(tr, it.location);
  }
  document.getElementById('count').textContent = items.length;
  document.getElementById('rows').textContent = rows;
  table.hidden = false;
  shownJob = job.id;
  document.body.dataset.job = job.id; // for the example's browser test
  say(`Report of ${job.finishedAt || 'now'}: ${items.length} items to reorder.`);
}

document.getElementById('upload').addEventListener('submit', async (e) => {
  e.preventDefault();
  const file = document.getElementById('file').files[0];
  if (!file) return;
  const form = new FormData();
  form.append('pipeline', PIPELINE);
  form.append('file', file);
  say(`Uploading ${file.name}…`);
  const res = await fetch('/api/v1/uploads', { method: 'POST', body: form });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = body.error || {};
    const missing = err.missing ? ` Missing columns: ${err.missing.join(', ')}.` : '';
    say(`Refused (${res.status} ${err.code || ''}): ${err.message || ''}${missing}`, true);
    return;
  }
  const job = body.uploads[0].job;
  say(`Stored ${file.name}; reading its rows in the background (job ${job.id})…`);
});

// Every job of the pipeline that succeeds refreshes the list, whoever uploaded the report.
const events = new EventSource('/api/v1/events');
events.addEventListener('job.succeeded', (e) => {
  const job = JSON.parse(e.data).data.job;
  if (job.pipeline === PIPELINE && job.id !== shownJob) show(job).catch((err) => say(String(err), true));
});
events.addEventListener('job.failed', (e) => {
  const job = JSON.parse(e.data).data.job;
  if (job.pipeline === PIPELINE) say(`The report could not be read: ${job.error ? job.error.message : 'failed'}`, true);
});

latestJob('').then((job) => (job ? show(job) : say('No report yet: upload one.')))
  .catch((err) => say(String(err), true));

// The dashboard's data logic, free of the DOM so that the example's test runs this very file under Node.
//
// A job of the `inventory` pipeline has one NDJSON line per spreadsheet row, keyed by the header
// (sku, name, category, stock, reorder_level, unit_cost, supplier, location). An item is low on stock when its
// stock is strictly below its reorder level.

/** The `inventory` pipeline's name, as in sluice.yaml. */
export const PIPELINE = 'inventory';

function num(v) {
  if (v === null || v === undefined || v === '') return NaN;
  return typeof v === 'number' ? v : Number(String(v).trim());
}

/**
 * Items whose stock is below their reorder level, largest shortfall first (then by sku).
 * Rows without a numeric stock or reorder level are left out (they are counted in `skipped`).
 * @param {string} ndjson the job output, one JSON object per line
 * @returns {{items: Array<object>, rows: number, skipped: number}}
 */
export function lowStock(ndjson) {
  const items = [];
  let rows = 0;
  let skipped = 0;
  for (const line of ndjson.split('\n')) {
    if (!line.trim()) continue;
    rows++;
    const r = JSON.parse(line);
    const stock = num(r.stock);
    const reorder = num(r.reorder_level);
    if (Number.isNaN(stock) || Number.isNaN(reorder)) {
      skipped++;
      continue;
    }
    if (stock < reorder) {
      items.push({
        sku: String(r.sku), name: r.name, category: r.category, stock, reorderLevel: reorder,
        shortfall: reorder - stock, supplier: r.supplier, location: r.location,
      });
    }
  }
  items.sort((a, b) => b.shortfall - a.shortfall || (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  return { items, rows, skipped };
}

/**
 * Fetches a succeeded job's output (GET /api/v1/jobs/{id}/output) and returns its low-stock items.
 * @param {string} base the server's origin, '' in the page
 * @param {string} jobId
 */
export async function loadLowStock(base, jobId, fetchFn = fetch) {
  const res = await fetchFn(`${base}/api/v1/jobs/${encodeURIComponent(jobId)}/output`);
  if (!res.ok) throw new Error(`output of job ${jobId}: HTTP ${res.status}`);
  return lowStock(await res.text());
}

/** The newest succeeded job of the pipeline (GET /api/v1/jobs), or null when there is none yet. */
export async function latestJob(base, fetchFn = fetch) {
  const res = await fetchFn(`${base}/api/v1/jobs?pipeline=${PIPELINE}&state=succeeded&limit=1`);
  if (!res.ok) throw new Error(`jobs: HTTP ${res.status}`);
  const body = await res.json();
  return body.jobs && body.jobs.length ? body.jobs[0] : null;
}

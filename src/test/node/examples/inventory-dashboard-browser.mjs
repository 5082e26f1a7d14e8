// The inventory dashboard in Chromium (playwright-core, /usr/bin/chromium): open the page, upload a report through
// its form, wait until the low-stock table is filled by the job's SSE event, read the SKUs it shows; then upload a
// report with a missing column and read the error the page shows. Driven by InventoryDashboardExampleTest:
//
//   node examples/inventory-dashboard-browser.mjs http://127.0.0.1:8080 report.xlsx broken.xlsx
//
// Prints JSON lines: {"event":"table",job,skus,count,rows,status}, {"event":"refused",status},
// {"event":"done",problems}; {"event":"error",message} and exit 1 on failure.

import { chromium } from 'playwright-core'

function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

const [base, report, broken] = process.argv.slice(2)
const problems = []
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
})
try {
  const page = await browser.newPage()
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    const url = m.location().url ?? ''
    // The refusal of the broken report is expected; Chromium logs every 4xx of a fetch as an error.
    if (m.text().includes('status of 422') && url.endsWith('/api/v1/uploads')) return
    problems.push(`console: ${m.text()} @ ${url}`)
  })
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  await page.goto(base + '/')
  // On load the page shows the newest report already read (or says there is none).
  await page.waitForFunction(() => document.body.dataset.job
    || document.getElementById('status').textContent.includes('No report yet'))
  const before = await page.evaluate(() => document.body.dataset.job ?? null)

  await page.setInputFiles('#file', report)
  const uploaded = page.waitForResponse((r) => r.url().endsWith('/api/v1/uploads') && r.request().method() === 'POST')
  await page.click('button[type=submit]')
  const created = await (await uploaded).json()
  const jobId = created.uploads[0].job.id
  emit('uploaded', { job: jobId, before })
  // The table switches to this report only when its job.succeeded event arrived and its output was read.
  await page.waitForFunction((id) => document.body.dataset.job === id, jobId, { timeout: 60_000 })
  const table = await page.evaluate(() => ({
    job: document.body.dataset.job,
    skus: [...document.querySelectorAll('#lowstock tbody tr')].map((tr) => tr.dataset.sku),
    count: document.getElementById('count').textContent,
    rows: document.getElementById('rows').textContent,
    status: document.getElementById('status').textContent,
  }))
  emit('table', table)

  await page.setInputFiles('#file', broken)
  await page.click('button[type=submit]')
  await page.waitForSelector('#status.error', { timeout: 30_000 })
  emit('refused', { status: await page.textContent('#status') })
  emit('done', { problems })
  await browser.close()
  process.exit(0)
} catch (e) {
  emit('error', { message: String(e && e.stack || e), problems })
  await browser.close()
  process.exit(1)
}

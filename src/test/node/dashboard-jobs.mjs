// Drives the dashboard's jobs view (jobs.js) in Debian's Chromium through playwright-core; one JSON line per step.
// Driven by src/test/java/io/sluice/site/DashboardJobsBrowserTest.java, which prepares the jobs and checks what the
// page reported against the API.
//
// Options (one JSON object): url (required); screenshot (a PNG of the jobs panel, then stop: the 10,000-job view);
// otherwise failedId, failedName (a job failed mid-stage), okId, okName (succeeded with output lines), slowId (a
// long running job, cancelled here), flakyPipeline (its jobs failed once and succeed when retried), chromium,
// timeoutMs.
//
// Events: counts, state, pipeline, search, pages, bulk, stage, attempt, download, cancelling, cancelled, screenshot,
// done; error (message) on failure. Exit status: 0 done, 1 a step failed, 2 bad options.

import { readFile } from 'node:fs/promises'
import { chromium } from 'playwright-core'

function emit (event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

let options
try {
  if (process.argv.length !== 3) throw new Error('expected exactly one argument: a JSON object of options')
  options = JSON.parse(process.argv[2])
  if (!options.url) throw new Error('"url" is required')
} catch (e) {
  emit('error', { message: e.message })
  process.exit(2)
}

const timeout = options.timeoutMs ?? 30000
const base = options.url.replace(/\/$/, '')
const problems = []

const browser = await chromium.launch({
  executablePath: options.chromium ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
  timeout
})

/** Ids of the rows shown, in order. */
const rowIds = (page) => page.$$eval('#jobs tbody tr', (trs) => trs.map((tr) => tr.dataset.jobId))
const rowAttr = (page, attr) => page.$$eval('#jobs tbody tr', (trs, a) => trs.map((tr) => tr.dataset[a]), attr)

/**
 * Waits until the rows shown satisfy `test`: a named check run in the page (the page's CSP forbids eval, so no
 * function text is shipped in).
 */
async function rowsWhere (page, test, arg) {
  await page.waitForFunction(([t, a]) => {
    const rows = [...document.querySelectorAll('#jobs tbody tr')].map((tr) => ({
      id: tr.dataset.jobId, state: tr.dataset.state, pipeline: tr.querySelector('.pipeline').textContent
    }))
    switch (t) {
      case 'allFailed': return rows.length > 0 && rows.every((r) => r.state === 'failed')
      case 'allPipeline': return rows.length > 0 && rows.every((r) => r.pipeline === a)
      case 'allFailedPipeline': return rows.length > 0 && rows.every((r) => r.state === 'failed' && r.pipeline === a)
      case 'succeeded': return a.every((id) => rows.some((r) => r.id === id && r.state === 'succeeded'))
      default: throw new Error('unknown check ' + t)
    }
  }, [test, arg])
}

/** Waits until the rows shown are the answer to this list query (jobs.js records it on the table). */
async function loaded (page, params) {
  const expected = new URLSearchParams({ ...params, limit: '50' }).toString()
  await page.waitForFunction((e) => document.getElementById('jobs').dataset.loaded === e, expected)
}

async function search (page, text) {
  await page.fill('#jobs-search', text)
  await loaded(page, text ? { q: text } : {})
  await page.waitForFunction((t) => {
    const rows = [...document.querySelectorAll('#jobs tbody tr')]
    return rows.length > 0 && rows.every((tr) => tr.dataset.jobId === t ||
      tr.querySelector('.file').textContent.toLowerCase().includes(t.toLowerCase()))
  }, text)
}

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
  const page = await context.newPage()
  page.setDefaultTimeout(timeout)
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()) })
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message))
  await page.goto(base + '/dashboard/')
  await page.waitForSelector('#jobs tbody tr')
  await page.waitForSelector('#jobs-counts button[data-state="failed"]')

  if (options.screenshot) {
    await page.waitForFunction(() => !/^[0-9A-Z]{26}$/.test(document.querySelector('#jobs tbody tr .file')
      .textContent)) // file names looked up
    // The top of the panel (filters, counts, the newest rows): enough to show it, small enough for docs/.
    const box = await page.locator('#jobs-panel').boundingBox()
    await page.screenshot({ path: options.screenshot, fullPage: true, clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, 760) } })
    emit('screenshot', {
      path: options.screenshot,
      rows: (await rowIds(page)).length,
      all: await page.textContent('#jobs-counts button[data-state=""] .n')
    })
    emit('done', { problems })
    process.exit(0)
  }

  // 1. Counts per state, as the server counts them.
  const counts = {}
  for (const s of ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled']) {
    counts[s || 'all'] = Number(await page.textContent(`#jobs-counts button[data-state="${s}"] .n`))
  }
  emit('counts', counts)

  // 2. Filter by state: every row failed.
  await page.selectOption('#jobs-filter-state', 'failed')
  await loaded(page, { state: 'failed' })
  await rowsWhere(page, 'allFailed')
  emit('state', { states: [...new Set(await rowAttr(page, 'state'))], rows: (await rowIds(page)).length })

  // 3. Filter by pipeline (any state): every row of that pipeline.
  await page.selectOption('#jobs-filter-state', '')
  await page.selectOption('#jobs-filter-pipeline', options.flakyPipeline)
  await loaded(page, { pipeline: options.flakyPipeline })
  await rowsWhere(page, 'allPipeline', options.flakyPipeline)
  emit('pipeline', { ids: await rowIds(page) })

  // 4. Bulk retry of the failed ones: select all on the page, Retry selected; they run again and succeed, live.
  await page.selectOption('#jobs-filter-state', 'failed')
  await loaded(page, { state: 'failed', pipeline: options.flakyPipeline })
  await rowsWhere(page, 'allFailedPipeline', options.flakyPipeline)
  const retried = await rowIds(page)
  await page.check('#jobs-select-all')
  await page.click('#jobs-bulk-retry')
  await page.waitForFunction(() => /retried/.test(document.getElementById('jobs-bulk-status').textContent))
  const bulkStatus = await page.textContent('#jobs-bulk-status')
  // They run again and succeed: the server's word first, then the flaky pipeline's list shows it.
  await page.waitForFunction(async (ids) => {
    const states = await Promise.all(ids.map((id) => fetch('/api/v1/jobs/' + id).then((r) => r.json())))
    return states.every((j) => j.state === 'succeeded')
  }, retried, { polling: 500 })
  await page.selectOption('#jobs-filter-state', '')
  await loaded(page, { pipeline: options.flakyPipeline })
  await rowsWhere(page, 'succeeded', retried)
  emit('bulk', { ids: retried, status: bulkStatus })
  await page.selectOption('#jobs-filter-state', '')
  await page.selectOption('#jobs-filter-pipeline', '')
  await loaded(page, {})

  // 5. Search by upload name; the failed job shows the stage it failed in, in the row and in the detail.
  await search(page, options.failedName)
  const failedRow = page.locator(`#jobs tr[data-job-id="${options.failedId}"]`)
  const rowStage = await failedRow.locator('.stage').textContent()
  await failedRow.click()
  await page.waitForFunction((id) => document.getElementById('detail-id').textContent === id, options.failedId)
  emit('search', { ids: await rowIds(page) })
  emit('stage', {
    row: rowStage,
    detail: await page.textContent('#detail-stage'),
    error: await page.textContent('#detail-error'),
    attempt: await page.textContent('#detail-attempt')
  })

  // 6. Attempt wording of a job that succeeded at once, and its whole output as a download.
  await search(page, options.okName)
  await page.locator(`#jobs tr[data-job-id="${options.okId}"]`).click()
  await page.waitForFunction(() => /line/.test(document.getElementById('detail-output').textContent))
  const link = page.locator('#detail-download')
  await link.waitFor()
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
  const saved = await download.path()
  const text = await readFile(saved, 'utf8')
  emit('attempt', { text: await page.textContent('#detail-attempt') })
  emit('download', {
    href: await link.getAttribute('href'),
    name: download.suggestedFilename(),
    lines: text.split('\n').filter(Boolean).length,
    preview: (await page.textContent('#detail-output')).split('\n').filter(Boolean).length
  })

  // 7. Cancel of a running job: "cancelling" until its worker stops, then "cancelled".
  await search(page, options.slowId)
  const slowRow = page.locator(`#jobs tr[data-job-id="${options.slowId}"]`)
  await slowRow.click()
  await page.waitForFunction(() => document.getElementById('detail-state').textContent === 'running')
  await page.click('#detail-cancel')
  // Both read in one go: the worker stops within about a second, so two separate reads could straddle the end.
  const cancelling = await page.waitForFunction((id) => {
    const detail = document.getElementById('detail-state').textContent
    const row = document.querySelector(`#jobs tr[data-job-id="${id}"]`)
    return detail === 'cancelling' && row && row.dataset.shown === 'cancelling' ? { detail, row: row.dataset.shown }
      : (detail === 'cancelled' ? { detail, row: row && row.dataset.shown, missed: true } : null)
  }, options.slowId)
  emit('cancelling', await cancelling.jsonValue())
  await page.waitForFunction(() => document.getElementById('detail-state').textContent === 'cancelled')
  emit('cancelled', { detail: await page.textContent('#detail-state'), row: await slowRow.getAttribute('data-shown') })

  // 8. Keyset pages: Older / Newer through every job, none twice.
  await page.fill('#jobs-search', '')
  await loaded(page, {})
  await page.waitForFunction(() => document.querySelectorAll('#jobs tbody tr').length === 50)
  const pages = []
  for (let i = 0; i < 20; i++) {
    pages.push(await rowIds(page))
    if (await page.isDisabled('#jobs-next')) break
    const first = pages[pages.length - 1][0]
    await page.click('#jobs-next')
    await page.waitForFunction((f) => {
      const tr = document.querySelector('#jobs tbody tr')
      return tr && tr.dataset.jobId !== f
    }, first)
  }
  const last = pages[pages.length - 1][0]
  await page.click('#jobs-prev')
  await page.waitForFunction((f) => document.querySelector('#jobs tbody tr').dataset.jobId !== f, last)
  emit('pages', {
    sizes: pages.map((p) => p.length),
    ids: pages.flat(),
    backTo: (await rowIds(page))[0],
    expectedBack: pages.length > 1 ? pages[pages.length - 2][0] : null,
    label: await page.textContent('#jobs-page')
  })

  emit('done', { problems })
} catch (e) {
  emit('error', { message: e.message, problems })
  process.exitCode = 1
} finally {
  await browser.close()
}

// Drives the dashboard in Debian's Chromium through playwright-core and prints one JSON line per step on stdout.
// Driven by src/test/java/io/sluice/site/DashboardBrowserTest.java; usable by hand against a running server:
//
//   node dashboard-browser.mjs '{"url":"http://127.0.0.1:8080","file":"a.bin","pauseFile":"b.bin",
//                               "pipeline":"noop","screenshot":"../../../target/dashboard.png"}'
//
// Options (one JSON object as the only argument):
//   url          the server's base URL (required)
//   file         dropped on the drop zone: a real drop event whose DataTransfer holds the file (required)
//   pauseFile    chosen through the drop zone's file input, paused after its first chunk, resumed (required)
//   pipeline     picked in the pipeline select before uploading (optional)
//   parallelFiles  files dropped together at the end, the first of them twice (optional)
//   slowPipeline   picked for parallelFiles: a pipeline whose jobs run long enough to be seen running, and write
//                  output lines (optional)
//   screenshot   where to save a full-page PNG at the end (required)
//   chromium     the browser (default /usr/bin/chromium); playwright never downloads one here
//   timeoutMs    per step (default 30000)
//
// Events: opened, retrying (the synthetic 503 was honoured), uploaded, job, detail, system, paused, resumed,
// parallel, running, output, screenshot, done; error (message) on failure. Exit status: 0 done, 1 a step failed, 2 bad options.

import { basename } from 'node:path'
import { chromium } from 'playwright-core'

function emit (event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

let options
try {
  if (process.argv.length !== 3) throw new Error('expected exactly one argument: a JSON object of options')
  options = JSON.parse(process.argv[2])
  for (const k of ['url', 'file', 'pauseFile', 'screenshot']) {
    if (!options[k]) throw new Error(`"${k}" is required`)
  }
} catch (e) {
  emit('error', { message: e.message })
  process.exit(2)
}

const timeout = options.timeoutMs ?? 30000
const base = options.url.replace(/\/$/, '')
const problems = [] // console errors, CSP violations, uncaught exceptions in the page

const browser = await chromium.launch({
  executablePath: options.chromium ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
  timeout
})
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  page.setDefaultTimeout(timeout)
  page.on('console', (m) => {
    // Chromium logs every non-2xx resource; the synthetic 503 below is expected, anything else is a problem.
    if (m.type() === 'error' && !/status of 503/.test(m.text())) problems.push('console: ' + m.text())
  })
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message))

  // The first tus creation is answered 503 with Retry-After: 1, as an overloaded Sluice would: the page must wait
  // and try again by itself. Only that one request is intercepted.
  let refused = 0
  await page.route((url) => url.href === base + '/files/', async (route) => {
    if (route.request().method() === 'POST' && refused === 0) {
      refused++
      await route.fulfill({
        status: 503,
        headers: { 'Retry-After': '1', 'Content-Type': 'application/json' },
        body: JSON.stringify({ error: { code: 'overloaded', message: 'synthetic 503 from the test' } })
      })
    } else {
      await route.fallback()
    }
  }, { times: 1 })

  await page.goto(base + '/')
  await page.waitForFunction(() => /\d/.test(document.getElementById('sys-heap').textContent))
  await page.waitForSelector('#live.live')
  emit('opened', { title: await page.title(), askedForKey: await page.locator('#key-dialog').evaluate((d) => d.open) })

  if (options.pipeline) {
    await page.waitForSelector(`#pipeline option[value="${options.pipeline}"]`, { state: 'attached' })
    await page.selectOption('#pipeline', options.pipeline)
  }

  // 1. A real drop: the file goes into a scratch input (the only way to get a disk file into the page), then into a
  //    DataTransfer carried by dragenter/dragover/drop events dispatched on the drop zone.
  const name = basename(options.file)
  await page.evaluate(() => {
    const scratch = document.createElement('input')
    scratch.type = 'file'
    scratch.id = 'test-scratch'
    scratch.hidden = true
    document.body.append(scratch)
  })
  await page.setInputFiles('#test-scratch', options.file)
  await page.evaluate(() => {
    const dt = new DataTransfer()
    for (const f of document.getElementById('test-scratch').files) dt.items.add(f)
    const zone = document.getElementById('dropzone')
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }))
    }
    document.getElementById('test-scratch').remove()
  })
  const row = page.locator('#uploads li', { has: page.locator('.name', { hasText: name }) })
  await row.and(page.locator('[data-state="retrying"]')).waitFor()
  emit('retrying', { status: await row.locator('.status').textContent() })
  await row.and(page.locator('[data-state="done"]')).waitFor()
  const uploaded = {
    name,
    bar: await row.locator('progress').evaluate((p) => p.value),
    percent: await row.locator('.pct').textContent(),
    uploadId: await row.getAttribute('data-upload-id'),
    jobId: await row.getAttribute('data-job-id')
  }
  emit('uploaded', uploaded)

  // 2. Its job in the jobs view, live: it must reach succeeded without a reload.
  const jobRow = page.locator(`#jobs tr[data-job-id="${uploaded.jobId}"]`)
  await jobRow.and(page.locator('[data-state="succeeded"]')).waitFor()
  emit('job', {
    id: uploaded.jobId,
    state: await jobRow.locator('.job-state').textContent(),
    file: await jobRow.locator('.file').textContent(),
    progress: await jobRow.locator('progress').evaluate((p) => p.value)
  })
  await jobRow.click()
  await page.locator('#job-detail').waitFor()
  await page.waitForFunction(() => !/loading/.test(document.getElementById('detail-output').textContent))
  emit('detail', {
    state: await page.locator('#detail-state').textContent(),
    result: await page.locator('#detail-result').textContent(),
    output: await page.locator('#detail-output').textContent()
  })

  // 3. The system panel: numbers, refreshed every 2 s.
  const before = await page.locator('#sys-updated').textContent()
  await page.waitForFunction((b) => document.getElementById('sys-updated').textContent !== b, before)
  const system = {}
  for (const id of ['sys-state', 'sys-shedding', 'sys-heap', 'sys-memory', 'sys-connections', 'sys-uploads',
    'sys-queue', 'sys-disk']) {
    system[id] = await page.locator('#' + id).textContent()
  }
  emit('system', system)

  // 4. Pause and resume: the upload is slowed (Chromium's own network throttling) so that the pause lands while a
  //    chunk is in flight; the resume must ask the server (HEAD) where it is and finish from there.
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024
  })
  const pauseName = basename(options.pauseFile)
  await page.setInputFiles('#file-input', options.pauseFile)
  const pauseRow = page.locator('#uploads li', { has: page.locator('.name', { hasText: pauseName }) })
  await page.waitForFunction((n) => [...document.querySelectorAll('#uploads li')]
    .some((li) => li.querySelector('.name').textContent === n && Number(li.dataset.offset) > 0), pauseName)
  await pauseRow.locator('button.pause').click()
  await pauseRow.and(page.locator('[data-state="paused"]')).waitFor()
  const pausedAt = Number(await pauseRow.getAttribute('data-offset'))
  emit('paused', { offset: pausedAt, status: await pauseRow.locator('.status').textContent() })
  await page.waitForTimeout(500) // nothing moves while paused
  const stillAt = Number(await pauseRow.getAttribute('data-offset'))

  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1
  })
  await pauseRow.locator('button.resume').click()
  await pauseRow.and(page.locator('[data-state="done"]')).waitFor()
  const resumed = {
    name: pauseName,
    pausedAt,
    stillAt,
    resumedAt: Number(await pauseRow.getAttribute('data-resumed-at')),
    percent: await pauseRow.locator('.pct').textContent(),
    uploadId: await pauseRow.getAttribute('data-upload-id'),
    jobId: await pauseRow.getAttribute('data-job-id')
  }
  emit('resumed', resumed)
  await page.locator(`#jobs tr[data-job-id="${resumed.jobId}"][data-state="succeeded"]`).waitFor()

  // 5. Several files in one drop, one of them twice: both upload side by side, the duplicate is refused in the page
  //    (it would share the first one's upload).
  if (options.parallelFiles) {
    if (options.slowPipeline) await page.selectOption('#pipeline', options.slowPipeline)
    await page.evaluate(() => {
      const scratch = document.createElement('input')
      scratch.type = 'file'
      scratch.multiple = true
      scratch.id = 'test-scratch'
      scratch.hidden = true
      document.body.append(scratch)
    })
    await page.setInputFiles('#test-scratch', options.parallelFiles)
    await page.evaluate(() => {
      const files = [...document.getElementById('test-scratch').files]
      const dt = new DataTransfer()
      for (const f of [...files, files[0]]) dt.items.add(f)
      document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true,
        cancelable: true }))
      document.getElementById('test-scratch').remove()
    })
    const parallel = []
    for (const file of options.parallelFiles) {
      const n = basename(file)
      const done = page.locator('#uploads li[data-state="done"]', { has: page.locator('.name', { hasText: n }) })
      await done.waitFor()
      parallel.push({ name: n, uploadId: await done.getAttribute('data-upload-id'),
        jobId: await done.getAttribute('data-job-id') })
    }
    const duplicate = page.locator('#uploads li[data-state="error"]',
      { has: page.locator('.name', { hasText: basename(options.parallelFiles[0]) }) })
    emit('parallel', { uploads: parallel, duplicate: await duplicate.locator('.status').textContent() })

    // 6. A job that takes a while: the jobs view shows it running, with stage, progress and ETA, as events arrive.
    const slow = parallel[0].jobId
    const running = await page.waitForFunction((id) => {
      const tr = document.querySelector(`#jobs tr[data-job-id="${id}"]`)
      if (!tr || tr.dataset.state !== 'running') return null
      const progress = tr.querySelector('progress').value
      const stage = tr.querySelector('.stage').textContent
      const eta = tr.querySelector('.eta').textContent
      return progress > 0 && progress < 100 && stage && eta ? { progress, stage, eta } : null
    }, slow)
    emit('running', { id: slow, ...(await running.jsonValue()) })
    const slowRow = page.locator(`#jobs tr[data-job-id="${slow}"]`)
    await slowRow.and(page.locator('[data-state="succeeded"]')).waitFor()
    await slowRow.click()
    await page.waitForFunction(() => /line/.test(document.getElementById('detail-output').textContent))
    emit('output', { text: await page.locator('#detail-output').textContent() })
  }

  await page.screenshot({ path: options.screenshot, fullPage: true })
  emit('screenshot', { path: options.screenshot })
  emit('done', { problems, refused })
} catch (e) {
  emit('error', { message: e.message, problems })
  process.exitCode = 1
} finally {
  await browser.close()
}

// Drives the dashboard's Files view, the upload list's refusals, the client-side limits and the alert list in
// Debian's Chromium through playwright-core; prints one JSON line per step on stdout.
// Driven by src/test/java/io/sluice/site/DashboardFilesBrowserTest.java.
//
// Options (one JSON object as the only argument):
//   url         the server's base URL (required)
//   mode        "files": list, page, search, filter, sort, copy, delete with confirmation, partial uploads, screenshot
//               "refusals": alert rules neutral, a too-large file refused in the page, a type refused by the server,
//               Remove and Clear finished, then the failure alert firing
//   search      (files) a name to search for; deleteName (files) the name of the upload to delete
//   partialName (files) the unfinished resumable upload to remove
//   bigFile, badTypeFile, okFile (refusals) files to choose
//   screenshot  (files) where to save the Files panel as PNG
//   chromium    the browser (default /usr/bin/chromium)
//
// Exit status: 0 done, 1 a step failed, 2 bad options.

import { basename } from 'node:path'
import { chromium } from 'playwright-core'

function emit (event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

let options
try {
  if (process.argv.length !== 3) throw new Error('expected exactly one argument: a JSON object of options')
  options = JSON.parse(process.argv[2])
  if (!options.url || !options.mode) throw new Error('"url" and "mode" are required')
} catch (e) {
  emit('error', { message: e.message })
  process.exit(2)
}

const timeout = options.timeoutMs ?? 20000
const base = options.url.replace(/\/$/, '')
const problems = []

const browser = await chromium.launch({
  executablePath: options.chromium ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
  timeout
})
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
  const page = await context.newPage()
  page.setDefaultTimeout(timeout)
  page.on('console', (m) => {
    // Chromium logs every non-2xx resource: the refusals below are expected answers, not page problems.
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push('console: ' + m.text())
  })
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message))
  const tusPosts = []
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url() === base + '/files/') tusPosts.push(r.headers()['upload-length'])
  })

  await page.goto(base + '/')
  const rows = page.locator('#files tbody tr')
  const ids = () => rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.uploadId))
  const names = () => page.locator('#files tbody td.name').allTextContents()

  if (options.mode === 'files') {
    // 1. The first page, then the next one (keyset cursor), then back.
    await page.waitForFunction(() => document.querySelectorAll('#files tbody tr').length === 50)
    const first = await ids()
    await page.click('#files-next')
    await page.waitForFunction((firstId) => {
      const tr = document.querySelector('#files tbody tr')
      return tr && tr.dataset.uploadId !== firstId
    }, first[0])
    const second = await ids()
    emit('pages', { first, second, label: await page.locator('#files-page').textContent() })
    await page.click('#files-prev')
    await page.waitForFunction((firstId) => document.querySelector('#files tbody tr').dataset.uploadId === firstId,
      first[0])

    // 2. Search by name (case-insensitive), filter by type, sort by name.
    await page.fill('#files-q', options.search.toUpperCase())
    await page.waitForFunction(() => document.querySelectorAll('#files tbody tr').length === 1)
    emit('search', { names: await names() })
    await page.fill('#files-q', '')
    await page.selectOption('#files-type', 'image/*')
    await page.waitForFunction(() => {
      const types = [...document.querySelectorAll('#files tbody td.type')].map((td) => td.textContent)
      return types.length > 0 && types.every((t) => t === 'image/png')
    })
    emit('filter', { types: await page.locator('#files tbody td.type').allTextContents() })
    await page.selectOption('#files-type', '')
    await page.selectOption('#files-sort', 'name')
    await page.waitForFunction(() => {
      const n = [...document.querySelectorAll('#files tbody td.name')].map((td) => td.textContent)
      return n.length === 50 && n.every((x, i) => i === 0 || n[i - 1] <= x) && n[0] !== n[49]
    })
    emit('sorted', { names: await names() })
    await page.selectOption('#files-sort', '-created')
    await page.waitForFunction((firstId) => document.querySelector('#files tbody tr').dataset.uploadId === firstId,
      first[0])

    // 3. Copy the id of the first row.
    await rows.first().locator('button.copy-id').click()
    await page.waitForFunction(() => document.getElementById('files-status').dataset.copied)
    emit('copied', { id: first[0], copied: await page.locator('#files-status').getAttribute('data-copied'),
      clipboard: await page.evaluate(() => navigator.clipboard.readText().catch(() => null)) })

    // Download the first row (a link: this server wants no key) and copy its download URL.
    const [download] = await Promise.all([page.waitForEvent('download'), rows.first().locator('button.download').click()])
    const downloaded = await download.path()
    const { readFileSync } = await import('node:fs')
    await rows.first().locator('button.copy-url').click()
    await page.waitForFunction(() => /\/content$/.test(document.getElementById('files-status').dataset.copied))
    emit('download', { name: download.suggestedFilename(), bytes: readFileSync(downloaded).length,
      url: await page.locator('#files-status').getAttribute('data-copied') })

    // 4. Delete, with a confirmation: "Keep" keeps it, "Delete" removes it.
    await page.fill('#files-q', options.deleteName)
    await page.waitForFunction(() => document.querySelectorAll('#files tbody tr').length === 1)
    const victim = (await ids())[0]
    await rows.first().locator('button.delete').click()
    await page.locator('#files-confirm[open]').waitFor()
    const question = await page.locator('#files-confirm-text').textContent()
    await page.click('#files-confirm-no')
    const keptRows = await rows.count()
    await rows.first().locator('button.delete').click()
    await page.click('#files-confirm-yes')
    await page.locator('#files-empty').waitFor({ state: 'visible' })
    emit('deleted', { id: victim, question, keptRows, status: await page.locator('#files-status').textContent() })
    await page.fill('#files-q', '')
    await page.waitForFunction(() => document.querySelectorAll('#files tbody tr').length === 50)

    // 5. The unfinished resumable upload, listed apart, removed with a confirmation.
    const partial = page.locator('#partials tbody tr', { has: page.locator('td.name', { hasText: options.partialName }) })
    await partial.waitFor()
    emit('partial', { id: await partial.getAttribute('data-upload-id'),
      offset: await partial.locator('td.offset').textContent(),
      expires: await partial.locator('td.expires').textContent() })

    // The screenshot: the Files panel as a user sees it, at 1,000 uploads.
    // The top of the panel (toolbar, the unfinished upload, the first rows): a docs image of a few hundred KiB.
    const box = await page.locator('#files-panel').evaluate((e) => {
      const r = e.getBoundingClientRect()
      return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height }
    })
    await page.screenshot({ path: options.screenshot, fullPage: true,
      clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, 720) } })
    emit('screenshot', { path: options.screenshot })

    await partial.locator('button.remove').click()
    await page.click('#files-confirm-yes')
    await page.locator('#partials-box').waitFor({ state: 'hidden' })
    emit('partialRemoved', {})
  } else if (options.mode === 'refusals') {
    // 1. Alert rules listed neutrally: present, none coloured.
    await page.waitForFunction(() => document.querySelectorAll('#sys-alerts li').length > 0)
    const neutral = await page.locator('#sys-alerts li').evaluateAll((lis) => lis.map((li) => ({
      rule: li.dataset.rule, state: li.dataset.state, firing: li.classList.contains('firing'), text: li.textContent,
      color: getComputedStyle(li).color, background: getComputedStyle(li).backgroundColor })))
    emit('neutral', { rules: neutral })

    // 2. A file over the limit: refused in the page, before any request, in the server's words.
    await page.waitForFunction(() => document.getElementById('limits').dataset.maxFileSize)
    await page.setInputFiles('#file-input', options.bigFile)
    const big = page.locator('#uploads li', { has: page.locator('.name', { hasText: basename(options.bigFile) }) })
    await big.and(page.locator('[data-state="refused"]')).waitFor()
    emit('tooLarge', { status: await big.locator('.status').textContent(), tusPosts: tusPosts.length,
      resumeVisible: await big.locator('button.resume').isVisible(),
      removeVisible: await big.locator('button.remove').isVisible(),
      limits: await page.locator('#limits').textContent() })

    // 3. A type the server refuses (the browser cannot guess it from the name): the reason, Remove, no Resume.
    await page.setInputFiles('#file-input', options.badTypeFile)
    const bad = page.locator('#uploads li', { has: page.locator('.name', { hasText: basename(options.badTypeFile) }) })
    await bad.and(page.locator('[data-state="refused"]')).waitFor()
    emit('typeRefused', { status: await bad.locator('.status').textContent(), tusPosts: tusPosts.length,
      resumeVisible: await bad.locator('button.resume').isVisible(),
      removeVisible: await bad.locator('button.remove').isVisible() })
    await bad.locator('button.remove').click()
    await bad.waitFor({ state: 'detached' })

    // 4. A file that is accepted, then Clear finished leaves no finished or refused row.
    await page.setInputFiles('#file-input', options.okFile)
    const ok = page.locator('#uploads li', { has: page.locator('.name', { hasText: basename(options.okFile) }) })
    await ok.and(page.locator('[data-state="done"]')).waitFor()
    await page.click('#clear-finished')
    emit('cleared', { rows: await page.locator('#uploads li').count() })

    // 5. Failing uploads (refused PUTs) make the failure-rate alert fire: now, and only it, is coloured.
    for (let i = 0; i < 3; i++) {
      await fetch(base + '/api/v1/uploads/over-' + i + '.txt', { method: 'PUT', body: 'x'.repeat(70000) })
    }
    const firing = page.locator('#sys-alerts li.firing')
    await firing.first().waitFor({ timeout: 15000 })
    emit('firing', { rules: await page.locator('#sys-alerts li').evaluateAll((lis) => lis.map((li) => ({
      rule: li.dataset.rule, state: li.dataset.state, firing: li.classList.contains('firing'), text: li.textContent,
      color: getComputedStyle(li).color, background: getComputedStyle(li).backgroundColor }))) })
  } else {
    throw new Error('unknown mode ' + options.mode)
  }
  emit('done', { problems })
} catch (e) {
  emit('error', { message: e.message, problems })
  process.exitCode = 1
} finally {
  await browser.close()
}

// The user-uploads example in Chromium (playwright-core, /usr/bin/chromium): the page of examples/user-uploads/app.mjs
// gets a token for a user, uploads each file with tus-js-client straight to Sluice, and shows what became of it.
// Driven by UserUploadsExampleTest:
//
//   node examples/user-uploads-browser.mjs http://127.0.0.1:3000 alice report.pdf notes.txt setup.exe
//
// Prints JSON lines: {"event":"token",status}, {"event":"file",name,state,text} for each file in order,
// {"event":"tokenless",status,code} (a tus POST from the page without the token), {"event":"done",problems};
// {"event":"error",message} and exit 1 on failure.

import { chromium } from 'playwright-core'
import path from 'node:path'

function emit (event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

const [app, user, ...files] = process.argv.slice(2)
const problems = []
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
})
try {
  const page = await browser.newPage()
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    // The refusals are expected; Chromium logs every 4xx of a request as an error.
    if (/status of (401|403)/.test(m.text())) return
    problems.push(`console: ${m.text()} @ ${m.location().url ?? ''}`)
  })
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  await page.goto(app + '/')
  await page.fill('#user', user)
  await page.click('#login button[type=submit]')
  await page.waitForFunction(() => document.getElementById('status').textContent !== '', null, { timeout: 15_000 })
  emit('token', { status: await page.textContent('#status') })

  for (const file of files) {
    const name = path.basename(file)
    await page.setInputFiles('#files', file)
    await page.waitForFunction((n) => [...document.querySelectorAll('#log li')]
      .some((li) => li.dataset.name === n && li.dataset.state), name, { timeout: 30_000 })
    emit('file', await page.evaluate((n) => {
      const li = [...document.querySelectorAll('#log li')].find((l) => l.dataset.name === n)
      return { name: n, state: li.dataset.state, text: li.textContent }
    }, name))
  }

  // What a page that skips the token gets from Sluice (the same origin, CORS and all).
  emit('tokenless', await page.evaluate(async () => {
    const { sluice } = await (await fetch('/token', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'x' }),
    })).json()
    const res = await fetch(`${sluice}/files/`, {
      method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '5' },
    })
    let code = null
    try { code = (await res.json()).error.code } catch (_) { /* not JSON */ }
    return { status: res.status, code }
  }))
  emit('done', { problems })
  await browser.close()
  process.exit(0)
} catch (e) {
  emit('error', { message: String((e && e.stack) || e), problems })
  await browser.close()
  process.exit(1)
}
